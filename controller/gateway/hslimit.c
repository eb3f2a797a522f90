/* hslimit.c - the gateway's handshake limit (see hslimit.h). */
#include "controller/gateway/hslimit.h"

#include <stdlib.h>

#include "common/log.h"
#include "controller/gateway/gwmetrics.h"

struct gw_hs {
	int                max;      /* --max-handshakes */
	int                floor;
	struct gw_metrics *m;
	gw_hs_resume_fn    resume;
	void              *arg;
	/* atomic, any thread: */
	int                n;        /* in the handshake */
	int                fresh;    /* of them, for less than GW_HS_STALE_MS */
	int                paused;   /* accepting waits for a handshake to end */
	int                limit;    /* fresh ones at most, now */
	uint64_t           authed;   /* handshakes completed */
	/* thread 0's alone: */
	int                busy;     /* accepting met the limit this second */
	int                peak;     /* the most in the handshake at once */
	uint64_t           seen;     /* authed at the last tick */
	int64_t            tick;     /* mono ms of the last tick */
};

int gw_hs_floor(int threads, int max_handshakes)
{
	int f = GW_HS_FLOOR * (threads > 0 ? threads : 1);

	return f < max_handshakes ? f : max_handshakes;
}

int gw_hs_next_limit(int64_t done, int64_t ms, int floor, int max)
{
	int64_t want = ms > 0 && done > 0 ? done * GW_HS_WINDOW_MS / ms : 0;

	if (want > max)
		return max;
	return want < floor ? floor : (int)want;
}

int gw_hs_backlog_of(int n)
{
	if (n < GW_BACKLOG_MIN)
		return GW_BACKLOG_MIN;
	return n > GW_BACKLOG_MAX ? GW_BACKLOG_MAX : n;
}

int gw_hs_new(int threads, int max_handshakes, struct gw_metrics *m,
	      gw_hs_resume_fn resume, void *arg, int64_t now,
	      struct gw_hs **out)
{
	struct gw_hs *hs = calloc(1, sizeof *hs);

	*out = NULL;
	if (!hs)
		return VT_ENOMEM;
	hs->max = max_handshakes > 0 ? max_handshakes : 1;
	hs->floor = gw_hs_floor(threads, hs->max);
	hs->m = m;
	hs->resume = resume;
	hs->arg = arg;
	/* In the handshake: the floor until the first second measured. */
	hs->limit = hs->floor;
	hs->tick = now;
	*out = hs;
	return VT_OK;
}

void gw_hs_free(struct gw_hs *hs)
{
	free(hs);
}

int gw_hs_limit(const struct gw_hs *hs)
{
	return __atomic_load_n(&hs->limit, __ATOMIC_SEQ_CST);
}

int gw_hs_full(const struct gw_hs *hs)
{
	return __atomic_load_n(&hs->n, __ATOMIC_SEQ_CST) >= hs->max ||
	       __atomic_load_n(&hs->fresh, __ATOMIC_SEQ_CST) >=
	       __atomic_load_n(&hs->limit, __ATOMIC_SEQ_CST);
}

void gw_hs_admit(struct gw_hs *hs)
{
	int held;

	__atomic_add_fetch(&hs->fresh, 1, __ATOMIC_SEQ_CST);
	held = __atomic_add_fetch(&hs->n, 1, __ATOMIC_SEQ_CST);
	gw_m_handshaking(hs->m, 1);
	if (held > hs->peak)
		gw_m_hs_peak(hs->m, hs->peak = held);
}

/* At most one resume is in flight: only the thread that turns paused from
 * 1 to 0 calls it. */
int gw_hs_pause(struct gw_hs *hs)
{
	hs->busy = 1;
	gw_m_hs_limit_wait(hs->m);
	__atomic_store_n(&hs->paused, 1, __ATOMIC_SEQ_CST);
	/* A handshake that ended meanwhile saw no pause: go on at once. */
	if (!gw_hs_full(hs) &&
	    __atomic_exchange_n(&hs->paused, 0, __ATOMIC_SEQ_CST))
		return 0;
	return 1;
}

int gw_hs_tick(struct gw_hs *hs, int64_t now)
{
	uint64_t authed = __atomic_load_n(&hs->authed, __ATOMIC_RELAXED);
	int64_t ms = now - hs->tick, done = (int64_t)(authed - hs->seen);
	int old = __atomic_load_n(&hs->limit, __ATOMIC_SEQ_CST), lim;

	if (ms <= 0)
		return 0;
	hs->seen = authed;
	hs->tick = now;
	if (!hs->busy)
		return 0;   /* fewer came than it lets in: the rate says nothing */
	hs->busy = 0;
	lim = gw_hs_next_limit(done, ms, hs->floor, hs->max);
	if (lim == old)
		return 0;
	vt_debug("handshake limit %d (%lld completed in %lld ms)", lim,
		 (long long)done, (long long)ms);
	__atomic_store_n(&hs->limit, lim, __ATOMIC_SEQ_CST);
	gw_m_hs_limit(hs->m, lim);
	/* A higher limit lets the waiting connections in now. */
	return lim > old && __atomic_exchange_n(&hs->paused, 0, __ATOMIC_SEQ_CST);
}

/* dn connections left the handshake, df of them fresh ones (any thread):
 * accepting goes on if it waited. */
static void hs_left(struct gw_hs *hs, int dn, int df)
{
	if (dn) {
		__atomic_sub_fetch(&hs->n, dn, __ATOMIC_SEQ_CST);
		gw_m_handshaking(hs->m, -dn);
	}
	if (df)
		__atomic_sub_fetch(&hs->fresh, df, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&hs->paused, __ATOMIC_SEQ_CST) &&
	    __atomic_exchange_n(&hs->paused, 0, __ATOMIC_SEQ_CST) && hs->resume)
		hs->resume(hs->arg);
}

void gw_hs_end(struct gw_hs *hs)
{
	hs_left(hs, 1, 1);
}

void gw_hs_stale(struct gw_hs *hs)
{
	hs_left(hs, 0, 1);
}

void gw_hs_end_stale(struct gw_hs *hs)
{
	hs_left(hs, 1, 0);
}

void gw_hs_authed(struct gw_hs *hs)
{
	__atomic_add_fetch(&hs->authed, 1, __ATOMIC_RELAXED);
}
