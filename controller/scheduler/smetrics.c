/* smetrics.c - vantage-scheduler's metrics (see smetrics.h). */
#include "controller/scheduler/smetrics.h"

#include <stdlib.h>
#include <string.h>

#include "common/pg.h"
#include "common/vtime.h"
#include "controller/scheduler/msm.h"

struct sc_metrics {
	struct vt_observe *ob;
	struct vt_mfamily *by_status;
	struct vt_mseries *ok, *failed, *busy, *seconds, *last;
	struct vt_mseries *assigned, *unassigned, *scheduled, *started,
			  *stopped, *no_probes;
};

int sc_metrics_new(struct vt_observe *ob, struct sc_metrics **out)
{
	struct sc_metrics *s = calloc(1, sizeof *s);
	struct vt_metrics *m = ob ? ob->m : NULL;
	struct vt_mfamily *f;

	*out = NULL;
	if (!s)
		return VT_ENOMEM;
	s->ob = ob;
	f = vt_metrics_counter(m, "vantage_scheduler_passes_total",
		"Scheduling passes by outcome (busy: another scheduler held the "
		"pass lock).", "outcome");
	s->ok = vt_metrics_series(f, "ok");
	s->failed = vt_metrics_series(f, "failed");
	s->busy = vt_metrics_series(f, "busy");
	s->seconds = vt_metrics_series(vt_metrics_histogram(m,
		"vantage_scheduler_pass_seconds", "Duration of a pass.", NULL,
		vt_metrics_latency_bounds, vt_metrics_latency_nbounds));
	s->last = vt_metrics_series(vt_metrics_gauge(m,
		"vantage_scheduler_last_pass_timestamp_seconds",
		"When the last successful pass ended (unix seconds).", NULL));
	f = vt_metrics_counter(m, "vantage_scheduler_assignments_total",
		"Assignment churn: probe-measurement assignments made (added) "
		"and removed.", "change");
	s->assigned = vt_metrics_series(f, "added");
	s->unassigned = vt_metrics_series(f, "removed");
	f = vt_metrics_counter(m, "vantage_scheduler_transitions_total",
		"Measurement status changes made by passes.", "to");
	s->scheduled = vt_metrics_series(f, "scheduled");
	s->started = vt_metrics_series(f, "ongoing");
	s->stopped = vt_metrics_series(f, "stopped");
	s->no_probes = vt_metrics_series(f, "no_suitable_probes");
	s->by_status = vt_metrics_gauge(m, "vantage_scheduler_measurements",
		"Measurements by status (read after each pass).", "status");
	*out = s;
	return VT_OK;
}

void sc_metrics_free(struct sc_metrics *s)
{
	free(s);
}

void sc_metrics_pass(struct sc_metrics *s, PGconn *db, int rc,
		     const struct vt_sched_stats *st, double seconds)
{
	struct vt_beat *b;
	PGresult *res = NULL;
	char err[256];
	double now = (double)(vt_now_ms() / 1000);

	if (!s)
		return;
	b = s->ob ? s->ob->beat : NULL;
	if (rc == VT_EAGAIN) {
		vt_metrics_add(s->busy, 1);
		return;
	}
	vt_metrics_add(rc < 0 ? s->failed : s->ok, 1);
	vt_beat_set(b, rc < 0 ? "last_failed_pass" : "last_pass", now);
	if (rc < 0) {
		vt_beat_now(b);
		return;
	}
	vt_beat_set(b, "last_pass_ms", seconds * 1000);
	vt_metrics_observe(s->seconds, seconds);
	vt_metrics_set(s->last, now);
	vt_metrics_add(s->assigned, (double)st->assigned);
	vt_metrics_add(s->unassigned, (double)st->unassigned);
	vt_metrics_add(s->scheduled, (double)st->scheduled);
	vt_metrics_add(s->started, (double)st->started);
	vt_metrics_add(s->stopped, (double)st->stopped);
	vt_metrics_add(s->no_probes, (double)st->no_probes);
	if (!s->by_status)
		return;
	/* every status, 0 when none has it */
	for (int i = 0; i <= 8; i++)
		if (strcmp(vt_msm_status_name(i), "Unknown"))
			vt_metrics_set(vt_metrics_series(s->by_status,
					vt_msm_status_name(i)), 0);
	if (vt_pg_exec(db, &res, err, sizeof err, "SELECT status, count(*) FROM"
		       " measurements GROUP BY 1", 0, NULL) == 0)
		for (int i = 0; i < PQntuples(res); i++)
			vt_metrics_set(vt_metrics_series(s->by_status,
				vt_msm_status_name(atoi(PQgetvalue(res, i, 0)))),
				atof(PQgetvalue(res, i, 1)));
	PQclear(res);
}
