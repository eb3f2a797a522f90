/* wmetrics.c - vantage-worker's metrics (see wmetrics.h). */
#include "controller/worker/wmetrics.h"

#include <stdlib.h>

#include "common/pg.h"
#include "common/vtime.h"

struct wk_metrics {
	struct vt_observe *ob;
	struct vt_mseries *claimed, *stored, *dups, *status, *batches;
	struct vt_mseries *rejected[VT_REJ_CLASSES];
	struct vt_mseries *latency, *depth, *age, *seated;
	struct vt_worker_stats last;
	int64_t next_look;
};

int wk_metrics_new(struct vt_observe *ob, struct wk_metrics **out)
{
	struct wk_metrics *w = calloc(1, sizeof *w);
	struct vt_metrics *m = ob ? ob->m : NULL;
	struct vt_mfamily *rej;

	*out = NULL;
	if (!w)
		return VT_ENOMEM;
	w->ob = ob;
	w->claimed = vt_metrics_series(vt_metrics_counter(m,
		"vantage_worker_claimed_total",
		"Queue rows taken by this worker.", NULL));
	w->stored = vt_metrics_series(vt_metrics_counter(m,
		"vantage_worker_results_stored_total",
		"Results stored (new rows in results).", NULL));
	w->dups = vt_metrics_series(vt_metrics_counter(m,
		"vantage_worker_duplicates_total",
		"Results already stored, not stored again.", NULL));
	w->status = vt_metrics_series(vt_metrics_counter(m,
		"vantage_worker_status_lines_total",
		"Probe status lines (uptime, addresses) handled.", NULL));
	rej = vt_metrics_counter(m, "vantage_worker_results_rejected_total",
		"Results kept in rejected, by class of reason.", "reason");
	for (int i = 0; i < VT_REJ_CLASSES; i++)
		w->rejected[i] = vt_metrics_series(rej,
			vt_worker_rej_name((enum vt_rej_class)i));
	w->batches = vt_metrics_series(vt_metrics_counter(m,
		"vantage_worker_batches_total",
		"Batches committed (each one transaction).", NULL));
	w->latency = vt_metrics_series(vt_metrics_histogram(m,
		"vantage_worker_batch_seconds",
		"Time to claim, store and commit one batch.", NULL,
		vt_metrics_latency_bounds, vt_metrics_latency_nbounds));
	w->depth = vt_metrics_series(vt_metrics_gauge(m,
		"vantage_worker_queue_depth",
		"Rows waiting in result_queue (counted up to 10 million).", NULL));
	w->age = vt_metrics_series(vt_metrics_gauge(m,
		"vantage_worker_queue_oldest_age_seconds",
		"Age of the oldest row in result_queue (0 when empty).", NULL));
	w->seated = vt_metrics_series(vt_metrics_gauge(m,
		"vantage_worker_seated",
		"1 while the worker holds a seat (or --active 0), 0 while it"
		" stands in line.", NULL));
	*out = w;
	return VT_OK;
}

void wk_metrics_free(struct wk_metrics *w)
{
	free(w);
}

void wk_metrics_batch(struct wk_metrics *w, const struct vt_worker_stats *st,
		      double seconds)
{
	struct vt_beat *b;

	if (!w)
		return;
	if (st->claimed > w->last.claimed) {
		vt_metrics_add(w->batches, 1);
		vt_metrics_observe(w->latency, seconds);
	}
	vt_metrics_add(w->claimed, (double)(st->claimed - w->last.claimed));
	vt_metrics_add(w->stored, (double)(st->stored - w->last.stored));
	vt_metrics_add(w->dups, (double)(st->duplicates - w->last.duplicates));
	vt_metrics_add(w->status, (double)(st->status_used + st->status_other -
		       w->last.status_used - w->last.status_other));
	for (int i = 0; i < VT_REJ_CLASSES; i++)
		vt_metrics_add(w->rejected[i],
			       (double)(st->rejected_by[i] - w->last.rejected_by[i]));
	w->last = *st;
	if ((b = w->ob ? w->ob->beat : NULL)) {
		vt_beat_set(b, "claimed", (double)st->claimed);
		vt_beat_set(b, "stored", (double)st->stored);
		vt_beat_set(b, "rejected", (double)st->rejected);
		if (st->claimed)
			vt_beat_set(b, "last_batch", (double)(vt_now_ms() / 1000));
	}
}

void wk_metrics_queue(struct wk_metrics *w, PGconn *db)
{
	PGresult *res = NULL;
	int64_t now = vt_mono_ms();
	char err[256];

	if (!w || now < w->next_look || (!w->depth && !(w->ob && w->ob->beat)))
		return;
	w->next_look = now + WK_QUEUE_LOOK_MS;
	if (vt_pg_exec(db, &res, err, sizeof err,
		       "SELECT (SELECT count(*) FROM (SELECT 1 FROM result_queue"
		       " LIMIT 10000000) q), COALESCE(extract(epoch FROM now() -"
		       " (SELECT received FROM result_queue ORDER BY id LIMIT 1)),"
		       " 0)", 0, NULL) == 0) {
		double depth = atof(PQgetvalue(res, 0, 0)),
		       age = atof(PQgetvalue(res, 0, 1));

		vt_metrics_set(w->depth, depth);
		vt_metrics_set(w->age, age > 0 ? age : 0);
		if (w->ob) {
			vt_beat_set(w->ob->beat, "queue", depth);
			vt_beat_set(w->ob->beat, "queue_oldest_s", age > 0 ? age : 0);
		}
	}
	PQclear(res);
}

void wk_metrics_seated(struct wk_metrics *w, int seated)
{
	if (w)
		vt_metrics_set(w->seated, seated);
}
