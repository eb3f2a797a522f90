/* sched_int.h - what the parts of the probe's scheduler share (sched.c:
 * crontab jobs, reload and loop glue; sched_upjob.c: condmv and httppost
 * jobs and the fallback; sched_result.c: result files and data/new ->
 * data/out; sched_oneoff.c: one-offs).  Not for other modules:
 * probe/sched.h is the interface. */
#ifndef VT_PROBE_SCHED_INT_H
#define VT_PROBE_SCHED_INT_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "probe/sched.h"
#include "probe/sched_cron.h"
#include "probe/upjob.h"

struct vt_cmdline;

#define CRONTAB_MAX   (4 * 1024 * 1024)   /* bytes of one crontab file */
#define ONEOFF_MAX    (4 * 1024 * 1024)   /* bytes of one one-off file */
#define ONEOFF_NAME   "oneoff"
#define TAKEN_PREFIX  ".oneoff."
#define TAKEN_SETTLE  1000                /* ms before a taken file is done */
#define KICK_MS       20                  /* delay after a crons/ change */
#define DIR_MAX       3200                /* spool folders (the root is < 3072) */

/* One crontab line being scheduled. */
struct job {
	struct job          *next;
	struct vt_sched     *s;
	struct crontab      *ct;        /* NULL once removed (orphan) */
	struct vt_cron_line  line;
	char                *out_path;  /* absolute result file */
	struct vt_upjob     *up;        /* condmv / httppost job, else NULL */
	long long            k;         /* slot of the planned run */
	int64_t              at_us;     /* its planned time */
	int64_t              last_s;    /* second the last run started (0: none) */
	uint64_t             timer;     /* 0: no run planned */
	int                  running;
	int                  ended;     /* no run left before the end */
};

/* One file of crons/. */
struct crontab {
	struct crontab  *next;
	char             name[256];
	dev_t            dev;
	ino_t            ino;
	off_t            size;
	struct timespec  mtime;
	struct job      *jobs;
	int              seen;
};

struct oneoff {
	struct oneoff   *next;
	struct vt_sched *s;
	char             cmd[];
};

/* A one-off file taken by renaming it away; drained again after
 * TAKEN_SETTLE, in case a writer that had it open appended late. */
struct taken {
	struct taken *next;
	char          name[64];
	size_t        off;          /* bytes of complete lines consumed */
	int64_t       since_ms;     /* monotonic time it was taken */
};

struct vt_sched {
	struct vt_loop         *loop;
	struct vt_measure_ctx  *mctx;
	struct vt_spool        *sp;
	struct vt_sched_opts    o;
	struct crontab         *crontabs;
	struct job             *orphans;
	struct oneoff          *q_head, *q_tail, *running;
	struct taken           *taken;
	int                     ino_fd;
	uint64_t                kick_timer, rescan_timer, move_timer;
	int64_t                 last_condmv_ms;   /* monotonic: last condmv run */
	int64_t                 last_httppost_ms; /* ... last httppost run */
	int                     move_fallback;    /* moving alone now */
	int                     upload_fallback;  /* uploading alone now */
	uint64_t                rng;
	unsigned                seq;
	struct vt_sched_stats   st;
	char                    crons_dir[DIR_MAX];
	char                    new_dir[DIR_MAX];
	char                    out_dir[DIR_MAX];
	char                    oneoff_path[DIR_MAX + sizeof ONEOFF_NAME];
					/* data/new/oneoff: every one-off's
					 * result, whatever its -O says */
};

/* Wall clock of s in microseconds since the epoch (opts.now_us or the
 * system's). */
int64_t vt_sched_now_us(const struct vt_sched *s);

/* Appends "RESULT <json>\n" of msm_id to path in one write and fsyncs;
 * counts it (results or write_errors) and logs a failure. */
void vt_sched_write_result(struct vt_sched *s, const char *path, long msm_id,
			   const char *json);

/* The result file of a command: its -O when that is a plain file of
 * /home/atlas/data/new/, else (or with c NULL) data/new/<def>.  Returns a
 * new string (the caller frees it), NULL when out of memory or too long. */
char *vt_sched_out_path(struct vt_sched *s, const struct vt_cmdline *c,
			const char *def);

/* Runs the condmv or httppost job j now (from its timer). */
void vt_sched_upjob_run(struct vt_sched *s, struct job *j);

/* The move_ms tick: moves the files no condmv job names, and runs the
 * fallback when due. */
void vt_sched_upjob_tick(struct vt_sched *s);

/* Moves the file (or every file) of data/new that condmv job up names to
 * data/out.  Returns the number moved, or VT_EIO. */
int vt_sched_condmv(struct vt_sched *s, const struct vt_upjob *up);

/* Moves the files of data/new that no condmv job names.  Returns the
 * number moved, or VT_EIO. */
int vt_sched_move_unclaimed(struct vt_sched *s);

/* Moves data/new/<name> to data/out and asks the link for an upload now
 * (one-off results).  Returns the number moved, or VT_EIO. */
int vt_sched_post_now(struct vt_sched *s, const char *name);

/* Remembers a taken one-off file name (since_ms: monotonic time it was
 * taken, 0 for one left by an earlier run).  VT_OK or VT_ENOMEM. */
int vt_sched_taken_add(struct vt_sched *s, const char *name, int64_t since_ms);

/* Finishes taken one-off files that settled, then takes crons/oneoff and
 * queues its lines. */
void vt_sched_oneoffs_check(struct vt_sched *s);

/* Frees the one-off queue, the running one-offs' records and the taken
 * file list (the engine must not call back for them any more). */
void vt_sched_oneoffs_free(struct vt_sched *s);

#endif
