/* sink.c - the HTTP result sink (see sink.h). */
#include "controller/gateway/sink.h"

#include <stdio.h>
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

/* Result lines refused one by one (vt_report_line_check), made storable
 * and with their reason, for the rejected table. */
struct rejects {
	struct vt_buf text;        /* escaped lines, one after another */
	struct vt_buf why;         /* reasons, each NUL-terminated */
	size_t       *off, *len, *woff;
	int           n, cap;
	/* built for the store: pointers into text and why */
	const char  **lines, **reasons;
};

/* Result lines of a body, pointing into it, and the refused ones. */
struct lines {
	const char **p;
	size_t      *len;
	int          n, cap;
	struct rejects rej;
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

static void rejects_free(struct rejects *r)
{
	vt_buf_free(&r->text);
	vt_buf_free(&r->why);
	free(r->off);
	free(r->len);
	free(r->woff);
	free(r->lines);
	free(r->reasons);
}

/* Keeps json (refused for fault f at byte at) for the rejected table. */
static int reject(struct rejects *r, const char *json, size_t len,
		  enum vt_line_fault f, size_t at)
{
	int rc;

	if (r->n == r->cap) {
		int cap = r->cap ? r->cap * 2 : 16;
		size_t *a, *b, *c;

		if (cap > LINES_MAX)
			return VT_ETOOBIG;
		if (!(a = realloc(r->off, cap * sizeof *a)))
			return VT_ENOMEM;
		r->off = a;
		if (!(b = realloc(r->len, cap * sizeof *b)))
			return VT_ENOMEM;
		r->len = b;
		if (!(c = realloc(r->woff, cap * sizeof *c)))
			return VT_ENOMEM;
		r->woff = c;
		r->cap = cap;
	}
	r->off[r->n] = r->text.len;
	r->woff[r->n] = r->why.len;
	if ((rc = vt_report_line_escape(&r->text, json, len)) < 0 ||
	    (rc = vt_buf_addf(&r->why, "gateway: %s at byte %zu",
			      vt_line_fault_name(f), at)) < 0 ||
	    (rc = vt_buf_addc(&r->why, '\0')) < 0)
		return rc;
	r->len[r->n] = r->text.len - r->off[r->n];
	r->n++;
	return 0;
}

/* Pointers to the refused lines and reasons (once the buffers are final). */
static int rejects_point(struct rejects *r)
{
	if (!r->n)
		return VT_OK;
	if (!(r->lines = calloc((size_t)r->n, sizeof *r->lines)) ||
	    !(r->reasons = calloc((size_t)r->n, sizeof *r->reasons)))
		return VT_ENOMEM;
	for (int i = 0; i < r->n; i++) {
		r->lines[i] = r->text.data + r->off[i];
		r->reasons[i] = r->why.data + r->woff[i];
	}
	return VT_OK;
}

static int collect(void *arg, const char *json, size_t len)
{
	struct lines *l = arg;
	enum vt_line_fault f;
	size_t at = 0;

	/* A line that cannot be stored as text is refused on its own: it goes
	 * to rejected with the reason, the other lines are queued. */
	if ((f = vt_report_line_check(json, len, &at)) != VT_LINE_OK)
		return reject(&l->rej, json, len, f, at);
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

struct gw_sink_batch {
	struct vt_buf in;           /* the request, the lines point into it */
	struct lines  lines;
	long          probe_id;
	char          sid[VT_SESSION_ID_MAX + 1];
	char          from[64];
	char          src[32];
	int64_t       received_ms;
};

void gw_sink_batch_free(struct gw_sink_batch *b)
{
	if (!b)
		return;
	vt_buf_free(&b->in);
	free(b->lines.p);
	free(b->lines.len);
	rejects_free(&b->lines.rej);
	free(b);
}

int gw_sink_batch_count(const struct gw_sink_batch *b)
{
	return b ? b->lines.n : 0;
}

int gw_sink_batch_rejected(const struct gw_sink_batch *b)
{
	return b ? b->lines.rej.n : 0;
}

size_t gw_sink_batch_bytes(const struct gw_sink_batch *b)
{
	return b ? b->in.len + b->lines.rej.text.len : 0;
}

size_t gw_sink_batch_alloc(const struct gw_sink_batch *b)
{
	return b ? b->in.cap : 0;
}

int gw_sink_batches_store(struct gw_sink_batch *const *b, int n,
			  struct gw_db *db, int *data_error)
{
	struct gw_db_upload *u;
	int rc;

	if (n <= 0)
		return VT_OK;
	if (!(u = calloc((size_t)n, sizeof *u)))
		return VT_ENOMEM;
	for (int i = 0; i < n; i++) {
		u[i].probe_id = b[i]->probe_id;
		u[i].sid = b[i]->sid;
		u[i].from = b[i]->from;
		u[i].src = b[i]->src;
		u[i].received_ms = b[i]->received_ms;
		u[i].lines = b[i]->lines.p;
		u[i].lens = b[i]->lines.len;
		u[i].n = b[i]->lines.n;
		u[i].rej_lines = b[i]->lines.rej.lines;
		u[i].rej_lens = b[i]->lines.rej.len;
		u[i].rej_reasons = b[i]->lines.rej.reasons;
		u[i].nrej = b[i]->lines.rej.n;
	}
	rc = gw_db_queue_many(db, u, n, data_error);
	free(u);
	return rc;
}

int gw_sink_batch_store(struct gw_sink_batch *b, struct gw_db *db)
{
	return gw_sink_batches_store(&b, 1, db, NULL);
}

int gw_sink_timeout(struct vt_buf *reply, struct gw_sink_result *res)
{
	res->nresults = 0;
	res->nrejected = 0;
	return answer(reply, res, 408, "Request Timeout", "request timeout\n");
}

int gw_sink_stored(int store_rc, int nresults, struct vt_buf *reply,
		   struct gw_sink_result *res)
{
	res->nresults = 0;
	res->nrejected = 0;
	if (store_rc < 0)
		return answer(reply, res, 503, "Service Unavailable",
			      "queue unavailable\n");
	res->nresults = nresults;
	return answer(reply, res, 200, "OK", "OK\n");
}

int gw_sink_take(struct gw_sink *s, const void *in, size_t len, int eof,
		 const struct gw_sink_who *who, struct vt_buf *reply,
		 struct gw_sink_result *res, struct gw_sink_batch **batch)
{
	struct vt_upload_req req;
	struct gw_sink_batch *b = NULL;
	char sid[VT_SESSION_ID_MAX + 1];
	const char *body;
	size_t blen;
	int rc, n = 0;

	*batch = NULL;
	res->status = 0;
	res->nresults = 0;
	res->nrejected = 0;
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
		if (!eof) {
			/* The rest of the body is announced: room for all of
			 * it at once, not by doubling (a few hundred KiB
			 * copied over and over).  A length past the cap
			 * reserves nothing (the add that passes it answers
			 * 413), nor does a failed allocation (the adds grow
			 * the buffer as before). */
			if (vt_buf_reserve_exact(&s->in,
						 (size_t)req.content_length - blen) < 0)
				return VT_EAGAIN;
			return VT_EAGAIN;
		}
		s->done = 1;
		return answer(reply, res, 400, "Bad Request", "short body\n");
	}
	if (req.content_length < 0 && !eof)
		return VT_EAGAIN;   /* no length: the body ends at EOF */
	if (req.content_length >= 0)
		blen = (size_t)req.content_length;
	s->done = 1;
	if (strcmp(req.method, "POST"))
		return answer(reply, res, 405, "Method Not Allowed", "POST only\n");
	if (req.probe_id != who->probe_id || strcmp(req.session_id, who->session_id))
		return answer(reply, res, 403, "Forbidden", "wrong probe or session\n");
	if (!(b = calloc(1, sizeof *b)))
		return VT_ENOMEM;
	/* The batch takes the request's bytes, so the lines stay valid for the
	 * database thread whatever happens to the channel meanwhile. */
	b->in = s->in;
	vt_buf_init(&s->in, SINK_MAX);
	vt_buf_init(&b->lines.rej.text, 4 * SINK_MAX);
	vt_buf_init(&b->lines.rej.why, 0);
	body = b->in.data + req.head_len;
	sid[0] = '\0';
	rc = vt_report_parse(body, blen, collect, &b->lines, sid, sizeof sid, &n);
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
	if (!b->lines.n && !b->lines.rej.n) {
		rc = answer(reply, res, 200, "OK", "OK\n");
		goto out;
	}
	if ((rc = rejects_point(&b->lines.rej)) < 0)
		goto out;
	b->probe_id = who->probe_id;
	snprintf(b->sid, sizeof b->sid, "%s", who->session_id);
	snprintf(b->from, sizeof b->from, "%s", who->from);
	snprintf(b->src, sizeof b->src, "%s", req.src);
	b->received_ms = vt_now_ms();
	*batch = b;
	b = NULL;
	rc = 1;
out:
	gw_sink_batch_free(b);
	return rc;
}

int gw_sink_feed(struct gw_sink *s, const void *in, size_t len, int eof,
		 const struct gw_sink_who *who, struct gw_db *db,
		 struct vt_buf *reply, struct gw_sink_result *res)
{
	struct gw_sink_batch *b = NULL;
	int rc;

	rc = gw_sink_take(s, in, len, eof, who, reply, res, &b);
	if (rc != 1)
		return rc;
	rc = gw_sink_stored(gw_sink_batch_store(b, db), gw_sink_batch_count(b),
			    reply, res);
	if (rc == 0 && res->status == 200)
		res->nrejected = gw_sink_batch_rejected(b);
	gw_sink_batch_free(b);
	return rc;
}
