/* A loop thread's push scans ask about the probes kicked since the last
 * scan (pushq.c): a kick lists a session once until a scan takes the
 * list.  A session kicked before it can be asked about (its forward came
 * before its KEEP was answered, and a scan ran between) must be listed
 * again by its KEEP's kick, or its pending pushes wait for the next full
 * scan, up to GW_PUSH_SCAN_MS later. */
#include <stdlib.h>
#include <string.h>

#include "common/vtime.h"
#include "controller/gateway/gw_int.h"
#include "controller/gateway/inbox.h"
#include "controller/gateway/pushq.h"
#include "controller/gateway/registry.h"
#include "controller/gateway/session_int.h"
#include "tests/unit/check.h"

/* A thread with a registry and no database: its scans must find nothing
 * to ask about, or they would submit to the missing queue. */
static void thread_init(struct gw_ctx *ctx, struct gw_thr *t)
{
	memset(ctx, 0, sizeof *ctx);
	memset(t, 0, sizeof *t);
	CHECK(gw_reg_new(&ctx->reg) == VT_OK);
	t->ctx = ctx;
	t->next_push_scan = vt_mono_ms() + 3600 * 1000;   /* no full scan */
}

static void session_init(struct gw_thr *t, struct gw_session *s, long id)
{
	memset(s, 0, sizeof *s);
	s->thr = t;
	s->probe_id = id;
	s->serial = (uint64_t)id;
	s->next = t->sessions;
	t->sessions = s;
	t->nsessions++;
}

/* s's KEEP answered: it holds the probe on t (session_db.c's keep_done). */
static void hold(struct gw_session *s)
{
	struct gw_reg_hold me, old;

	memset(&me, 0, sizeof me);
	me.thr = s->thr;
	me.sess = s;
	me.serial = s->serial;
	CHECK(gw_reg_keep(s->thr->ctx->reg, s->probe_id, &me, "192.0.2.1",
			  s->fwd_addr, &old) >= 0);
	s->keep = 1;
	s->thr->nkeep++;
}

static void forward_before_keep(void)
{
	struct gw_ctx ctx;
	struct gw_thr t;
	struct gw_session other, s;
	char fwd[] = "localhost";

	thread_init(&ctx, &t);
	/* another probe held here, so that the scan below is a kicked one */
	session_init(&t, &other, 1);
	other.fwd_addr = fwd;
	other.claiming = 1;   /* busy: not asked about */
	hold(&other);
	session_init(&t, &s, 2);
	s.fwd_addr = fwd;
	gw_pushq_kick(&s);   /* the forward, before KEEP */
	CHECK_INT(t.push_nask, 1);
	gw_pushq_kick(&s);   /* listed once */
	CHECK_INT(t.push_nask, 1);
	gw_pushq_sweep(&t, vt_mono_ms());   /* s cannot be asked about yet */
	CHECK_INT(t.push_nask, 0);
	CHECK_INT(t.push_wanted, 0);
	hold(&s);
	gw_pushq_kick(&s);   /* the KEEP: s is listed again */
	CHECK(t.push_nask == 1 && t.push_ask[0] == 2);
	CHECK_INT(t.push_wanted, 1);

	/* the same with no KEEP held on the thread: its scans drop the list */
	s.keep = other.keep = 0;
	t.nkeep = 0;
	gw_pushq_sweep(&t, vt_mono_ms());
	CHECK_INT(t.push_nask, 0);
	gw_pushq_kick(&s);
	CHECK_INT(t.push_nask, 1);
	gw_pushq_sweep(&t, vt_mono_ms());
	CHECK_INT(t.push_nask, 0);
	s.keep = 1;
	t.nkeep = 1;
	gw_pushq_kick(&s);
	CHECK_INT(t.push_nask, 1);
	free(t.push_ask);
	gw_reg_free(ctx.reg);
}

/* Sessions that came, were kicked and went before the next scan (while a
 * scan waits on the database) stay listed: the list never grows past the
 * sessions held, the next scan asks about them all instead. */
static void bounded(void)
{
	struct gw_ctx ctx;
	struct gw_thr t;
	struct gw_session s;

	thread_init(&ctx, &t);
	session_init(&t, &s, 1);
	for (long id = 1; id <= 1000; id++) {
		s.probe_id = id;
		s.ask_tag = 0;   /* a new session of the thread's one */
		gw_pushq_kick(&s);
	}
	CHECK(t.push_nask <= t.nsessions);
	CHECK_INT(t.push_full, 1);
	CHECK_INT(t.push_wanted, 1);
	free(t.push_ask);
	gw_reg_free(ctx.reg);
}

/* A push released on one thread (its claim's session was replaced or
 * left) kicks the probe's KEEP holder on the thread that holds it, through
 * that thread's inbox: its next sweep asks about the probe, where it used
 * to wait for that thread's next full scan (GW_PUSH_SCAN_MS). */
static void release_kicks_owner(void)
{
	struct gw_ctx ctx;
	struct gw_thr x, y;
	struct gw_session a, b;
	char fwd[] = "localhost";

	thread_init(&ctx, &x);
	memset(&y, 0, sizeof y);
	y.ctx = &ctx;
	y.idx = 1;
	y.next_push_scan = x.next_push_scan;
	CHECK(vt_loop_new(&x.loop) == VT_OK && gw_inbox_new(x.loop, &x.inbox) == VT_OK);
	CHECK(vt_loop_new(&y.loop) == VT_OK && gw_inbox_new(y.loop, &y.inbox) == VT_OK);
	session_init(&y, &b, 7);   /* probe 7's KEEP is held on y */
	b.fwd_addr = fwd;
	hold(&b);
	session_init(&x, &a, 8);   /* probe 8's on x */
	a.fwd_addr = fwd;
	hold(&a);

	gw_pushq_kick_probe(&x, 7);   /* x released a push of probe 7 */
	CHECK_INT(x.push_nask, 0);    /* x never writes y's list... */
	CHECK_INT(y.push_nask, 0);
	CHECK_INT(gw_inbox_drain(y.inbox), 1);   /* ...y does, from its inbox */
	CHECK(y.push_nask == 1 && y.push_ask[0] == 7);
	CHECK_INT(y.push_wanted, 1);
	CHECK_INT(x.push_wanted, 0);
	CHECK_INT(gw_inbox_drain(x.inbox), 0);

	gw_pushq_kick_probe(&x, 8);   /* held on x itself: listed at once */
	CHECK(x.push_nask == 1 && x.push_ask[0] == 8);
	CHECK_INT(gw_inbox_drain(y.inbox), 0);

	gw_pushq_kick_probe(&x, 9);   /* held nowhere: its KEEP kicks it */
	CHECK_INT(gw_inbox_drain(x.inbox) + gw_inbox_drain(y.inbox), 0);
	CHECK_INT(x.push_nask + y.push_nask, 2);

	gw_inbox_free(x.inbox);
	gw_inbox_free(y.inbox);
	vt_loop_free(x.loop);
	vt_loop_free(y.loop);
	free(x.push_ask);
	free(y.push_ask);
	gw_reg_free(ctx.reg);
}

int main(void)
{
	forward_before_keep();
	bounded();
	release_kicks_owner();
	return CHECK_DONE();
}
