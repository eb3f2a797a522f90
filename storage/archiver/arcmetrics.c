/* arcmetrics.c - the archiver's metrics file and heartbeat numbers (see
 * arcmetrics.h). */
#include "storage/archiver/arcmetrics.h"

#include <stdio.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"
#include "storage/arcstate.h"

/* A gauge without labels set to v. */
static void gauge(struct vt_metrics *m, const char *name, const char *help,
		  double v)
{
	vt_metrics_set(vt_metrics_series(vt_metrics_gauge(m, name, help, NULL)), v);
}

void arc_observe(struct vt_beat *b, const char *path, PGconn *db,
		 const struct vt_arc_opts *o, const struct vt_arc_stats *st,
		 int rc)
{
	struct vt_arc_state as = { .overdue_s = -1 };
	struct vt_metrics *m = NULL;
	struct vt_mfamily *f;
	char err[512];
	int have = 0;

	if (db && vt_arc_state_read(db, o->now, o->late_days, &as, err,
				    sizeof err) == 0)
		have = 1;
	else if (db)
		vt_warn("archive state: %s", err);
	vt_beat_set(b, "ok", rc < 0 ? 0 : 1);
	vt_beat_set(b, "days", st->days);
	vt_beat_set(b, "objects_written", st->objects_written);
	vt_beat_set(b, "verify_failed", st->verify_failed);
	if (have) {
		vt_beat_set(b, "overdue_s", (double)as.overdue_s);
		vt_beat_set(b, "objects", (double)as.objects);
	}
	if (!path)
		return;
	if (vt_metrics_new(&m) < 0) {
		vt_err("--metrics-file: out of memory");
		return;
	}
	gauge(m, "vantage_archiver_last_run_timestamp_seconds",
	      "When the last run ended (unix seconds).", (double)time(NULL));
	gauge(m, "vantage_archiver_last_run_success",
	      "1 when the last run archived everything due, 0 when it failed.",
	      rc < 0 ? 0 : 1);
	gauge(m, "vantage_archiver_days",
	      "Days the last run handled (archived, verified or expired).",
	      st->days);
	gauge(m, "vantage_archiver_objects_written",
	      "Objects the last run wrote.", st->objects_written);
	gauge(m, "vantage_archiver_results_archived",
	      "Results the last run archived.", (double)st->results_archived);
	f = vt_metrics_gauge(m, "vantage_archiver_bytes",
			     "Bytes the last run archived: raw JSON in, "
			     "bzip2 objects out.", "kind");
	vt_metrics_set(vt_metrics_series(f, "raw"), (double)st->raw_bytes);
	vt_metrics_set(vt_metrics_series(f, "stored"), (double)st->stored_bytes);
	gauge(m, "vantage_archiver_verify_failures",
	      "Objects of the last run that failed their read-back check "
	      "(rewritten by the next run).", st->verify_failed);
	gauge(m, "vantage_archiver_rows_expired",
	      "Hot rows the last run expired.", (double)st->rows_expired);
	if (have) {
		gauge(m, "vantage_archiver_oldest_unarchived_age_seconds",
		      "How long the oldest day past the late window has waited "
		      "for its archive (0: none waits).", (double)as.overdue_s);
		gauge(m, "vantage_archiver_objects",
		      "Archive objects held (not expired).", (double)as.objects);
		gauge(m, "vantage_archiver_objects_bytes",
		      "Bytes of the archive objects held.", (double)as.bytes);
	}
	if (vt_metrics_write_file(m, path, err, sizeof err) < 0)
		vt_err("--metrics-file: %s", err);
	vt_metrics_free(m);
}
