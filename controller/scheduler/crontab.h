/* crontab.h - a probe's assignments as a command batch (PROTOCOL.md,
 * "Command dialogue" and "Crontab lines"), for the gateway to push.
 *
 * The gateway calls vt_sched_probe_batch when a probe connects and when
 * NOTIFYed on channel vantage_crontab (payload: the probe id), adds its own
 * crons/main upload job (vt_jobs_upload) to the same batch, pushes it, and when the probe
 * answers OK calls vt_sched_oneoffs_delivered with the same now. */
#ifndef VT_SCHED_CRONTAB_H
#define VT_SCHED_CRONTAB_H

#include <stddef.h>
#include <libpq-fe.h>

#include "common/err.h"
#include "proto/dialogue.h"
#include "proto/probejobs.h"

#define VT_SCHED_CRONTAB VT_JOBS_MSM_CRONTAB
#define VT_SCHED_ONEOFF  VT_JOBS_ONEOFF
/* End time of a line whose measurement has no stop time. */
#define VT_SCHED_NO_END  2147483647LL

/* Adds to batch the crontab VT_SCHED_CRONTAB (always, so that an empty one
 * clears stopped lines) with one CRONLINE per active periodic assignment of
 * probe_id, ordered by measurement id:
 *   <interval> <start> <end> UNIFORM <spread> <command -A msm -O data/new/2>
 * then one ONEOFF line per one-off the probe has not acknowledged yet; those
 * are marked as offered at now (unix seconds).  A measurement whose
 * definition cannot be written as a line is left out.  Returns VT_OK, VT_EDB
 * (reason in errbuf) or an error of the batch (VT_ENOMEM, VT_EINVAL). */
int vt_sched_probe_batch(PGconn *db, long probe_id, long long now,
			 struct vt_dlg_batch *batch, char *errbuf,
			 size_t errlen) VT_WUR;

/* Marks the one-offs offered to probe_id by the batch built at now as
 * delivered (the probe answered OK): they are not sent again.  *n (when
 * not NULL) gets their number. */
int vt_sched_oneoffs_delivered(PGconn *db, long probe_id, long long now,
			       int *n, char *errbuf, size_t errlen) VT_WUR;

#endif
