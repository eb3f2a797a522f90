/* wmetrics.h - vantage-worker's metrics and heartbeat numbers: results
 * stored, duplicates and rejected (by class of reason), batch latency,
 * the queue's depth and the age of its oldest row (docs/operations.md). */
#ifndef VT_WK_METRICS_H
#define VT_WK_METRICS_H

#include <libpq-fe.h>
#include "common/err.h"
#include "common/observe.h"
#include "controller/worker/worker.h"

#define WK_QUEUE_LOOK_MS  5000    /* the queue is looked at this often */
#define WK_QUEUE_COUNT_CAP 10000000  /* depth counted up to this */

struct wk_metrics;

/* Registers the worker's families in ob->m (none when ob->m is NULL). */
int wk_metrics_new(struct vt_observe *ob, struct wk_metrics **out) VT_WUR;
void wk_metrics_free(struct wk_metrics *w);
/* A batch ran for seconds: adds what st gained since the last call. */
void wk_metrics_batch(struct wk_metrics *w, const struct vt_worker_stats *st,
		      double seconds);
/* Reads the queue's depth and oldest row on db (at most every
 * WK_QUEUE_LOOK_MS; outside a transaction). */
void wk_metrics_queue(struct wk_metrics *w, PGconn *db);
/* Whether the worker holds a seat (seat.h). */
void wk_metrics_seated(struct wk_metrics *w, int seated);

#endif
