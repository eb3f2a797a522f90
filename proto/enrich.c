#include "proto/enrich.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

struct vt_result {
	json_t   *obj;
	long long msm_id;
	long long time;
};

static int set_err(char *err, size_t errlen, const char *msg)
{
	if (errlen)
		snprintf(err, errlen, "%s", msg);
	return VT_EPARSE;
}

static int digits_to_ll(const char *s, long long *out)
{
	char *end;
	long long v;

	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return VT_EPARSE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return VT_EPARSE;
	*out = v;
	return VT_OK;
}

int vt_result_parse(const char *json, size_t len, struct vt_result **out,
		    char *err, size_t errlen)
{
	struct vt_result *r = NULL;
	json_error_t jerr;
	json_t *obj, *id, *t;
	int ret;

	*out = NULL;
	if (len > VT_RESULT_MAX)
		return set_err(err, errlen, "result over 1,000,000 bytes");
	obj = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		if (errlen)
			snprintf(err, errlen, "malformed JSON: %s", jerr.text);
		return VT_EPARSE;
	}
	if (!json_is_object(obj)) {
		ret = set_err(err, errlen, "result is not a JSON object");
		goto out;
	}
	if (!(r = calloc(1, sizeof *r))) {
		ret = VT_ENOMEM;
		goto out;
	}
	id = json_object_get(obj, "id");
	if (json_is_string(id)) {
		if (digits_to_ll(json_string_value(id), &r->msm_id) < 0) {
			ret = set_err(err, errlen, "\"id\" is not a measurement id");
			goto out;
		}
	} else if (json_is_integer(id) && json_integer_value(id) > 0) {
		r->msm_id = json_integer_value(id);
	} else {
		ret = set_err(err, errlen, "no measurement \"id\"");
		goto out;
	}
	t = json_object_get(obj, "time");
	if (!json_is_integer(t) || json_integer_value(t) <= 0) {
		ret = set_err(err, errlen, "no \"time\"");
		goto out;
	}
	r->time = json_integer_value(t);
	r->obj = obj;
	obj = NULL;
	*out = r;
	r = NULL;
	ret = VT_OK;
out:
	json_decref(obj);
	free(r);
	return ret;
}

void vt_result_free(struct vt_result *r)
{
	if (!r)
		return;
	json_decref(r->obj);
	free(r);
}

long long vt_result_msm_id(const struct vt_result *r)
{
	return r->msm_id;
}

long long vt_result_time(const struct vt_result *r)
{
	return r->time;
}

const char *vt_result_msm_name(const char *type)
{
	if (!type)
		return NULL;
	if (!strcmp(type, "ping"))
		return "Ping";
	if (!strcmp(type, "traceroute"))
		return "Traceroute";
	if (!strcmp(type, "dns"))
		return "Tdig";
	return NULL;
}

/* The ping summary, computed from result[] as the controller does: sent
 * counts every entry but duplicates, rcvd the replies with an rtt, dup the
 * duplicates; min/avg/max over the rtts of non-duplicate replies. */
static int add_ping_summary(json_t *dst, json_t *src)
{
	json_t *res = json_object_get(src, "result"), *e;
	long sent = 0, rcvd = 0, dup = 0;
	double min = -1, max = -1, sum = 0;
	size_t i;

	json_array_foreach(res, i, e) {
		json_t *rtt;

		if (!json_is_object(e))
			continue;
		if (json_object_get(e, "dup")) {
			dup++;
			continue;
		}
		sent++;
		rtt = json_object_get(e, "rtt");
		if (json_is_number(rtt)) {
			double v = json_number_value(rtt);

			if (rcvd == 0 || v < min)
				min = v;
			if (rcvd == 0 || v > max)
				max = v;
			sum += v;
			rcvd++;
		}
	}
	if (json_object_set_new(dst, "dup", json_integer(dup)) ||
	    json_object_set_new(dst, "rcvd", json_integer(rcvd)) ||
	    json_object_set_new(dst, "sent", json_integer(sent)))
		return VT_ENOMEM;
	if (rcvd == 0) {
		if (json_object_set_new(dst, "min", json_integer(-1)) ||
		    json_object_set_new(dst, "max", json_integer(-1)) ||
		    json_object_set_new(dst, "avg", json_integer(-1)))
			return VT_ENOMEM;
		return VT_OK;
	}
	if (json_object_set_new(dst, "min", json_real(min)) ||
	    json_object_set_new(dst, "max", json_real(max)) ||
	    json_object_set_new(dst, "avg", json_real(sum / (double)rcvd)))
		return VT_ENOMEM;
	return VT_OK;
}

static int dump_cb(const char *buf, size_t size, void *data)
{
	return vt_buf_add(data, buf, size) < 0 ? -1 : 0;
}

int vt_result_enrich(const struct vt_result *r, const struct vt_enrich *e,
		     struct vt_buf *out)
{
	const char *name = vt_result_msm_name(e->type), *key;
	json_t *dst = json_object(), *v;
	size_t mark = out->len;
	int ret = VT_ENOMEM;

	if (!dst)
		return VT_ENOMEM;
	if (!name) {
		ret = VT_EINVAL;
		goto out;
	}
	json_object_foreach(r->obj, key, v) {
		if (!strcmp(key, "id") || !strcmp(key, "time"))
			continue;
		/* Fields only the controller may set are not taken from the probe. */
		if (!strcmp(key, "msm_id") || !strcmp(key, "prb_id") ||
		    !strcmp(key, "timestamp") || !strcmp(key, "from") ||
		    !strcmp(key, "stored_timestamp") || !strcmp(key, "type") ||
		    !strcmp(key, "msm_name") || !strcmp(key, "group_id") ||
		    !strcmp(key, "step"))
			continue;
		if (json_object_set(dst, key, v))
			goto out;
	}
	if (!strcmp(e->type, "ping") && (ret = add_ping_summary(dst, r->obj)) < 0)
		goto out;
	ret = VT_ENOMEM;
	if (json_object_set_new(dst, "msm_id", json_integer(r->msm_id)) ||
	    json_object_set_new(dst, "prb_id", json_integer(e->prb_id)) ||
	    json_object_set_new(dst, "timestamp", json_integer(r->time)) ||
	    json_object_set_new(dst, "msm_name", json_string(name)) ||
	    (e->from && json_object_set_new(dst, "from", json_string(e->from))) ||
	    json_object_set_new(dst, "type", json_string(e->type)) ||
	    (e->group_id > 0 &&
	     json_object_set_new(dst, "group_id", json_integer(e->group_id))) ||
	    json_object_set_new(dst, "step", e->step > 0 ? json_integer(e->step)
							 : json_null()) ||
	    json_object_set_new(dst, "stored_timestamp", json_integer(e->stored)))
		goto out;
	if (json_dump_callback(dst, dump_cb, out,
			       JSON_COMPACT | JSON_REAL_PRECISION(15)) < 0) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
		ret = VT_ETOOBIG;
		goto out;
	}
	ret = VT_OK;
out:
	json_decref(dst);
	return ret;
}
