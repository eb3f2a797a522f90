/* push.c - command pushes (see push.h). */
#include "controller/gateway/push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_push {
	long                  id;
	struct vt_dlg_client *client;
	char                  outcome[64];
};

/* Copies the line [s, s+n) into a NUL-terminated buffer. */
static int line_copy(const char *s, size_t n, char *dst, size_t dlen)
{
	if (n >= dlen)
		return VT_ETOOBIG;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return VT_OK;
}

static int add_line(struct vt_dlg_batch *b, char *line, int *in_crontab,
		    const char **why)
{
	char *arg, *sp;

	if ((arg = strchr(line, ' ')))
		*arg++ = '\0';
	if (!arg || !*arg) {
		*why = "command without argument";
		return VT_EPARSE;
	}
	if (!strcmp(line, "CRONTAB")) {
		*in_crontab = 1;
		*why = "bad crontab path";
		return vt_dlg_batch_crontab(b, arg);
	}
	if (!strcmp(line, "CRONLINE")) {
		if (!*in_crontab) {
			*why = "CRONLINE outside a CRONTAB";
			return VT_EPARSE;
		}
		*why = "bad crontab line";
		return vt_dlg_batch_cronline(b, arg);
	}
	if (!strcmp(line, "ONEOFF")) {
		*in_crontab = 0;
		if (!(sp = strchr(arg, ' ')) || !sp[1]) {
			*why = "ONEOFF wants a path and a command";
			return VT_EPARSE;
		}
		*sp++ = '\0';
		*why = "bad one-off";
		return vt_dlg_batch_oneoff(b, arg, sp);
	}
	*why = "unknown command (CRONTAB, CRONLINE or ONEOFF)";
	return VT_EPARSE;
}

int gw_batch_parse(const char *text, size_t len, struct vt_dlg_batch **out,
		   char *err, size_t errlen)
{
	struct vt_dlg_batch *b = NULL;
	char line[VT_DLG_LINE_MAX + 1];
	const char *why = "";
	struct vt_cur cur;
	const char *l;
	size_t n;
	int rc, no = 0, in_crontab = 0;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (len > GW_PUSH_MAX_TEXT) {
		snprintf(err, errlen, "batch over %d bytes", GW_PUSH_MAX_TEXT);
		return VT_ETOOBIG;
	}
	if (!(b = vt_dlg_batch_new()))
		return VT_ENOMEM;
	vt_cur_init(&cur, text, len);
	while ((rc = vt_cur_line(&cur, &l, &n)) > 0) {
		no++;
		if (n == 0 || l[0] == '#')
			continue;
		if (memchr(l, '\0', n) || line_copy(l, n, line, sizeof line) < 0) {
			snprintf(err, errlen, "line %d: too long or binary", no);
			rc = VT_EPARSE;
			goto out;
		}
		if ((rc = add_line(b, line, &in_crontab, &why)) < 0) {
			snprintf(err, errlen, "line %d: %s", no, why);
			rc = VT_EPARSE;
			goto out;
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "unreadable batch");
		goto out;
	}
	*out = b;
	b = NULL;
	rc = VT_OK;
out:
	vt_dlg_batch_free(b);
	return rc;
}

int gw_push_new(long push_id, const char *session_id, const char *text,
		struct gw_push **out)
{
	struct vt_dlg_batch *b = NULL;
	struct gw_push *p;
	char err[128];
	int rc;

	*out = NULL;
	if (!(p = calloc(1, sizeof *p)))
		return VT_ENOMEM;
	p->id = push_id;
	if ((rc = gw_batch_parse(text, strlen(text), &b, err, sizeof err)) < 0)
		goto out;
	if ((rc = vt_dlg_client_new(session_id, b, &p->client)) < 0)
		goto out;
	*out = p;
	p = NULL;
out:
	vt_dlg_batch_free(b);
	gw_push_free(p);
	return rc;
}

void gw_push_free(struct gw_push *p)
{
	if (!p)
		return;
	vt_dlg_client_free(p->client);
	free(p);
}

long gw_push_id(const struct gw_push *p)
{
	return p->id;
}

int gw_push_feed(struct gw_push *p, const void *in, size_t len,
		 struct vt_buf *out)
{
	int rc;

	if (p->outcome[0])
		return VT_EPROTO;
	rc = vt_dlg_client_feed(p->client, in, len, out);
	switch (rc) {
	case VT_EAGAIN:
		return rc;
	case VT_OK:
		snprintf(p->outcome, sizeof p->outcome, "OK");
		break;
	case VT_EAUTH:
		snprintf(p->outcome, sizeof p->outcome, "BAD_PASSWORD");
		break;
	case VT_EPROTO:
		if (vt_dlg_client_error(p->client) != VT_DLG_OK) {
			snprintf(p->outcome, sizeof p->outcome, "%s",
				 vt_dlg_error_name(vt_dlg_client_error(p->client)));
			break;
		}
		/* fall through */
	default:
		snprintf(p->outcome, sizeof p->outcome, "BAD_REPLY");
		break;
	}
	return rc;
}

const char *gw_push_outcome(const struct gw_push *p)
{
	return p->outcome[0] ? p->outcome : "PENDING";
}

void gw_push_fail(struct gw_push *p, const char *reason)
{
	if (!p->outcome[0])
		snprintf(p->outcome, sizeof p->outcome, "%s", reason);
}
