/* pushq.c - one loop thread's push path (see pushq.h). */
#include "controller/gateway/pushq.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "controller/gateway/gwmetrics.h"
#include "controller/gateway/jobs.h"
#include "controller/gateway/registry.h"
#include "controller/gateway/session_int.h"
#include "controller/gateway/thread.h"

static void push_scan(struct gw_thr *t);

/* Pending pushes read: claim those of probes held here that can take one. */
static void pushes_done(struct gw_job *j)
{
	struct gw_req *r = gw_req_of(j);
	struct gw_thr *t = r->owner;

	t->push_scanning = 0;
	if (j->rc < 0)
		vt_warn("pushes: %s", j->err);
	for (int i = 0; j->rc == 0 && i < r->n; i++) {
		struct gw_session *s = gw_session_find(t, r->probes[i]);

		if (s && gw_session_can_push(s))
			gw_session_claim(s, r->ids[i]);
		/* else not here, or busy: a later scan takes it */
	}
	if (j->rc == 0 && r->n == GW_REQ_PUSHES_MAX)
		t->push_wanted = t->push_full = 1;   /* more may wait */
	gw_req_free(r);
	if (t->push_wanted && !t->stopping)
		push_scan(t);
}

/* The ask_tag of the sessions t->push_ask lists now (never 0). */
static uint64_t cur_tag(const struct gw_thr *t)
{
	return t->push_gen + 1;
}

/* Forgets every listing of t->push_ask by moving its tag on: also those
 * of sessions a scan cannot reach (kicked before they held KEEP or their
 * forward: gw_session_find does not return them), whose next kick, the
 * KEEP's or the forward's, must list them again. */
static void asks_drop(struct gw_thr *t)
{
	t->push_nask = 0;
	t->push_gen++;
}

/* The probes kicked since the last scan that can take a push now, into
 * want (room for t->push_nask); the list is emptied. */
static int kicked_pushable(struct gw_thr *t, long *want)
{
	int n = 0;

	for (int i = 0; i < t->push_nask; i++) {
		struct gw_session *s = gw_session_find(t, t->push_ask[i]);

		if (!s || s->ask_tag != cur_tag(t))
			continue;   /* gone, not holding yet, or listed twice */
		s->ask_tag = 0;
		if (gw_session_can_push(s))
			want[n++] = s->probe_id;
		/* else busy: kicked again when its push or claim ends */
	}
	asks_drop(t);
	return n;
}

/* Reads the pending pushes of the probes held here (pushes_done goes on):
 * of every one that can take a push on a full scan (every GW_PUSH_SCAN_MS,
 * NOTIFY, a full answer), else of those kicked since the last scan.  A
 * reconnect storm kicks every KEEP: asking about every probe held at each
 * of its scans, back to back, cost the thread a walk of all its sessions
 * and an array of all their ids per scan, and PostgreSQL a probe of the
 * pending index per id (200 scans of up to 10,000 ids per storm). */
static void push_scan(struct gw_thr *t)
{
	struct gw_req *r;
	int full, room;

	if (t->push_scanning)
		return;   /* push_wanted stays: scanned again when it ends */
	t->push_wanted = 0;
	full = t->push_full;
	room = full ? t->nkeep : t->push_nask;
	if (t->nkeep == 0 || room == 0) {
		asks_drop(t);
		t->push_full = 0;
		return;
	}
	if (!(r = gw_req_new(GW_REQ_PUSHES, t->ctx->conf.name, NULL, pushes_done)) ||
	    !(r->want = calloc((size_t)room, sizeof *r->want))) {
		gw_req_free(r);
		t->push_wanted = 1;
		return;
	}
	t->push_full = 0;
	/* Only the probes that can take a push now are asked about. */
	r->nwant = full ? gw_sessions_pushable(t, r->want, room)
			: kicked_pushable(t, r->want);
	if (full)
		asks_drop(t);   /* every probe listed was asked about */
	gw_m_push_scan(t->ctx->m, full, r->nwant);
	if (r->nwant == 0) {
		gw_req_free(r);
		return;
	}
	r->owner = t;
	r->job.home = t->inbox;
	t->push_scanning = 1;
	gw_req_submit(t->ctx->q, r);
}

void gw_pushq_kick(struct gw_session *s)
{
	struct gw_thr *t = s->thr;

	t->push_wanted = 1;
	if (s->ask_tag == cur_tag(t) || t->push_full)
		return;
	if (t->push_nask >= t->nsessions) {
		/* A session is listed once, but those freed since the last
		 * scan stay listed (a reconnect storm while that scan waits
		 * on the database): past the sessions held, a full scan asks
		 * about fewer and the list stops growing. */
		t->push_full = 1;
		return;
	}
	if (t->push_nask == t->push_cap) {
		int cap = t->push_cap ? t->push_cap * 2 : 64;
		long *a = realloc(t->push_ask, (size_t)cap * sizeof *a);

		if (!a) {
			t->push_full = 1;   /* the next scan asks about all */
			return;
		}
		t->push_ask = a;
		t->push_cap = cap;
	}
	t->push_ask[t->push_nask++] = s->probe_id;
	s->ask_tag = cur_tag(t);
}

void gw_pushq_now(struct gw_thr *t)
{
	t->push_wanted = t->push_full = 1;
	if (!t->stopping)
		push_scan(t);
}

