/* sink.c - the HTTP result sink (see sink.h). */
#include "controller/gateway/sink.h"

#include <stdlib.h>
#include <string.h>

#include "common/vtime.h"
#include "proto/upload.h"

#define SINK_MAX  (VT_UPLOAD_MAX_HEAD + VT_UPLOAD_MAX_BODY)
#define LINES_MAX 100000

struct gw_sink {
	struct vt_buf in;
	int           done;
};

/* Result lines of a body, pointing into it. */
struct lines {
	const char **p;
	size_t      *len;
	int          n, cap;
};

int gw_sink_new(struct gw_sink **out)
{
	struct gw_sink *s = calloc(1, sizeof *s);

	*out = NULL;
	if (!s)
		return VT_ENOMEM;
	vt_buf_init(&s->in, SINK_MAX);
	*out = s;
	return VT_OK;
}

void gw_sink_free(struct gw_sink *s)
{
	if (!s)
		return;
	vt_buf_free(&s->in);
	free(s);
}

static int collect(void *arg, const char *json, size_t len)
{
	struct lines *l = arg;

	/* A line with a NUL cannot be stored as text: not a result. */
	if (memchr(json, '\0', len))
		return 0;
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 64;
		const char **p;
		size_t *n;

		if (cap > LINES_MAX)
			return VT_ETOOBIG;
		if (!(p = realloc(l->p, cap * sizeof *p)))
			return VT_ENOMEM;
		l->p = p;
		if (!(n = realloc(l->len, cap * sizeof *n)))
			return VT_ENOMEM;
		l->len = n;
		l->cap = cap;
	}
	l->p[l->n] = json;
	l->len[l->n] = len;
	l->n++;
	return 0;
}

static int answer(struct vt_buf *reply, struct gw_sink_result *res, int status,
		  const char *reason, const char *body)
{
	res->status = status;
	vt_buf_reset(reply);
	return vt_upload_reply_format(reply, status, reason, body,
				      vt_now_ms() / 1000);
}

int gw_sink_feed(struct gw_sink *s, const void *in, size_t len, int eof,
		 const struct gw_sink_who *who, struct gw_db *db,
		 struct vt_buf *reply, struct gw_sink_result *res)
{
	struct vt_upload_req req;
	struct lines lines = { 0 };
	char sid[VT_SESSION_ID_MAX + 1];
	const char *body;
	size_t blen;
	int rc, n = 0;

	res->status = 0;
	res->nresults = 0;
	if (s->done)
		return answer(reply, res, 400, "Bad Request", "one request only\n");
	if (len && vt_buf_add(&s->in, in, len) < 0) {
		s->done = 1;
		return answer(reply, res, 413, "Payload Too Large", "too big\n");
	}
	rc = vt_upload_req_parse(s->in.data ? s->in.data : "", s->in.len, &req);
	if (rc == VT_EAGAIN && !eof)
		return VT_EAGAIN;
	if (rc == VT_ETOOBIG) {
		s->done = 1;
		return answer(reply, res, 413, "Payload Too Large", "too big\n");
	}
	if (rc < 0) {
		s->done = 1;
		return answer(reply, res, 400, "Bad Request", "bad request\n");
	}
	blen = s->in.len - req.head_len;
	if (req.content_length >= 0 && blen < (size_t)req.content_length) {
		if (!eof)
			return VT_EAGAIN;
		s->done = 1;
		return answer(reply, res, 400, "Bad Request", "short body\n");
	}
	if (req.content_length < 0 && !eof)
		return VT_EAGAIN;   /* no length: the body ends at EOF */
	if (req.content_length >= 0)
		blen = (size_t)req.content_length;
	body = s->in.data + req.head_len;
	s->done = 1;
	if (strcmp(req.method, "POST"))
		return answer(reply, res, 405, "Method Not Allowed", "POST only\n");
	if (req.probe_id != who->probe_id || strcmp(req.session_id, who->session_id))
		return answer(reply, res, 403, "Forbidden", "wrong probe or session\n");
	sid[0] = '\0';
	rc = vt_report_parse(body, blen, collect, &lines, sid, sizeof sid, &n);
	if (rc == 0 && sid[0] && strcmp(sid, who->session_id))
		rc = VT_EAUTH;
	if (rc == VT_EAUTH) {
		rc = answer(reply, res, 403, "Forbidden", "wrong session\n");
		goto out;
	}
	if (rc < 0) {
		rc = answer(reply, res, rc == VT_ETOOBIG ? 413 : 400,
			    rc == VT_ETOOBIG ? "Payload Too Large" : "Bad Request",
			    "bad report\n");
		goto out;
	}
	if (lines.n && gw_db_queue(db, who->probe_id, who->session_id, who->from,
				   req.src, vt_now_ms(), lines.p, lines.len,
				   lines.n) < 0) {
		rc = answer(reply, res, 503, "Service Unavailable",
			    "queue unavailable\n");
		goto out;
	}
	res->nresults = lines.n;
	rc = answer(reply, res, 200, "OK", "OK\n");
out:
	free(lines.p);
	free(lines.len);
	return rc;
}
