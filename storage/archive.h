/* archive.h - the cold archive: the archiver (hot rows of a day past the
 * late window -> one object per measurement-day plus its index, verify,
 * expire) and the reader (index lookup, merged Range reads, checked
 * decoding).  DESIGN.md data flow 7 and 8; docs/archive.md.
 *
 * Both take a libpq connection and an object store owned by the caller.
 * Nothing here logs or exits: progress goes to the event callback, errors
 * come back as VT_E* codes with a reason in errbuf. */
#ifndef VT_ARCHIVE_H
#define VT_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "common/err.h"
#include "storage/objstore.h"

#define VT_ARC_LATE_DAYS   14   /* results are accepted this late */
#define VT_ARC_MARGIN_DAYS 14   /* hot rows stay this much longer */

struct vt_arc_opts {
	int64_t     now;          /* unix seconds the archiver takes as "now" */
	int         late_days;    /* archive days older than this */
	int         margin_days;  /* expire hot rows this much later */
	int         threads;      /* compression threads (>= 1) */
	int         dry_run;      /* report what would be done, change nothing */
	const char *day;          /* "YYYY-MM-DD": this day only; NULL: all due */
	/* Called at named points: "info" (msg is a progress line) and the
	 * points tests stop at: "after-put", "after-index", "during-verify",
	 * "during-expiry", "after-expiry". */
	void      (*event)(void *arg, const char *point, const char *msg);
	void       *arg;
};

struct vt_arc_stats {
	int      days;
	int      objects_written;
	int      objects_verified;
	int      objects_expired;
	int      partitions_dropped;
	int      verify_failed;       /* objects that failed their check */
	int64_t  results_archived;
	int64_t  rows_expired;
	int64_t  raw_bytes;
	int64_t  stored_bytes;
};

/* Fills o with the defaults (now = the wall clock, 14 + 14 days, 2
 * threads). */
void vt_arc_opts_init(struct vt_arc_opts *o);

/* Archives, verifies and expires every due day (or o->day).  Idempotent:
 * a rerun after a crash at any point finishes the work with one copy of
 * each object.  Takes an advisory lock so that one archiver runs at a
 * time (VT_EAGAIN when another holds it).  stats may be NULL. */
int vt_archive_run(PGconn *db, struct vt_objstore *st,
		   const struct vt_arc_opts *o, struct vt_arc_stats *stats,
		   char *errbuf, size_t errlen) VT_WUR;

/* A read of one measurement-day from the archive. */
struct vt_arc_query {
	int64_t     msm_id;
	const char *day;          /* "YYYY-MM-DD" */
	int64_t     prb_id;       /* 0: every probe */
	int64_t     start;        /* keep results with start <= timestamp <= stop */
	int64_t     stop;
};

/* What a read did (for tests and benches). */
struct vt_arc_read_stats {
	int      segments;        /* segments decoded */
	int      requests;        /* range reads sent */
	uint64_t bytes;           /* compressed bytes fetched */
	int64_t  results;         /* lines handed to the callback */
};

/* Called with each result line (without '\n'); non-zero stops the read
 * and is returned. */
typedef int (*vt_arc_line_fn)(void *arg, const char *line, size_t len);

/* Reads the results of q from verified archive objects, in archive order
 * (by probe, then time), fetching only the segments needed with adjacent
 * ones merged into one range, each checked against its index row.
 * VT_ENOTFOUND when the day of that measurement is not archived;
 * VT_ECORRUPT (errbuf names the object and segment) when the object does
 * not match its index: no line of a bad segment is handed out. */
int vt_archive_get(PGconn *db, struct vt_objstore *st,
		   const struct vt_arc_query *q, vt_arc_line_fn fn, void *arg,
		   struct vt_arc_read_stats *stats, char *errbuf,
		   size_t errlen) VT_WUR;

/* Runs fn(arg) on up to `threads` threads (this one included, 16 at most)
 * for n items of work that fn takes from a shared counter; returns when
 * all are done. */
void vt_arc_run_threads(void *(*fn)(void *), void *arg, int threads, size_t n);

/* Parses "YYYY-MM-DD" to days since 1970-01-01.  VT_EPARSE when bad. */
int vt_arc_day_parse(const char *s, int64_t *days) VT_WUR;
/* Formats days since 1970-01-01 as "YYYY-MM-DD" (buf of 11 bytes or more). */
void vt_arc_day_fmt(int64_t days, char *buf, size_t len);

#endif
