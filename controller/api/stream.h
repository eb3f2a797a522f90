/* stream.h - the live result stream of vantage-api (/stream/): RIPE
 * Atlas's result stream over WebSocket (libwebsockets), plain and TLS.
 *
 * Two threads: the feed (stream_feed.c) holds one PostgreSQL connection
 * that LISTENs to the worker's vantage_stream notifications and reads
 * the stored rows of the measurements someone subscribed to, once per
 * notification; the service thread (stream.c) runs the WebSocket
 * listeners and fans every row out in memory to the subscribers' bounded
 * queues.  A client whose queue overflows is dropped with atlas_error;
 * neither the worker nor the database nor other clients wait for it. */
#ifndef VT_API_STREAM_H
#define VT_API_STREAM_H

#include <stddef.h>

#include "common/err.h"

struct vt_stream_conf {
	const char *db;            /* libpq conninfo */
	const char *plain;         /* "ADDR:PORT" (ws://), or NULL */
	const char *tls;           /* "ADDR:PORT" (wss://), or NULL */
	const char *tls_cert;      /* PEM files, for tls */
	const char *tls_key;
	int max_clients;           /* open WebSocket connections, both listeners */
	int max_subs;              /* subscriptions per client */
	int queue_msgs;            /* messages queued for one client */
	long queue_bytes;          /* bytes queued for one client */
	int msg_max;               /* bytes of one client message */
	int idle_s;                /* a client that sends nothing (not even a
				    * pong) for this long is closed */
	int backlog_s;             /* sendBacklog: results stored this long ago */
	int stmt_ms;               /* the feed's statement timeout */
	int nice;                  /* the service thread's nice value (0: as
				    * the process) */
};

void vt_stream_conf_defaults(struct vt_stream_conf *c);

struct vt_stream;

/* Binds the listeners, connects the feed and starts both threads. */
int vt_stream_start(const struct vt_stream_conf *c, struct vt_stream **out,
		    char *errbuf, size_t errlen) VT_WUR;
/* The port a listener is bound to (tls 0: plain), or -1. */
int vt_stream_port(const struct vt_stream *s, int tls);
/* Stops both threads, closes every client and frees everything.  NULL ok. */
void vt_stream_stop(struct vt_stream *s);

#endif