void gw_pushq_sweep(struct gw_thr *t, int64_t now)
{
	if (now >= t->next_push_scan) {
		t->push_wanted = t->push_full = 1;
		t->next_push_scan = now + GW_PUSH_SCAN_MS;
	}
	if (t->push_wanted)
		push_scan(t);
}

void gw_note_push_done(struct gw_ctx *ctx, long push_id, int ok,
		       const char *outcome)
{
	struct gw_req *r = gw_req_new(GW_REQ_PUSH_DONE, ctx->conf.name, outcome,
				      NULL);

	if (!r) {
		vt_warn("push %ld: out of memory, outcome not recorded", push_id);
		return;
	}
	r->push_id = push_id;
	r->ok = ok;
	gw_req_submit(ctx->q, r);
}

void gw_pushq_kick_probe(struct gw_thr *t, long probe_id)
{
	struct gw_reg_hold h;
	struct gw_session *s;

	if (gw_reg_find(t->ctx->reg, probe_id, &h) < 0)
		return;   /* none holds it: its KEEP kicks it */
	if (h.thr != t) {
		gw_thr_kick_probe(h.thr, probe_id);   /* its owner lists it */
		return;
	}
	if ((s = gw_session_find(t, probe_id)))
		gw_pushq_kick(s);
	/* else its forward, still to come, kicks it */
}

/* A push claimed here went back to pending (deliver). */
static void released(struct gw_job *j)
{
	struct gw_req *r = gw_req_of(j);

	if (j->rc < 0)   /* still claimed: taken back once its lease ends */
		vt_warn("push %ld: not released: %s", r->push_id, j->err);
	else
		gw_pushq_kick_probe(r->ctx, r->probe_id);
	gw_req_free(r);
}

/* Push push_id, claimed for s (NULL: gone) of t, goes to the probe, or
 * back to pending when s no longer holds the probe's KEEP. */
static void deliver(struct gw_thr *t, struct gw_session *s, long probe_id,
		    long push_id, const char *text)
{
	int rc;

	if (!s || gw_session_find(t, s->probe_id) != s) {
		/* The probe left, or a newer KEEP (on any thread) replaced
		 * this one: once the push is pending again, its holder is
		 * kicked (released).  That holder's own kicked scan may have
		 * run while the push was still claimed here. */
		struct gw_req *rel = gw_req_new(GW_REQ_PUSH_RELEASE,
						t->ctx->conf.name, NULL,
						released);

		if (!rel) {
			t->next_push_scan = 0;   /* a full scan makes up */
			return;
		}
		rel->push_id = push_id;   /* with the gateway's name */
		rel->probe_id = probe_id;
		rel->ctx = t;
		rel->job.home = t->inbox;
		gw_req_submit(t->ctx->q, rel);
		return;
	}
	rc = gw_session_push(s, push_id, text ? text : "");   /* may close s */
	if (rc < 0) {
		gw_note_push_done(t->ctx, push_id, 0,
				  rc == VT_EPARSE ? "BAD_BATCH" : "NO_CHANNEL");
		t->next_push_scan = 0;   /* s may be gone: a full scan */
	}
	/* else the push's end kicks s for its next one */
}

/* s's claim ended without a delivery: it may take another push. */
static void unclaimed(struct gw_session *s)
{
	if (s && s->keep && !s->dying)
		gw_pushq_kick(s);
}

static void claim_done(struct gw_job *j)
{
	struct gw_req *q = gw_req_of(j);
	struct gw_session *s = gw_sess_req_back(q);

	if (s)
		s->claiming = 0;
	if (j->rc == VT_ENOTFOUND) {
		unclaimed(s);   /* taken meanwhile: another may wait */
	} else if (j->rc < 0) {
		/* Not kicked: while the database fails claims, the next try
		 * is the next full scan's (GW_PUSH_SCAN_MS), not every
		 * sweep's. */
		vt_warn("push %ld: not claimed: %s", q->push_id, j->err);
	} else {
		deliver(q->ctx, s, q->probe_id, q->push_id, q->text);
	}
	gw_req_free(q);
}

/* The crontab push of a KEEP, queued and claimed in one statement. */
static void crontab_done(struct gw_job *j)
{
	struct gw_req *q = gw_req_of(j);
	struct gw_session *s = gw_sess_req_back(q);

	if (s)
		s->claiming = 0;
	if (j->rc < 0)
		vt_warn("probe %ld: crontab not queued: %s", q->probe_id, j->err);
	if (j->rc == 0 && q->push_id > 0)
		deliver(q->ctx, s, q->probe_id, q->push_id, q->text);
	else
		unclaimed(s);
	gw_req_free(q);
}

int gw_pushq_crontab(struct gw_session *s)
{
	struct gw_req *r;

	if (!s->fwd_addr || !gw_session_can_push(s))
		return VT_EAGAIN;
	if (!(r = gw_req_new(GW_REQ_CRONTAB, s->thr->ctx->conf.name, NULL,
			     crontab_done)))
		return VT_ENOMEM;
	r->ok = 1;   /* claimed as it is queued */
	snprintf(r->sid, sizeof r->sid, "%s", s->sid);
	s->claiming = 1;
	gw_sess_req_send(s, NULL, r);
	return VT_OK;
}

void gw_session_claim(struct gw_session *s, long push_id)
{
	struct gw_req *r = gw_req_new(GW_REQ_CLAIM, s->thr->ctx->conf.name, NULL,
				      claim_done);

	if (!r)
		return;
	r->push_id = push_id;
	s->claiming = 1;
	gw_sess_req_send(s, NULL, r);
}
