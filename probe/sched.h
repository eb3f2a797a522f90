/* sched.h - the probe's measurement scheduler: crontabs and one-offs of the
 * spool (probe/spool.h) run by the measurement engine
 * (probe/measure/measure.h) on the probe's event loop.  docs/probe-scheduler.md
 * tells the whole story; the timing rules are in probe/sched_cron.h.
 *
 * - Every file of <spool>/crons/ (but "oneoff" and names starting with '.')
 *   is a crontab.  The folder is watched (inotify, and re-read every
 *   rescan_ms in any case), so a crontab the link stores is picked up
 *   within moments; vt_sched_reload does the same on demand.
 * - A re-sent line equal in (interval, start, command) keeps its planned
 *   run and only takes the new end; lines that disappear stop (a running
 *   measurement finishes and its result is still written).
 * - httppost and condmv lines (the upload jobs of crons/main, parsed by
 *   probe/upjob.h) run on the same timing rules: condmv moves its source
 *   file of data/new into data/out, httppost calls opts.upload, which asks
 *   the link to post data/out now.  An upload job that does not parse is
 *   refused with a log line; so are other commands and bad lines.
 * - One-offs appended to <spool>/crons/oneoff (or given to vt_sched_oneoff)
 *   run at once, at most max_oneoffs together, the rest queued.
 * - Each result is appended as "RESULT <json>\n" to the file named by the
 *   command's -O (a /home/atlas/data/new/ path), by default
 *   data/new/<crontab name>, with O_APPEND and fsync.  Files are renamed
 *   into data/out under unique, time-ordered names, ready for upload: by
 *   the condmv job naming them, and every move_ms when no condmv job names
 *   them.
 * - A one-off's result goes to data/new/oneoff whatever its -O says, and
 *   moves to data/out and is uploaded (opts.upload) as soon as it is
 *   written, as the stock probe's one-off daemon posts its own: a client
 *   waiting for a one-off never waits for the next condmv.
 * - Fallback: when no condmv job has run for fallback_ms, every file of
 *   data/new moves every move_ms; when no httppost job has run for
 *   fallback_ms, opts.upload is called every move_ms.  Both are logged
 *   when they start and end, so results are never stranded by a missing
 *   or broken crons/main.
 * - Nothing here depends on the link: runs go on while the controller is
 *   unreachable, and results wait in data/out. */
#ifndef VT_PROBE_SCHED_H
#define VT_PROBE_SCHED_H

#include <stdint.h>
#include "common/err.h"

struct vt_loop;
struct vt_measure_ctx;
struct vt_spool;
struct vt_sched;

struct vt_sched_opts {
	/* wall clock in microseconds since the epoch; NULL: the system's */
	int64_t   (*now_us)(void *arg);
	void       *clock_arg;
	long        move_ms;        /* period of moving the files no condmv job
				     * names, and of the fallback; 0: 15000 */
	long        fallback_ms;    /* no condmv / httppost job for this long:
				     * move / upload alone; 0: 600000 */
	/* asks for an upload of data/out now (the httppost job); called on
	 * the scheduler's thread, so it must be safe to call from there.
	 * NULL: httppost jobs only count and log. */
	void      (*upload)(void *arg);
	void       *upload_arg;
	long        rescan_ms;      /* crons/ re-read period; 0: 10000 */
	int         max_oneoffs;    /* one-offs running at once; 0: 10 */
	int         max_queue;      /* one-offs waiting at most; 0: 10000 */
	uint64_t    seed;           /* random offsets; 0: from the system */
};

struct vt_sched_stats {
	long jobs;              /* crontab lines scheduled now */
	long ignored;           /* lines not run: other commands, bad lines */
	long runs;              /* measurements started from crontab lines */
	long late;              /* runs skipped for being over 10 s late */
	long busy;              /* runs skipped: the line's last run still going */
	long failed;            /* starts the engine refused */
	long results;           /* result lines written */
	long write_errors;      /* result lines that could not be written */
	long oneoffs;           /* one-offs started */
	long oneoffs_waiting;   /* one-offs queued now */
	long oneoffs_running;   /* one-offs running now */
	long moved;             /* files moved from data/new to data/out */
	long condmv_runs;       /* condmv jobs run */
	long httppost_runs;     /* httppost jobs run (uploads asked) */
	long fallback_uploads;  /* uploads asked by the fallback */
	long reloads;           /* crontab files (re)read */
};

/* Makes a scheduler on loop, starting measurements on mctx and using the
 * spool sp; all three are borrowed and must outlive the scheduler.  The
 * first reload happens from the loop right away.  opts may be NULL.
 * Returns VT_OK, VT_ENOMEM, VT_ETOOBIG (spool path too long) or VT_EIO. */
int vt_sched_new(struct vt_loop *loop, struct vt_measure_ctx *mctx,
		 struct vt_spool *sp, struct vt_sched **out) VT_WUR;
int vt_sched_new_opts(struct vt_loop *loop, struct vt_measure_ctx *mctx,
		      struct vt_spool *sp, const struct vt_sched_opts *opts,
		      struct vt_sched **out) VT_WUR;

/* Re-reads the crontabs of crons/ that changed (by inode, size, mtime)
 * and applies the diff; then takes the one-off file.  Returns VT_OK or
 * VT_EIO when crons/ cannot be read (the jobs are then left as they were). */
int vt_sched_reload(struct vt_sched *s) VT_WUR;

/* Queues one one-off command line (copied).  Returns VT_OK, VT_EPARSE or
 * VT_EUNSUPP when it is not a measurement command line, VT_ELIMIT when the
 * queue is full, VT_ENOMEM. */
int vt_sched_oneoff(struct vt_sched *s, const char *command) VT_WUR;

/* Moves every file of data/new to data/out now (also done by condmv jobs,
 * every move_ms for files no condmv job names, and by the fallback).
 * Returns the number of files moved, or VT_EIO. */
int vt_sched_flush(struct vt_sched *s) VT_WUR;

/* The same without a scheduler, on the spool sp (for vantage-probe --once;
 * not while a scheduler runs on sp in this process).  Returns the number of
 * files moved, VT_EIO or VT_ETOOBIG. */
int vt_sched_flush_spool(struct vt_spool *sp) VT_WUR;

/* Copies the counters. */
void vt_sched_get_stats(const struct vt_sched *s, struct vt_sched_stats *st);

/* Stops everything and frees s.  Free the measurement context first (it
 * drops running measurements without calling back), or free s only when
 * nothing runs: a callback arriving after this would find s gone.  NULL
 * is fine. */
void vt_sched_free(struct vt_sched *s);

#endif
