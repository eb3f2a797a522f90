/* planner.h - the results planner: one measurement's stored results over a
 * time range and a set of probes, hot days (PostgreSQL `results`) and
 * archived days (the cold archive) in one stream in ascending
 * (timestamp, prb_id) order, each stored result once.  DESIGN.md data flow
 * 8; docs/archive.md, "Reading through the planner".
 *
 * How a request is read:
 * - It is split into UTC days.  A day with a verified archive object for
 *   the measurement is read from the archive, even while its hot rows are
 *   still kept (the safety margin): a verified object never changes or
 *   goes away, while those hot rows may be expired (deleted in one
 *   transaction) between two of our statements; both copies hold the same
 *   bytes.  Other days are read from `results` in keyset-paginated chunks
 *   in primary key order (probe, time, digest), one statement per chunk
 *   with the connection acquired and released around it; one more
 *   statement after the last chunk tells whether the day was expired
 *   meanwhile, and then the day is read from the archive instead.
 * - Archived days fetch only the segments that overlap the time range and
 *   hold the probes asked for, adjacent segments merged into one Range read
 *   (at most 4 MiB each), each segment checked against its index row
 *   (CRC, lengths, count) before any line of the day is handed out.
 * - The per-probe runs of a day (segments, or hot rows by probe) are merged
 *   with a k-way heap (storage/plan_merge.h).  A day is spooled before it
 *   is merged: in memory while small, otherwise in an unlinked temporary
 *   file in $TMPDIR (one day's raw bytes at most), so memory follows the
 *   number of probes of a day, never the length of the range.
 *
 * Threads: a plan is used by one thread at a time, and db->acquire and
 * db->release are only ever called on that thread (inside vt_plan_open and
 * vt_plan_next).  While one archived day is merged, a thread of the plan's
 * own fetches and decodes the next archived day from the store, so a
 * store must not be shared by plans that run at the same time (the HTTP
 * and S3 stores hold one libcurl handle): open one per plan (cheap).
 *
 * Nothing here logs or exits. */
#ifndef VT_PLANNER_H
#define VT_PLANNER_H

#include <stddef.h>
#include <libpq-fe.h>

#include "common/err.h"

struct vt_objstore;
struct vt_plan;

/* How the planner gets a database connection: it acquires one for each
 * statement (or short group of statements) and releases it right after, so
 * that a long stream never holds a pooled connection longer than a
 * statement. */
struct vt_plan_db {
	PGconn *(*acquire)(void *arg);          /* NULL: no connection (error) */
	void (*release)(void *arg, PGconn *c);
	void *arg;
};

struct vt_plan_query {
	long long msm_id;
	long long start, stop;          /* unix seconds, both inclusive; 0 / LLONG_MAX for open */
	const long long *probes;        /* NULL: all probes */
	size_t nprobes;
};

/* At most this many probe ids in a query (VT_ELIMIT beyond). */
#define VT_PLAN_PROBES_MAX 100000

/* Plans q: checks it (VT_EINVAL: msm_id <= 0, start > stop, a probe id
 * <= 0; VT_ELIMIT: too many probes) and finds the days to read (one or two
 * statements).  store may be NULL when no archive is configured: a day
 * that must be read from the archive is then an error (VT_EUNSUPP) when
 * the stream reaches it.  The plan copies q; db and store must outlive it.
 * On failure *out is NULL and errbuf says why. */
int vt_plan_open(struct vt_plan **out, const struct vt_plan_db *db,
		 struct vt_objstore *store, const struct vt_plan_query *q,
		 char *errbuf, size_t errlen) VT_WUR;

/* Next result, in ascending (timestamp, prb_id) order (equal keys: the
 * stored digest's order, as the archive keeps them).  *json points into
 * plan-owned memory valid until the next call (one JSON object, no
 * newline).  Returns 1 with a result, 0 at the end, a negative VT_E* code
 * on error (vt_plan_error says what, naming the object and segment for
 * archive errors: VT_ECORRUPT for an object that does not match its
 * index, VT_ENOTFOUND for a missing one).  After an error or the end, every
 * later call returns the same. */
int vt_plan_next(struct vt_plan *p, const char **json, size_t *len) VT_WUR;

/* Why the last call failed ("" when nothing did); owned by the plan. */
const char *vt_plan_error(const struct vt_plan *p);

/* What a plan has done so far (for tests and benches). */
struct vt_plan_stats {
	long long days_hot;         /* days read from `results` */
	long long days_archived;    /* days read from the archive */
	long long days_switched;    /* hot days expired while read, then read archived */
	long long statements;       /* statements sent */
	long long requests;         /* object store reads */
	long long segments;         /* archive segments decoded */
	long long results;          /* results handed out */
	long long spilled_days;     /* days spooled to a temporary file */
};
void vt_plan_stats(const struct vt_plan *p, struct vt_plan_stats *st);

/* Accepts NULL; stops all reading at once. */
void vt_plan_free(struct vt_plan *p);

/* For a process that streams through the planner, called once at start:
 * memory freed by one statement's result (a hot chunk of several MiB in
 * small blocks) or one segment's decoder (MiB) stays with the process for
 * the next instead of being returned and faulted in again each time. */
void vt_plan_tune_malloc(void);

#endif
