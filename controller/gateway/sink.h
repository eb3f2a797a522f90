/* sink.h - the in-process HTTP result sink behind direct-tcpip to
 * 127.0.0.1:8080 (PROTOCOL.md, "Upload").
 *
 * One gw_sink per forwarded connection: it gathers one request (head plus
 * body, at most VT_UPLOAD_MAX_HEAD + VT_UPLOAD_MAX_BODY bytes), checks
 * PROBE_ID and SESSION_ID against the authenticated session, queues every
 * RESULT line in one transaction and formats the reply: "OK\n" only after
 * COMMIT, an error status otherwise.  The connection closes after it. */
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
};

struct gw_sink;

int gw_sink_new(struct gw_sink **out) VT_WUR;
void gw_sink_free(struct gw_sink *s);

/* Feeds request bytes (eof: the peer finished sending).  Returns VT_EAGAIN
 * while the request is incomplete; otherwise the whole reply is appended to
 * reply, *res tells what happened, and the caller sends it and closes. */
int gw_sink_feed(struct gw_sink *s, const void *in, size_t len, int eof,
		 const struct gw_sink_who *who, struct gw_db *db,
		 struct vt_buf *reply, struct gw_sink_result *res) VT_WUR;

#endif
