/* stream.h - the live result stream's wire formats (no I/O).
 *
 * 1. The client messages of RIPE Atlas's result stream (docs/vantage-api.md,
 *    "Live stream"): WebSocket text frames holding a JSON array
 *    [type, payload].  vt_stream_msg_parse reads what a client sends;
 *    the vt_stream_fmt_* functions build what the server sends.
 * 2. The payload of the worker's NOTIFY vantage_stream, which names the
 *    rows a transaction stored (never the rows):
 *        XID MSM:LO-HI[,LO-HI...] [MSM:LO-HI...]...
 *    XID is the storing transaction (pg_current_xact_id), each LO-HI an
 *    inclusive range of results.seq whose every value is a row of that
 *    measurement stored by that transaction.  A payload is at most
 *    VT_STREAM_NOTE_MAX bytes; a transaction sends as many as it needs. */
#ifndef VT_PROTO_STREAM_H
#define VT_PROTO_STREAM_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"

#define VT_STREAM_NOTE_MAX 7000    /* PostgreSQL's NOTIFY payload is < 8000 */

enum vt_stream_msg_type {
	VT_STREAM_SUBSCRIBE = 1,
	VT_STREAM_UNSUBSCRIBE,
};

struct vt_stream_msg {
	enum vt_stream_msg_type type;
	long long msm;                  /* measurement id (> 0) */
	long prb;                       /* probe id, 0: every probe */
	int backlog;                    /* sendBacklog: true */
};

/* Parses one client frame (len bytes, not NUL-terminated).  On a refusal
 * errbuf holds the reason a client is told in atlas_error. */
int vt_stream_msg_parse(const char *p, size_t len, struct vt_stream_msg *m,
			char *errbuf, size_t errlen) VT_WUR;

/* ["atlas_subscribed", {"stream_type":"result","msm":M[,"prb":P]}] */
int vt_stream_fmt_subscribed(struct vt_buf *out, const struct vt_stream_msg *m) VT_WUR;
/* ["atlas_unsubscribed", {...}] */
int vt_stream_fmt_unsubscribed(struct vt_buf *out, const struct vt_stream_msg *m) VT_WUR;
/* ["atlas_error", "reason"] */
int vt_stream_fmt_error(struct vt_buf *out, const char *reason) VT_WUR;
/* ["atlas_result", RESULT]: the stored JSON object as it is (byte-exact). */
int vt_stream_fmt_result(struct vt_buf *out, const char *json, size_t len) VT_WUR;

/* One stored row: (measurement, seq). */
struct vt_stream_row {
	long long msm;
	long long seq;
};

/* Appends to out the ranges of rows[*at..n) (sorted by msm, then seq,
 * without repeats) up to VT_STREAM_NOTE_MAX bytes of payload, without
 * the XID (which the SQL prepends); advances *at past what it wrote.
 * Call again with a fresh out until *at == n. */
int vt_stream_note_build(const struct vt_stream_row *rows, size_t n, size_t *at,
			 struct vt_buf *out) VT_WUR;

/* A parsed NOTIFY payload. */
struct vt_stream_range {
	long long msm, lo, hi;
};
struct vt_stream_note {
	unsigned long long xid;
	struct vt_stream_range *r;      /* owned; vt_stream_note_free */
	size_t n;
};

/* Parses a payload (NUL-terminated).  Ranges with lo > hi, ids <= 0 or
 * more than the payload could hold are refused. */
int vt_stream_note_parse(const char *s, struct vt_stream_note *out) VT_WUR;
void vt_stream_note_free(struct vt_stream_note *n);

#endif
