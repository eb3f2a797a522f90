/* ametrics.h - vantage-api's metrics: requests by endpoint and status,
 * their latency, bytes sent (streamed results included).  Counted from
 * any of libmicrohttpd's threads (atomics, metrics.h). */
#ifndef VT_API_METRICS_H
#define VT_API_METRICS_H

#include "common/err.h"
#include "common/metrics.h"

struct api_metrics;

/* Registers the families in m (counting nothing when m is NULL). */
int api_metrics_new(struct vt_metrics *m, struct api_metrics **out) VT_WUR;
void api_metrics_free(struct api_metrics *am);
/* One request ended: its route (enum vt_api_route), HTTP status, bytes
 * sent and duration.  NULL am is fine. */
void api_metrics_done(struct api_metrics *am, int route, int status,
		      unsigned long long bytes, double seconds);
/* The endpoint label of a route ("results", "probe", ...; "none"). */
const char *api_metrics_endpoint(int route);

#endif
