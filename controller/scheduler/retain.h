/* retain.h - how long vantage-scheduler keeps the history of command
 * pushes (probe_pushes, storage/migrations/002, 005, 011).
 *
 * The gateway writes a probe_pushes row for every crontab it pushes (each
 * connect, each assignment change) and for every `vantage probe push`; a
 * row that ended (ok, failed, expired) is history only.  The scheduler
 * deletes history older than its retention, in batches, and never touches
 * a push that is pending or sending, nor each probe's newest push of each
 * kind (crontab, manual), so that "what did this probe get last" always
 * has an answer. */
#ifndef VT_SCHED_RETAIN_H
#define VT_SCHED_RETAIN_H

#include <stddef.h>
#include <libpq-fe.h>

#include "common/err.h"

#define VT_PUSH_HISTORY_DAYS   30      /* default retention */
#define VT_PUSH_PRUNE_EVERY_S  600     /* a running scheduler prunes this often */
#define VT_PUSH_PRUNE_BATCH    5000    /* rows per DELETE (one transaction) */

/* Deletes the pushes that ended more than keep_s seconds before now
 * (unix seconds) and are not their probe's newest of their kind, at most
 * VT_PUSH_PRUNE_BATCH rows a statement, until none is left or max_rows
 * went (0: no limit).  *deleted (may be NULL) counts the rows.  VT_OK or
 * VT_EDB with the reason in errbuf; the batches before a failure stay
 * deleted. */
int vt_sched_prune_pushes(PGconn *db, long long now, long long keep_s,
			  long max_rows, long *deleted, char *errbuf,
			  size_t errlen) VT_WUR;

#endif
