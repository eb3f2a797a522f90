/* worker.h - vantage-worker: moves uploaded results from result_queue into
 * results (partitioned by day), latest and rejected (DESIGN.md, data flow 6).
 *
 * Several workers may run at once: each claims a batch of queue rows (the
 * claims one at a time, under the claim lock) and handles it in one
 * transaction, so a worker that dies leaves its batch in the queue for
 * another. */
#ifndef VT_WORKER_H
#define VT_WORKER_H

#include <libpq-fe.h>
#include <stdint.h>
#include "common/err.h"

#define VT_LATE_WINDOW_DAYS 14

struct vt_worker_opts {
	int  batch;            /* queue rows per transaction */
	long batch_bytes;      /* and bytes of their lines (one row at least) */
	long late_window;      /* seconds a result may be late (14 days) */
	long future_slack;     /* seconds a result may be in the future */
	int  copy;             /* 1: results by COPY (INSERT ... ON CONFLICT
				* when a row is stored already); 0: INSERT */
	int  active;           /* at most this many workers of the database
				* work at once (each holds a seat: seat.h,
				* migration 035), and at most this many have
				* their backend work at once: a worker
				* holds one of N turns (migration 023,
				* vt_worker_turn_take) for its claim, and
				* again for its store through the COMMIT,
				* not while it parses and enriches; 0: no
				* limit.  Default: the cores of this machine */
};

/* Classes of rejection reasons (a bounded label set for metrics). */
enum vt_rej_class {
	VT_REJ_MALFORMED, VT_REJ_TOO_LATE, VT_REJ_FUTURE, VT_REJ_UNKNOWN_MSM,
	VT_REJ_NOT_ASSIGNED, VT_REJ_CANNOT_STORE, VT_REJ_OTHER, VT_REJ_CLASSES
};
/* The class of a rejected row's reason text, and the class's name
 * ("malformed", "too_late", ...). */
enum vt_rej_class vt_worker_rej_class(const char *reason);
const char *vt_worker_rej_name(enum vt_rej_class c);

struct vt_worker_stats {
	long claimed;          /* queue rows taken */
	long stored;           /* new rows in results */
	long duplicates;       /* already stored: not stored again */
	long rejected;         /* rows written to rejected */
	long rejected_by[VT_REJ_CLASSES]; /* the same by class of reason */
	long status_used;      /* probe status lines kept (uptime, addresses) */
	long status_other;     /* other probe status lines, counted only */
	long batches;          /* batches committed with at least one row */
	long copied;           /* of stored: by COPY (the others by INSERT) */
	long short_claims;     /* batches that took fewer rows than allowed:
				* the queue had no more (see WK_SHORT_PAUSE_MS) */
	long full_claims;      /* claims that looked from the queue's start
				* (struct vt_worker_cursor) */
	/* Where the time went (ns of CLOCK_MONOTONIC, all batches, also the
	 * failed ones): BEGIN with the wait for the claim's turn (migration
	 * 023), the wait for the store's turn, the claim statement, parsing and hashing the lines,
	 * the measurement and assignment lookups, enrichment, the results
	 * insert, the latest upsert, the rest of the store (partitions,
	 * savepoints, rejected, probe_status), and the COMMIT. */
	int64_t ns_turn, ns_turn_store, ns_claim, ns_parse, ns_lookup, ns_enrich, ns_results,
		ns_latest, ns_other, ns_commit;
	/* With two batches in flight (wkpipe.h): the time the claiming side
	 * waited for the previous batch's store to end (not in the sum of
	 * the others, which overlap then), and the batches claimed while
	 * another one was being stored. */
	int64_t ns_pipe_wait;
	long overlapped;
	/* Claims made after the previous batch's store had ended because no
	 * turn was spare for a second batch in flight (wkpipe.h). */
	long serial;
};

void vt_worker_opts_default(struct vt_worker_opts *o);

/* Where a worker's next claim starts looking (one per worker, zeroed to
 * start).  Deleted queue rows stay in result_queue's index until VACUUM,
 * and a claim that looks from the queue's start steps over all of them:
 * its cost grows with the rows drained since the last VACUUM (quadratic
 * in a burst; autovacuum wakes once a minute).  So a claim looks from the
 * queue's front, shared by the workers (migration 024: one past the
 * highest id any worker has claimed; rows committed meanwhile take higher
 * ids), and from the start only every WK_FULL_EVERY claims, after a
 * failed batch, and whenever the look from the front finds nothing: a row
 * with a lower id (an upload committed after a later one, a batch rolled
 * back) waits at most that many claims of each worker, and an empty claim
 * always means an empty queue.  A front of the worker's own (the end of
 * its previous claim) trailed the shared one by the batches the other
 * workers had claimed since, and each claim walked their dead rows: with
 * four workers a claim of 1,000 rows hit 10,000 buffers, against 7,800-
 * 8,900 with two and 8,000-8,200 from the shared front (docs/scaling.md).
 * The worker's own position is still used after a batch that batch_bytes
 * cut: the rows it locked and left lie below the shared front.
 *
 * front_only is for a worker that has just been woken (main.c): it looked
 * at the whole queue before it went to sleep, under its wake lock
 * (wake.h), and the rows that woke it mostly lie past the front.  Its
 * first claim looks there only; when that is empty it takes its wake
 * lock again and its last look before sleeping is from the start, as
 * always.  A look from the start steps over every row deleted since the
 * last VACUUM, so this spares one such look at each wake, and the workers
 * that a NOTIFY wakes for rows another of them takes are back asleep
 * after one look from the start instead of two. */
