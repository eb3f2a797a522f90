/* observe.h - what a daemon shows of itself: its metrics (served on
 * --metrics ADDR:PORT when given) and its heartbeat row (beat.h).
 *
 * main() starts it after its flags are read and stops it last:
 *
 *     struct vt_observe *ob;
 *     if (vt_observe_start("worker", NULL, metrics_addr, conninfo, 5, &ob,
 *                          err, sizeof err) < 0) ...
 *     ... count into ob->m (NULL without --metrics: nothing is counted)
 *     vt_observe_stop(ob);
 */
#ifndef VT_OBSERVE_H
#define VT_OBSERVE_H

#include <stddef.h>
#include "common/beat.h"
#include "common/err.h"
#include "common/metrics.h"
#include "common/metrics_http.h"

struct vt_observe {
	struct vt_metrics *m;        /* NULL without --metrics */
	struct vt_mhttp   *http;
	struct vt_beat    *beat;     /* NULL without a database */
};

/* kind: "worker", "scheduler", ...; name: its instance name (NULL: kind);
 * metrics: --metrics ADDR:PORT or NULL; conninfo: the database for the
 * heartbeat (NULL: none); beat_s: seconds between heartbeats.  The
 * registry starts with process_start_time_seconds and
 * vantage_build_info{daemon=kind}. */
int vt_observe_start(const char *kind, const char *name, const char *metrics,
		     const char *conninfo, int beat_s, struct vt_observe **out,
		     char *errbuf, size_t errlen) VT_WUR;
/* Stops serving, marks the heartbeat row stopped, frees.  NULL is fine. */
void vt_observe_stop(struct vt_observe *ob);

#endif
