/* thread.h - the gateway's loop threads.  Each has its own epoll loop, its
 * own inbox and host-key binds, and holds the sessions handed to it from
 * their first byte to their end: a session never moves, and nothing about
 * it depends on which thread holds it.  Thread 0 runs on the caller of
 * gw_run (it also accepts, and does the gateway-wide duties through its
 * sweep hook); threads 1..N-1 are pthreads.
 *
 * The calls marked "any thread" post a message to the thread's inbox; the
 * others are for the owning thread. */
#ifndef VT_GW_THREAD_H
#define VT_GW_THREAD_H

#include <stdint.h>
#include "controller/gateway/gw_int.h"

#define GW_SWEEP_MS 1000

/* A loop thread of ctx (loop, inbox, binds of the host keys in folder
 * keys), not running yet. */
int gw_thr_new(struct gw_ctx *ctx, int idx, const char *keys,
	       struct gw_thr **out, char *err, size_t errlen) VT_WUR;
/* Closes the sessions still held, runs the inbox's last messages and frees
 * (the thread has ended).  NULL is fine. */
void gw_thr_free(struct gw_thr *t);
/* Arms the sweep timer (every thread, before it runs). */
int gw_thr_arm(struct gw_thr *t) VT_WUR;
/* Runs t's loop on a new pthread (idx > 0). */
int gw_thr_start(struct gw_thr *t) VT_WUR;
/* Asks t's loop to end (any thread); gw_thr_join waits for it. */
void gw_thr_stop(struct gw_thr *t);
void gw_thr_join(struct gw_thr *t);

/* Hands a socket accepted on listener (role | GW_LISTEN_RSA, taken over)
 * to t, which starts its session (any thread). */
void gw_thr_hand(struct gw_thr *t, int fd, int listener, const char *from);
/* Asks t to drop probe_id's session serial (replaced by a newer KEEP) (any
 * thread). */
void gw_thr_drop(struct gw_thr *t, long probe_id, uint64_t serial);
/* Asks t to write on the KEEP of probe_id's session serial: a drain sends
 * it away (drain.h) (any thread). */
void gw_thr_drain(struct gw_thr *t, long probe_id, uint64_t serial);
/* Asks t for a push scan soon (any thread). */
void gw_thr_kick(struct gw_thr *t);
/* Asks t for a push scan soon of probe_id's KEEP holder
 * (gw_pushq_kick_probe) (any thread). */
void gw_thr_kick_probe(struct gw_thr *t, long probe_id);
/* Sessions handed to t and not ended (any thread). */
int gw_thr_load(struct gw_thr *t);

#endif
