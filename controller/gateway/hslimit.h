/* hslimit.h - the gateway's handshake limit (docs/vantage-gateway.md,
 * "Reconnect storms"): how many connections may be in the SSH handshake
 * (accepted, not authenticated yet) at once, and the listen backlog.
 *
 * Once a second, when accepting met the limit meanwhile, the limit becomes
 * the handshakes completed that second times GW_HS_WINDOW_MS (at least
 * GW_HS_FLOOR per loop thread, at most --max-handshakes): an admitted
 * handshake ends within a few seconds however loaded the machine, inside a
 * client's patience.  Connections beyond it are accepted all the same and
 * wait parked (park.h), not in the kernel's listen queue.
 *
 * A handshake going on for GW_HS_STALE_MS uses no CPU (one that does ends
 * within the limit's few seconds): its client is silent or gone.  It then
 * leaves the adaptive limit's count (gw_hs_stale), still counted against
 * --max-handshakes until it ends (gw_hs_end_stale), so that silent clients
 * cannot hold the handshake limit until --login-grace.
 *
 * Ownership.  struct gw_hs is the one owner of these counters.  The
 * accepting thread (loop thread 0) alone calls gw_hs_full, gw_hs_admit,
 * gw_hs_pause and gw_hs_tick; gw_hs_end, gw_hs_stale, gw_hs_end_stale and
 * gw_hs_authed are called from any loop thread (atomics).  When accepting
 * waits (gw_hs_pause returned 1), exactly one later call of the resume
 * function (from any thread), or gw_hs_tick returning 1, says it may go
 * on. */
#ifndef VT_GW_HSLIMIT_H
#define VT_GW_HSLIMIT_H

#include <stdint.h>
#include "common/err.h"

#define GW_HS_WINDOW_MS  3000
#define GW_HS_FLOOR      16       /* per loop thread */
#define GW_HS_STALE_MS   10000
#define GW_BACKLOG_MIN   64
#define GW_BACKLOG_MAX   65535

struct gw_hs;
struct gw_metrics;

/* ---- the arithmetic (pure) ---- */

/* The lowest limit: GW_HS_FLOOR per thread, never above max. */
int gw_hs_floor(int threads, int max_handshakes);
/* The limit after done handshakes completed in ms (> 0) milliseconds:
 * done * GW_HS_WINDOW_MS / ms, within floor .. max. */
int gw_hs_next_limit(int64_t done, int64_t ms, int floor, int max);
/* The listen backlog for n connections (GW_BACKLOG_MIN ..
 * GW_BACKLOG_MAX; the kernel caps it at net.core.somaxconn). */
int gw_hs_backlog_of(int n);

/* ---- the state ---- */

/* Called (any thread) when a paused accept may go on. */
typedef void (*gw_hs_resume_fn)(void *arg);

/* A limit for threads loop threads and at most max_handshakes (> 0) in
 * the handshake; m (may be NULL) gets the gauges; now: mono ms. */
int gw_hs_new(int threads, int max_handshakes, struct gw_metrics *m,
	      gw_hs_resume_fn resume, void *arg, int64_t now,
	      struct gw_hs **out) VT_WUR;
void gw_hs_free(struct gw_hs *hs);

/* The adaptive limit in force now. */
int gw_hs_limit(const struct gw_hs *hs);
/* Accepting must wait: --max-handshakes in the handshake, or the adaptive
 * limit's worth of fresh ones (thread 0). */
int gw_hs_full(const struct gw_hs *hs);
/* An accepted connection entered the handshake (thread 0). */
void gw_hs_admit(struct gw_hs *hs);
/* Accepting met the limit (thread 0): 1 when it must wait for the resume
 * call, 0 when a handshake ended meanwhile and it may go on at once. */
int gw_hs_pause(struct gw_hs *hs);
/* Once a second (thread 0): the new limit from the handshakes completed
 * since the last tick.  Returns 1 when the limit rose while accepting
 * waited: it goes on now (the resume function is not called for this
 * pause). */
int gw_hs_tick(struct gw_hs *hs, int64_t now);

/* A connection left the handshake, fresh (gw_hs_end) or stale
 * (gw_hs_end_stale); one went stale (gw_hs_stale); one authenticated
 * (gw_hs_authed, counted for the rate).  Any thread. */
void gw_hs_end(struct gw_hs *hs);
void gw_hs_stale(struct gw_hs *hs);
void gw_hs_end_stale(struct gw_hs *hs);
void gw_hs_authed(struct gw_hs *hs);

#endif
