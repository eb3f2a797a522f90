/* sink.h - the in-process HTTP result sink behind direct-tcpip to
 * 127.0.0.1:8080 (PROTOCOL.md, "Upload").
 *
 * One gw_sink per forwarded connection: it gathers one request (head plus
 * body, at most VT_UPLOAD_MAX_HEAD + VT_UPLOAD_MAX_BODY bytes), checks
 * PROBE_ID and SESSION_ID against the authenticated session, queues every
 * RESULT line in one transaction and formats the reply: "OK\n" only after
 * COMMIT, an error status otherwise.  A line that cannot be stored as text
 * (a NUL byte, not UTF-8) is refused on its own: it goes to rejected with
 * its reason in that same transaction, and the upload is still OK.  The connection closes after it.
 *
 * The gateway uses it in two steps so that the COMMIT runs on a database
 * thread: gw_sink_take() on the loop hands over the results as a batch
 * that owns its memory, gw_sink_batch_store() runs on a worker, and
 * gw_sink_stored() formats the reply back on the loop.  gw_sink_feed()
 * does the three at once. */
#ifndef VT_GW_SINK_H
#define VT_GW_SINK_H

#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"
#include "common/err.h"
#include "controller/gateway/db.h"

/* Who is uploading, as the gateway authenticated it. */
struct gw_sink_who {
	long        probe_id;
	const char *session_id;
	const char *from;          /* address the probe came from */
};

/* Outcome of a request, for logs and tests. */
struct gw_sink_result {
	int status;                /* HTTP status answered */
	int nresults;              /* RESULT lines committed */
	int nrejected;             /* RESULT lines kept in rejected instead */
};

struct gw_sink;
/* The results of one request, waiting to be stored. */
struct gw_sink_batch;

int gw_sink_new(struct gw_sink **out) VT_WUR;
void gw_sink_free(struct gw_sink *s);

/* Feeds request bytes (eof: the peer finished sending).  Returns VT_EAGAIN
 * while the request is incomplete; otherwise the whole reply is appended to
 * reply, *res tells what happened, and the caller sends it and closes. */
int gw_sink_feed(struct gw_sink *s, const void *in, size_t len, int eof,
		 const struct gw_sink_who *who, struct gw_db *db,
		 struct vt_buf *reply, struct gw_sink_result *res) VT_WUR;

/* Like gw_sink_feed without the database: VT_EAGAIN while incomplete;
 * VT_OK when the reply is in reply already (nothing to store); 1 when
 * *batch (the caller owns it) must be stored and the reply made with
 * gw_sink_stored().  The request's bytes move into the batch. */
int gw_sink_take(struct gw_sink *s, const void *in, size_t len, int eof,
		 const struct gw_sink_who *who, struct vt_buf *reply,
		 struct gw_sink_result *res, struct gw_sink_batch **batch) VT_WUR;
/* Writes the batch to result_queue in one transaction (blocking; any
 * thread, one batch at a time). */
int gw_sink_batch_store(struct gw_sink_batch *b, struct gw_db *db) VT_WUR;
/* Group commit: writes the n batches to result_queue in one transaction
 * (blocking; any thread); all or none are stored.  *data_error (may be
 * NULL): as gw_db_queue_many's. */
int gw_sink_batches_store(struct gw_sink_batch *const *b, int n,
			  struct gw_db *db, int *data_error) VT_WUR;
/* Bytes the batch holds (its request). */
size_t gw_sink_batch_bytes(const struct gw_sink_batch *b);
/* Bytes allocated for the batch's request (its buffer's capacity: the
 * request and a NUL when the body's length was announced). */
size_t gw_sink_batch_alloc(const struct gw_sink_batch *b);
/* Result lines in the batch. */
int gw_sink_batch_count(const struct gw_sink_batch *b);
/* Result lines of the batch refused one by one (vt_report_line_check):
 * stored in rejected with their reason, in the same transaction. */
int gw_sink_batch_rejected(const struct gw_sink_batch *b);
void gw_sink_batch_free(struct gw_sink_batch *b);
/* Formats the reply to a request that did not arrive in time (408). */
int gw_sink_timeout(struct vt_buf *reply, struct gw_sink_result *res) VT_WUR;
/* Formats the reply to a stored batch: "OK" when store_rc is 0 (nresults
 * committed), 503 otherwise. */
int gw_sink_stored(int store_rc, int nresults, struct vt_buf *reply,
		   struct gw_sink_result *res) VT_WUR;

#endif