struct vt_worker_cursor {
	long long from;        /* first id to look at; 0: the start */
	int claims;            /* claims since the last look from the start */
	int own;               /* 1: look from from, not from the shared front */
	int front_only;        /* 1: the next claim looks from the shared front
				* only, and an empty look there ends it (the
				* cursor then at the start); see below */
};
#define WK_FULL_EVERY 16

/* Formats the time split of *st (one line, no newline) into buf. */
void vt_worker_stats_format(const struct vt_worker_stats *st, char *buf,
			    size_t len);

/* A worker whose claim came back short (the queue had fewer rows than a
 * batch) waits this long before its next claim, so that rows arriving
 * meanwhile make one batch instead of many small ones: every batch costs
 * a handful of statements and a commit whatever its size, and several
 * workers keeping up with an upload otherwise take batches of a few rows
 * each and spend the CPU the upload needs on them. */
#define WK_SHORT_PAUSE_MS 50

/* Handles one batch, claimed from where *cur says (NULL: the start; see
 * struct vt_worker_cursor), which it moves on.  *stats is added to.
 * Returns VT_OK (also when the queue was empty: stats->claimed
 * unchanged), or an error with the reason
 * in errbuf (the batch is rolled back and stays queued): the database's
 * own failures, or the worker's memory.  A row that makes the batch fail
 * by what it holds never does: it is found (the batch is halved under
 * savepoints until it is alone) and rejected with the error as reason. */
int vt_worker_batch(PGconn *db, const struct vt_worker_opts *o,
		    struct vt_worker_cursor *cur,
		    struct vt_worker_stats *stats, char *errbuf,
		    size_t errlen) VT_WUR;

/* The same batch in two steps, so that a worker can claim (and parse and
 * enrich) its next batch on a second connection while this one is stored
 * (wkpipe.h).  The claim and the store of one batch stay in one
 * transaction on one connection: a worker that dies between them leaves
 * the batch queued.
 *
 * vt_worker_claim: BEGIN, the claim (moving *cur on), parsing, lookups
 * and enrichment, on db.  *out is the open batch, or NULL when the queue
 * was empty (the transaction is committed) or on an error (rolled back;
 * the reason in errbuf).  spare 1: the claim's turn only if one is spare
 * (migration 033: no worker waits for a turn and one is free), without
 * waiting; VT_EAGAIN (nothing claimed, *cur unchanged) when none is.
 * The time of a batch that is not returned is added to *st.
 * vt_worker_store_turn: the store's turn (the first step of
 * vt_worker_store, which takes it itself when it was not called), so
 * that a caller can tell when the store holds its turn.
 * vt_worker_store: the store through its COMMIT (or the ROLLBACK of a
 * failure), on the batch's connection and nothing else: it may run in a
 * thread of its own while the caller claims on another connection.
 * vt_worker_finish: the outcome of a stored batch (its reason in errbuf),
 * added to *st and *cur; frees it.
 * vt_worker_abort: rolls a claimed batch back instead (it stays queued);
 * frees it. */
struct vt_worker_job;
int vt_worker_claim(PGconn *db, const struct vt_worker_opts *o,
		    struct vt_worker_cursor *cur, int spare,
		    struct vt_worker_stats *st, struct vt_worker_job **out,
		    char *errbuf, size_t errlen) VT_WUR;
void vt_worker_store_turn(struct vt_worker_job *j,
			  const struct vt_worker_opts *o);
void vt_worker_store(struct vt_worker_job *j, const struct vt_worker_opts *o);
int vt_worker_finish(struct vt_worker_job *j, struct vt_worker_cursor *cur,
		     struct vt_worker_stats *st, char *errbuf,
		     size_t errlen) VT_WUR;
void vt_worker_abort(struct vt_worker_job *j, struct vt_worker_cursor *cur,
		     struct vt_worker_stats *st);
/* The rows a claimed batch holds; 1 when its claim came back short; its
 * connection. */
int vt_worker_job_rows(const struct vt_worker_job *j);
int vt_worker_job_short(const struct vt_worker_job *j);
PGconn *vt_worker_job_db(const struct vt_worker_job *j);

/* Makes sure the results partition of the UTC day holding ts exists. */
int vt_worker_partition(PGconn *db, long long ts, char *errbuf,
			size_t errlen) VT_WUR;

#endif
