/* sched_cron.h - the timing and diff rules of the crontab scheduler
 * (PROTOCOL.md, "Crontab lines"), as pure functions of a line, the time
 * and a random number, so that they can be tested as data.
 *
 * Times are wall-clock microseconds since the epoch.  Slot k of a line is
 * due at T(k) = start + k * interval (seconds).  Its run time is drawn in
 * the slot's window:
 *
 *   UNIFORM s (s > 0):  [T(k) - s/2, T(k) + s/2]    (microsecond grain)
 *   NONE, or spread 0:  [T(k), T(k) + 1 s)          (random microseconds)
 *
 * intersected with [start, end] (nothing before start, nothing after end)
 * and with [now, ...) (a window that is already open runs in what is left
 * of it).  A run whose timer fires more than VT_SCHED_LATE_US after its
 * planned time is skipped. */
#ifndef VT_PROBE_SCHED_CRON_H
#define VT_PROBE_SCHED_CRON_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include "proto/crontab.h"

#define VT_SCHED_LATE_US (10LL * 1000000)   /* later than this: skipped */

/* The window of slot k of l: its earliest and latest possible run time
 * before clipping to start, end and now. */
void vt_sched_window(const struct vt_cron_line *l, long long k,
		     int64_t *lo_us, int64_t *hi_us);

/* Plans the next run of l: the first slot k >= min_k whose window has not
 * closed at now_us, with its run time drawn uniformly (from r) in the
 * clipped window.  Returns VT_OK with *k and *at_us, or VT_ENOTFOUND when
 * no run is left before the end. */
int vt_sched_plan(const struct vt_cron_line *l, long long min_k,
		  int64_t now_us, uint64_t r, long long *k,
		  int64_t *at_us) VT_WUR;

enum vt_sched_fire {
	VT_SCHED_FIRE_RUN = 0,      /* run it now */
	VT_SCHED_FIRE_LATE,         /* more than VT_SCHED_LATE_US late: skip */
	VT_SCHED_FIRE_PAST_END      /* now is after the line's end: stop */
};

/* What to do when the timer of a run planned at at_us fires at now_us. */
enum vt_sched_fire vt_sched_fire_check(const struct vt_cron_line *l,
				       int64_t at_us, int64_t now_us);

/* The diff of a re-sent crontab: for each new line i, match[i] is the
 * index of the old line it continues (same interval, start and command;
 * each old line continues at most one new line, first come first served),
 * or -1 for a new job.  Old lines no new line matched stop.  Returns
 * VT_OK or VT_ENOMEM. */
int vt_sched_diff(const struct vt_cron_line *const *old, size_t nold,
		  const struct vt_cron_line *const *cur, size_t ncur,
		  int *match) VT_WUR;

#endif
