/* evloop.h - a small event loop around epoll, with one-shot timers.
 *
 * One loop per thread.  Callbacks run on the loop's thread; a callback may
 * add or remove any fd or timer, including its own. */
#ifndef VT_EVLOOP_H
#define VT_EVLOOP_H

#include <signal.h>
#include <stdint.h>
#include "err.h"

#define VT_EV_READ  0x1
#define VT_EV_WRITE 0x2
#define VT_EV_ERROR 0x4   /* reported only: hang-up or error on the fd */

struct vt_loop;

typedef void (*vt_fd_cb)(struct vt_loop *loop, int fd, int events, void *arg);
typedef void (*vt_timer_cb)(struct vt_loop *loop, void *arg);

int vt_loop_new(struct vt_loop **out) VT_WUR;
void vt_loop_free(struct vt_loop *loop);

/* Watches fd for events (VT_EV_READ|VT_EV_WRITE).  At most one watch per fd.
 * Events are matched to the watch, not to the fd number: once removed, a
 * watch gets no event still pending for it, even when a new watch reuses
 * the fd number in the same round.  events 0 pauses the watch. */
int vt_loop_add(struct vt_loop *loop, int fd, int events, vt_fd_cb cb,
		void *arg) VT_WUR;
/* Changes the events watched on fd. */
int vt_loop_mod(struct vt_loop *loop, int fd, int events) VT_WUR;
/* Stops watching fd (does not close it).  Unknown fds are ignored. */
void vt_loop_del(struct vt_loop *loop, int fd);

/* Calls cb once after ms milliseconds.  Returns a timer id > 0 in *id. */
int vt_loop_timer(struct vt_loop *loop, int64_t ms, vt_timer_cb cb,
		  void *arg, uint64_t *id) VT_WUR;
/* Cancels a pending timer; ids that already fired are ignored. */
void vt_loop_timer_cancel(struct vt_loop *loop, uint64_t id);

/* Also ends vt_loop_run once *flag is non-zero: a flag a signal handler
 * sets, checked after every round (a signal interrupts epoll_wait when it
 * is delivered to the loop's thread; otherwise the next event or timer
 * ends the round).  NULL: none. */
void vt_loop_watch_flag(struct vt_loop *loop, volatile sig_atomic_t *flag);
/* Runs until vt_loop_stop() is called.  Returns 0 or a VT_E* code. */
int vt_loop_run(struct vt_loop *loop);
/* Runs one round: waits at most max_ms (-1: until an event or timer). */
int vt_loop_once(struct vt_loop *loop, int max_ms);
/* Ends vt_loop_run after the current round.  Only stores a flag of type
 * volatile sig_atomic_t, so a signal handler may call it (the loop notices
 * when epoll_wait is interrupted, or at its next event or timer). */
void vt_loop_stop(struct vt_loop *loop);

#endif
