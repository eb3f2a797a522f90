/* smetrics.h - vantage-scheduler's metrics and heartbeat numbers: passes
 * (by outcome, with their duration), measurements by status, assignment
 * churn (docs/operations.md, "What to watch"). */
#ifndef VT_SCHED_METRICS_H
#define VT_SCHED_METRICS_H

#include <libpq-fe.h>
#include "common/err.h"
#include "common/observe.h"
#include "controller/scheduler/sched.h"

struct sc_metrics;

int sc_metrics_new(struct vt_observe *ob, struct sc_metrics **out) VT_WUR;
void sc_metrics_free(struct sc_metrics *s);
/* A pass ended with rc (VT_EAGAIN: another scheduler ran it) after
 * seconds, having done st; reads the measurements by status on db. */
void sc_metrics_pass(struct sc_metrics *s, PGconn *db, int rc,
		     const struct vt_sched_stats *st, double seconds);

#endif
