/* drain.h - a gateway that moves its probes elsewhere on purpose
 * (maintenance, rebalancing), as RIPE Atlas's controllers do: it writes on
 * a probe's KEEP channel, and a probe that reads anything on KEEP registers
 * again (FORCE_REG, PROTOCOL.md "Controller INIT and KEEP"), where
 * registration no longer chooses a draining gateway.
 *
 * `vantage gateway drain NAME --rate N` sets gateways.draining and
 * drain_rate; the gateway reads them in its periodic pass (every
 * GW_DRAIN_POLL_MS) and then sends its KEEP sessions away one at a time,
 * at most N a second (kicks spaced by gw_pace_take), so that a drain does
 * not make a herd of its own.  Every kick is recorded in
 * gateway_drain_kicks with the gateway's monotonic clock.  The same pass
 * forgets registration choices whose probe never connected
 * (vt_gateway_assign_expire).
 *
 * The module is owned by struct gw and runs on loop thread 0 (its sweep
 * and its timer); its database work goes through the gateway's dbq.  It
 * picks the sessions to send away in the session registry (registry.h)
 * and never touches one: the loop thread holding it gets a message
 * (gw_thr_drain, thread.h) and writes on KEEP itself
 * (gw_drain_session). */
#ifndef VT_GW_DRAIN_H
#define VT_GW_DRAIN_H

#include <stdint.h>
#include "common/err.h"

#define GW_DRAIN_POLL_MS     1000    /* draining flag read this often */
#define GW_ASSIGN_EXPIRE_MS  30000   /* stale choices forgotten this often */
#define GW_ASSIGN_AGE_S      120     /* a choice not followed by KEEP: stale */
#define GW_DRAIN_TEXT        "DRAIN\n"   /* written on KEEP */

/* Pacing of kicks: at most rate a second, each at least
 * ceil(1000 / rate) ms after the one before.  Pure; zeroed is "no kick
 * yet". */
struct gw_pace {
	int64_t last_ms;      /* mono ms of the last kick */
	int     any;          /* a kick was taken */
};
/* The spacing for rate (>= 1) kicks a second, in ms (at least 1). */
int64_t gw_pace_interval(int rate);
/* 1 when a kick may go at mono time now (it is booked), else 0 with
 * *wait_ms (may be NULL) the time until one may. */
int gw_pace_take(struct gw_pace *p, int rate, int64_t now, int64_t *wait_ms);

struct gw_ctx;
struct gw_thr;
struct gw_drain;

/* A drain of ctx's gateway, run on home (loop thread 0). */
int gw_drain_new(struct gw_ctx *ctx, struct gw_thr *home,
		 struct gw_drain **out) VT_WUR;
/* After the loop threads are freed (the done functions of its jobs have
 * run).  NULL is fine. */
void gw_drain_free(struct gw_drain *d);
/* The periodic pass, from home's sweep (mono time now). */
void gw_drain_tick(struct gw_drain *d, int64_t now);
/* 1 while the database says this gateway drains. */
int gw_drain_active(const struct gw_drain *d);
/* On t, the loop thread holding it: writes on the KEEP of probe_id's
 * session serial (gone meanwhile: nothing). */
void gw_drain_session(struct gw_thr *t, long probe_id, uint64_t serial);

#endif
