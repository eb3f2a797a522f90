/* metrics_http.h - serves a metrics registry as GET /metrics over HTTP.
 *
 * One libmicrohttpd thread (the request parser is libmicrohttpd's, as in
 * vantage-api), at most VT_MHTTP_CONNS connections, each closed after
 * VT_MHTTP_TIMEOUT_S idle seconds and given a small memory pool: a scraper
 * or a stranger can hold nothing more.  GET and HEAD of /metrics answer
 * the exposition text (text/plain; version=0.0.4); other paths 404, other
 * methods 405. */
#ifndef VT_METRICS_HTTP_H
#define VT_METRICS_HTTP_H

#include <stddef.h>
#include <sys/socket.h>
#include "common/err.h"
#include "common/metrics.h"

#define VT_MHTTP_CONNS      8
#define VT_MHTTP_TIMEOUT_S  10

struct vt_mhttp;

/* "ADDR:PORT", "[V6]:PORT" or ":PORT" (every address) into ss; *v6 is 0
 * for IPv4, 1 for IPv6, 2 for every address of both families. */
int vt_listen_parse(const char *s, struct sockaddr_storage *ss, int *v6) VT_WUR;

/* Starts serving m (not owned; it must outlive the server) on addr
 * ("ADDR:PORT" as above).  errbuf says why not. */
int vt_mhttp_start(struct vt_metrics *m, const char *addr,
		   struct vt_mhttp **out, char *errbuf, size_t errlen) VT_WUR;
/* Stops the thread and closes the socket.  NULL is fine. */
void vt_mhttp_stop(struct vt_mhttp *h);

#endif
