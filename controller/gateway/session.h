/* session.h - one probe connection: an explicit state machine
 * (key exchange, authentication, open) with its channels (registration
 * INIT, controller INIT, KEEP, result sink, command push), driven by its own
 * ssh_event from the epoll loop of the thread that holds it (thread.h).
 *
 * Every call here is for the loop thread holding the session (or, for
 * the *_all and find calls, holding the sessions).  A session never waits
 * for the database (its requests go to the database threads, jobs.h and
 * come back to its thread's inbox); anything a peer does wrong ends that
 * session only. */
#ifndef VT_GW_SESSION_H
#define VT_GW_SESSION_H

#include <stdint.h>
#include "controller/gateway/gateway.h"
#include "controller/gateway/registry.h"

struct gw_session;
struct gw_thr;

/* Takes over the accepted socket fd (closed on failure too; counted in the
 * gateway's and t's sessions by the acceptor, uncounted on failure), starts
 * the non-blocking key exchange with t's host keys for the listener it
 * came from (role | GW_LISTEN_RSA) and watches fd.
 * from is the peer's address. */
int gw_session_start(struct gw_thr *t, int fd, int listener,
		     const char *from) VT_WUR;
/* Ends a session: closes its channels (failing pushes in flight), marks
 * the probe disconnected, disconnects and frees it. */
void gw_session_close(struct gw_session *s);
/* Ends every session of t. */
void gw_session_close_all(struct gw_thr *t);
/* Periodic work at mono time now: login grace, keepalive, dead peers,
 * push deadlines.  May close the session. */
void gw_session_tick(struct gw_session *s, int64_t now);
/* Runs the tick on every session of t. */
void gw_session_tick_all(struct gw_thr *t, int64_t now);
/* The session of t holding probe_id's KEEP with a remote forward, or NULL
 * (the registry says which thread holds it: O(1)). */
struct gw_session *gw_session_find(struct gw_thr *t, long probe_id);
/* Ends probe_id's session serial on t when it is still there (a newer
 * KEEP replaced it). */
void gw_session_drop(struct gw_thr *t, long probe_id, uint64_t serial);
/* Picks, from a controller host "v4,v6", the address of the family of from
 * (the probe's address); a single host is kept. */
void gw_pick_ctrl_host(char *host, size_t len, const char *from);
/* The session id of s (its controller session), "" before INIT/KEEP. */
const char *gw_session_sid(const struct gw_session *s);
/* The registry's note function (registry.h; arg: the struct gw_ctx): what
 * it changed goes to the database's control lane in its order. */
void gw_sess_reg_note(void *arg, enum gw_reg_change what, long probe_id,
		      const char *from, const char *bind);
/* Queues the probe's whole crontab for s (gw_db_crontabs_enqueue), claimed
 * for s when it can take a push now (gw_pushq_crontab). */
void gw_session_crontab(struct gw_session *s);
/* Queues probe_id's whole crontab for its session sid (any thread). */
struct gw_ctx;
void gw_crontab_note(struct gw_ctx *ctx, long probe_id, const char *sid);
/* 1 when s can take a push now (no push in flight, a channel free). */
int gw_session_can_push(const struct gw_session *s);
/* The probes held by t that can take a push now, at most max, into ids;
 * returns their count. */
int gw_sessions_pushable(struct gw_thr *t, long *ids, int max);
/* Starts delivering push push_id (batch text, copied) over a new
 * forwarded-tcpip channel.  VT_EAGAIN when a push is already in flight. */
int gw_session_push(struct gw_session *s, long push_id, const char *batch) VT_WUR;

#endif
