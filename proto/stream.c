/* stream.c - the live result stream's wire formats (stream.h). */
#include "proto/stream.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) do { r = vt_err_set(VT_EPARSE, errbuf, errlen, __VA_ARGS__); goto out; } while (0)

/* A positive id given as a JSON integer or a string of digits. */
static int id_of(json_t *v, long long max, long long *out)
{
	long long x;
	const char *s;
	char *end;

	if (json_is_integer(v)) {
		x = json_integer_value(v);
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		if (!*s || strlen(s) > 19 || strspn(s, "0123456789") != strlen(s))
			return -1;
		errno = 0;
		x = strtoll(s, &end, 10);
		if (errno || *end)
			return -1;
	} else {
		return -1;
	}
	if (x <= 0 || x > max)
		return -1;
	*out = x;
	return 0;
}

int vt_stream_msg_parse(const char *p, size_t len, struct vt_stream_msg *m,
			char *errbuf, size_t errlen)
{
	json_t *a = NULL, *o, *v, *st;
	json_error_t jerr;
	const char *type;
	long long x;
	int r = VT_OK;

	memset(m, 0, sizeof *m);
	if (!(a = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr)))
		FAIL("not JSON: %s", jerr.text);
	if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > 2 ||
	    !json_is_string(json_array_get(a, 0)))
		FAIL("a message is [\"type\", {parameters}]");
	type = json_string_value(json_array_get(a, 0));
	if (!strcmp(type, "atlas_subscribe"))
		m->type = VT_STREAM_SUBSCRIBE;
	else if (!strcmp(type, "atlas_unsubscribe"))
		m->type = VT_STREAM_UNSUBSCRIBE;
	else
		FAIL("unknown message type (atlas_subscribe, atlas_unsubscribe)");
	o = json_array_get(a, 1);
	if (!json_is_object(o))
		FAIL("%s needs an object of parameters", type);
	st = json_object_get(o, "stream_type");
	v = json_object_get(o, "streamType");
	if (st && v)
		FAIL("stream_type given twice");
	if (!st)
		st = v;
	if (!st)
		FAIL("stream_type is required (\"result\")");
	if (!json_is_string(st) || strcmp(json_string_value(st), "result"))
		FAIL("stream_type: only \"result\" is served");
	if (!(v = json_object_get(o, "msm")))
		FAIL("msm is required");
	if (id_of(v, 999999999999LL, &m->msm) < 0)
		FAIL("msm: a positive measurement id");
	if ((v = json_object_get(o, "prb")) && !json_is_null(v)) {
		if (id_of(v, 2147483647LL, &x) < 0)
			FAIL("prb: a positive probe id");
		m->prb = (long)x;
	}
	if ((v = json_object_get(o, "sendBacklog")) && !json_is_null(v)) {
		if (!json_is_boolean(v))
			FAIL("sendBacklog: true or false");
		m->backlog = json_is_true(v);
	}
out:
	json_decref(a);
	return r;
}

static int fmt_sub(struct vt_buf *out, const char *type, const struct vt_stream_msg *m)
{
	if (m->prb)
		return vt_buf_addf(out, "[\"%s\",{\"stream_type\":\"result\","
				   "\"msm\":%lld,\"prb\":%ld}]", type, m->msm, m->prb);
	return vt_buf_addf(out, "[\"%s\",{\"stream_type\":\"result\",\"msm\":%lld}]",
			   type, m->msm);
}

int vt_stream_fmt_subscribed(struct vt_buf *out, const struct vt_stream_msg *m)
{
	return fmt_sub(out, "atlas_subscribed", m);
}

int vt_stream_fmt_unsubscribed(struct vt_buf *out, const struct vt_stream_msg *m)
{
	return fmt_sub(out, "atlas_unsubscribed", m);
}

int vt_stream_fmt_error(struct vt_buf *out, const char *reason)
{
	json_t *s = json_string(reason);
	char *t = NULL;
	int r = VT_ENOMEM;

	if (!s)   /* not UTF-8 */
		s = json_string("bad request");
	if (s && (t = json_dumps(s, JSON_ENCODE_ANY)))
		r = vt_buf_addf(out, "[\"atlas_error\",%s]", t);
	free(t);
	json_decref(s);
	return r;
}

int vt_stream_fmt_result(struct vt_buf *out, const char *json, size_t len)
{
	int r;

	if ((r = vt_buf_adds(out, "[\"atlas_result\",")) < 0 ||
	    (r = vt_buf_add(out, json, len)) < 0)
		return r;
	return vt_buf_addc(out, ']');
}

int vt_stream_note_build(const struct vt_stream_row *rows, size_t n, size_t *at,
			 struct vt_buf *out)
{
	size_t i = *at;
	char item[64];
	int r;

	while (i < n) {
		size_t j = i;
		int len;

		while (j + 1 < n && rows[j + 1].msm == rows[i].msm &&
		       rows[j + 1].seq == rows[j].seq + 1)
			j++;
		if (i > *at && rows[i - 1].msm == rows[i].msm)
			len = snprintf(item, sizeof item, ",%lld-%lld",
				       rows[i].seq, rows[j].seq);
		else
			len = snprintf(item, sizeof item, "%s%lld:%lld-%lld",
				       out->len ? " " : "", rows[i].msm,
				       rows[i].seq, rows[j].seq);
		if (out->len && out->len + (size_t)len > VT_STREAM_NOTE_MAX)
			break;
		if ((r = vt_buf_add(out, item, (size_t)len)) < 0)
			return r;
		i = j + 1;
	}
	*at = i;
	return VT_OK;
}

static int num(const char **s, long long *v)
{
	long long x = 0;
	const char *p = *s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (x > (INT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (*p - '0');
	}
	*s = p;
	*v = x;
	return 0;
}

int vt_stream_note_parse(const char *s, struct vt_stream_note *out)
{
	size_t cap = 0, len = strlen(s);
	long long x, msm = 0;
	int r = VT_EPARSE;

	memset(out, 0, sizeof *out);
	if (len > VT_STREAM_NOTE_MAX + 32 || num(&s, &x) < 0)
		goto out;
	out->xid = (unsigned long long)x;
	/* a range takes at least 4 bytes ("1-1,") */
	cap = len / 4 + 1;
	if (!(out->r = calloc(cap, sizeof *out->r))) {
		r = VT_ENOMEM;
		goto out;
	}
	while (*s) {
		struct vt_stream_range *g;

		if (*s == ' ') {
			s++;
			if (num(&s, &msm) < 0 || msm <= 0 || *s++ != ':')
				goto out;
		} else if (*s != ',' || !msm) {
			goto out;
		} else {
			s++;
		}
		if (out->n == cap)
			goto out;
		g = &out->r[out->n++];
		g->msm = msm;
		if (num(&s, &g->lo) < 0 || *s++ != '-' || num(&s, &g->hi) < 0 ||
		    g->lo <= 0 || g->lo > g->hi)
			goto out;
	}
	if (out->n == 0)
		goto out;
	r = VT_OK;
out:
	if (r < 0)
		vt_stream_note_free(out);
	return r;
}

void vt_stream_note_free(struct vt_stream_note *n)
{
	if (!n)
		return;
	free(n->r);
	n->r = NULL;
	n->n = 0;
}
