/* beat.h - a daemon's heartbeat row in the daemons table (migration 016),
 * read by `vantage status`.
 *
 * A thread of its own, with its own PostgreSQL connection, inserts the
 * row at start and refreshes last_seen and info every interval; the
 * daemon's threads only hand it numbers (vt_beat_set), so a slow or absent
 * database never holds a daemon up.  vt_beat_stop() marks the row
 * stopped (a clean end). */
#ifndef VT_BEAT_H
#define VT_BEAT_H

#include "common/err.h"

#define VT_BEAT_KEYS 16      /* numbers in info */

struct vt_beat;

/* Starts the heartbeat of a daemon of kind ("worker", ...), called name
 * (NULL: kind), every interval_s seconds; metrics is its --metrics
 * address or NULL.  conninfo is copied. */
int vt_beat_start(const char *conninfo, const char *kind, const char *name,
		  int interval_s, const char *metrics, struct vt_beat **out) VT_WUR;
/* Sets info.key to v (written at the next beat).  Any thread; NULL b is
 * fine; keys past VT_BEAT_KEYS are dropped. */
void vt_beat_set(struct vt_beat *b, const char *key, double v);
/* Writes the row now (the daemon did something worth showing at once). */
void vt_beat_now(struct vt_beat *b);
/* Writes the last numbers, marks the row stopped, ends the thread and
 * frees b (within a few seconds even when the database is away).  NULL is
 * fine. */
void vt_beat_stop(struct vt_beat *b);

#endif
