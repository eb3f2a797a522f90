/* pushq.h - the push path of one loop thread: pending pushes
 * (probe_pushes, `vantage probe push`) are read for the probes whose KEEP
 * this thread holds and that can take one now, claimed on the database
 * (one gateway, one delivery), delivered over a forwarded-tcpip channel
 * (push.h speaks the dialogue) and their outcome recorded.
 *
 * Each loop thread scans for its own sessions (at most one scan in flight
 * per thread): for all of them every GW_PUSH_SCAN_MS and on NOTIFY, for
 * those kicked (a KEEP, a forward, a push or claim that ended) soon after
 * the kick; so a push always reaches the thread holding its session.
 * Owning thread only. */
#ifndef VT_GW_PUSHQ_H
#define VT_GW_PUSHQ_H

#include <stdint.h>

#define GW_PUSH_SCAN_MS 5000

struct gw_thr;
struct gw_ctx;
struct gw_session;

/* A scan soon of s's probe: a KEEP or forward came, or s's last push or
 * claim ended. */
void gw_pushq_kick(struct gw_session *s);
/* A scan soon of probe_id's KEEP holder, on whichever thread holds it
 * (gw_thr_kick_probe hands it over): a push of the probe went back to
 * pending. */
void gw_pushq_kick_probe(struct gw_thr *t, long probe_id);
/* A scan now (NOTIFY said pushes wait). */
void gw_pushq_now(struct gw_thr *t);
/* The sweep's part: a scan when kicked or due. */
void gw_pushq_sweep(struct gw_thr *t, int64_t now);
/* Claims push push_id for s; once claimed it is delivered
 * (gw_session_push), or put back when s went away. */
void gw_session_claim(struct gw_session *s, long push_id);
/* Queues s's crontab as a push claimed for s in the same statement
 * (gw_db_crontabs_enqueue) and delivers it once the database answered:
 * no scan and no claim of its own.  VT_EAGAIN when s cannot take a push
 * now (no forward yet, one in flight): the caller queues it pending. */
int gw_pushq_crontab(struct gw_session *s);
/* Records the outcome of push push_id (a database request). */
void gw_note_push_done(struct gw_ctx *ctx, long push_id, int ok,
		       const char *outcome);

#endif
