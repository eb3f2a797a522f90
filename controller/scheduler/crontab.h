/* crontab.h - a probe's assignments as a command batch (PROTOCOL.md,
 * "Command dialogue" and "Crontab lines"), for the gateway to push.
 *
 * The gateway calls vt_sched_probe_batch when a probe connects and when
 * NOTIFYed on channel vantage_crontab (payload: the probe id), adds its own
 * crons/main upload job (vt_jobs_upload) to the same batch and stores it as a push.  When
 * it claims the push it adds the probe's due one-offs with
 * vt_sched_oneoffs_add, in the claim's transaction; the push's end settles
 * them (storage/migrations/011_push_claims.sql). */
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

/* One-offs taken at most by one push (the batch stays well under the
 * gateway's 256 KiB; more wait for the next push). */
#define VT_SCHED_ONEOFFS_MAX 64
/* push_id of vt_sched_oneoffs_add: record them as delivered at once. */
#define VT_SCHED_ACK (-1L)

/* Adds to batch the crontab VT_SCHED_CRONTAB (always, so that an empty one
 * clears stopped lines) with one CRONLINE per active periodic assignment of
 * probe_id, ordered by measurement id:
 *   <interval> <start> <end> UNIFORM <spread> <command -A msm -O data/new/2>
 * (now: unix seconds, for the stop times).  A measurement whose definition
 * cannot be written as a line is left out.  Returns VT_OK, VT_EDB (reason
 * in errbuf) or an error of the batch (VT_ENOMEM, VT_EINVAL). */
int vt_sched_probe_batch(PGconn *db, long probe_id, long long now,
			 struct vt_dlg_batch *batch, char *errbuf,
			 size_t errlen) VT_WUR;

/* vt_sched_probe_batch for ids[0..n) at once (one query): batches[i] gets
 * the crontab of ids[i], each exactly as vt_sched_probe_batch makes it.  A
 * probe given twice gets its lines in each of its batches. */
int vt_sched_probes_batch(PGconn *db, const long *ids, int n, long long now,
			  struct vt_dlg_batch *const *batches, char *errbuf,
			  size_t errlen) VT_WUR;

/* Adds one ONEOFF line per one-off due to probe_id (assigned, Scheduled or
 * Ongoing, not delivered, held by no push), at most max, by measurement id;
 * *n gets the lines added.  push_id > 0: push push_id takes them
 * (assignments.push_id; run it in the transaction that claims the push, so
 * that no other push can take them), as vt_sched_oneoffs_take does.
 * VT_SCHED_ACK: they are recorded as delivered.  0: they are only shown.
 * A one-off whose definition cannot be written as a line is taken without
 * a line.  Returns as vt_sched_probe_batch. */
int vt_sched_oneoffs_add(PGconn *db, long probe_id, long push_id, int max,
			 struct vt_dlg_batch *batch, int *n, char *errbuf,
			 size_t errlen) VT_WUR;

/* vt_sched_oneoffs_add with push ids for n probes at once, in one
 * statement (a gateway claims a batch of crontab pushes together): probe
 * ids[i]'s due one-offs, at most max[i], are taken by push push_ids[i]
 * and added to batches[i], in measurement order; nout[i] gets their
 * number.  Entries with push_ids[i] <= 0 or max[i] <= 0 take none; a
 * probe given twice takes its one-offs only at its first entry.  Run it
 * in the transaction that claims the pushes.  Returns as
 * vt_sched_probe_batch. */
int vt_sched_oneoffs_take(PGconn *db, const long *ids, const long *push_ids,
			  const int *max, int n,
			  struct vt_dlg_batch *const *batches, int *nout,
			  char *errbuf, size_t errlen) VT_WUR;

#endif
