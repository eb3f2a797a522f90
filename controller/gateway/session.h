/* session.h - one probe connection: an explicit state machine
 * (key exchange, authentication, open) with its channels (registration
 * INIT, controller INIT, KEEP, result sink, command push), driven by its own
 * ssh_event from the gateway's epoll loop.
 *
 * A session never waits for the database (its requests go to the database
 * threads, jobs.h); anything a peer does wrong ends that session only. */
#ifndef VT_GW_SESSION_H
#define VT_GW_SESSION_H

#include <stdint.h>
#include "controller/gateway/gateway.h"

struct gw_session;

/* Takes over the accepted socket fd (closed on failure too), starts the
 * non-blocking key exchange with the host keys of bind and watches fd.
 * from is the peer's address. */
int gw_session_start(struct gw *gw, int fd, enum gw_role role, ssh_bind bind,
		     const char *from) VT_WUR;
/* Ends a session: closes its channels (failing pushes in flight), marks
 * the probe disconnected, disconnects and frees it. */
void gw_session_close(struct gw_session *s);
/* Ends every session of gw. */
void gw_session_close_all(struct gw *gw);
/* Periodic work at mono time now: login grace, keepalive, dead peers,
 * push deadlines.  May close the session. */
void gw_session_tick(struct gw_session *s, int64_t now);
/* Runs the tick on every session. */
void gw_session_tick_all(struct gw *gw, int64_t now);
/* The session holding probe_id's KEEP with a remote forward, or NULL. */
struct gw_session *gw_session_find(struct gw *gw, long probe_id);
/* Picks, from a controller host "v4,v6", the address of the family of from
 * (the probe's address); a single host is kept. */
void gw_pick_ctrl_host(char *host, size_t len, const char *from);
/* Fills out[] (at most max) with the KEEP sessions gw holds, as the
 * database records them; returns how many. */
int gw_sessions_live(const struct gw *gw, struct gw_db_live *out, int max);
/* The session id of s (its controller session), "" before INIT/KEEP. */
const char *gw_session_sid(const struct gw_session *s);
/* Queues the probe's whole crontab for s (gw_db_crontab_enqueue). */
void gw_session_crontab(struct gw_session *s);
/* Queues the crontab of every probe whose KEEP is held here. */
void gw_session_crontab_all(struct gw *gw);
/* 1 when s can take a push now (no push in flight, a channel free). */
int gw_session_can_push(const struct gw_session *s);
/* The probes held here (gw_session_find) that can take a push now, at most
 * max, into ids; returns their count. */
int gw_sessions_pushable(struct gw *gw, long *ids, int max);
/* Claims pending push push_id for s on a database thread; once claimed it
 * is delivered (gw_session_push), or put back when s went away. */
void gw_session_claim(struct gw_session *s, long push_id);
/* Records the outcome of push push_id (a database request). */
void gw_note_push_done(struct gw *gw, long push_id, int ok, const char *outcome);
/* Starts delivering push push_id (batch text, copied) over a new
 * forwarded-tcpip channel.  VT_EAGAIN when a push is already in flight. */
int gw_session_push(struct gw_session *s, long push_id, const char *batch) VT_WUR;

#endif
