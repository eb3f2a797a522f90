/* observe.c - a daemon's metrics server and heartbeat (see observe.h). */
#include "common/observe.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

int vt_observe_start(const char *kind, const char *name, const char *metrics,
		     const char *conninfo, int beat_s, struct vt_observe **out,
		     char *errbuf, size_t errlen)
{
	struct vt_observe *ob = calloc(1, sizeof *ob);
	struct timespec ts;
	sigset_t all, saved;
	int rc;

	*out = NULL;
	if (!ob)
		return vt_err_set(VT_ENOMEM, errbuf, errlen, "out of memory");
	/* The threads started here take no signal: the daemon's own thread
	 * gets SIGTERM and so wakes from its wait. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	if (metrics) {
		if ((rc = vt_metrics_new(&ob->m)) < 0) {
			vt_err_set(rc, errbuf, errlen, "out of memory");
			goto fail;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		vt_metrics_set(vt_metrics_series(vt_metrics_gauge(ob->m,
			"process_start_time_seconds",
			"Start time of the process since the epoch, in seconds.",
			NULL)), (double)ts.tv_sec + ts.tv_nsec / 1e9);
		vt_metrics_set(vt_metrics_series(vt_metrics_gauge(ob->m,
			"vantage_build_info", "Always 1: which Vantage daemon this is.",
			"daemon"), kind), 1);
		if ((rc = vt_mhttp_start(ob->m, metrics, &ob->http, errbuf,
					 errlen)) < 0)
			goto fail;
	}
	if (conninfo && (rc = vt_beat_start(conninfo, kind, name, beat_s, metrics,
					    &ob->beat)) < 0) {
		vt_err_set(rc, errbuf, errlen, "heartbeat: %s", vt_strerror(rc));
		goto fail;
	}
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	*out = ob;
	return VT_OK;
fail:
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	vt_observe_stop(ob);
	return rc;
}

void vt_observe_stop(struct vt_observe *ob)
{
	if (!ob)
		return;
	vt_mhttp_stop(ob->http);
	vt_beat_stop(ob->beat);
	vt_metrics_free(ob->m);
	free(ob);
}
