/* drain.c - moving probes off a gateway at a bounded rate (see drain.h). */
#include "controller/gateway/drain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "common/log.h"
#include "common/pg.h"
#include "common/vtime.h"
#include "controller/gateway/session_int.h"
#include "controller/gateway/thread.h"

int64_t gw_pace_interval(int rate)
{
	if (rate < 1)
		rate = 1;
	return (1000 + rate - 1) / rate;
}

int gw_pace_take(struct gw_pace *p, int rate, int64_t now, int64_t *wait_ms)
{
	int64_t gap = gw_pace_interval(rate);

	if (p->any && now - p->last_ms < gap) {
		if (wait_ms)
			*wait_ms = gap - (now - p->last_ms);
		return 0;
	}
	p->any = 1;
	p->last_ms = now;
	if (wait_ms)
		*wait_ms = 0;
	return 1;
}

struct gw_drain {
	struct gw_ctx *ctx;
	struct gw_thr *home;       /* loop thread 0: everything here runs on it */
	int            active;     /* the database says: draining */
	int            rate;       /* kicks a second at most */
	struct gw_pace pace;
	int            polling;    /* a poll is in flight */
	int64_t        next_poll;  /* mono ms */
	int64_t        next_expire;
	int            armed;      /* the kick timer is pending */
	uint64_t       timer;
	long           kicked;     /* probes sent away in this drain */
};

enum drain_kind { DJ_POLL, DJ_KICK };

/* A database job of the module: plain data only on the worker. */
struct drain_job {
	struct gw_job    job;      /* first: dbq's part */
	enum drain_kind  kind;
	struct gw_drain *d;        /* read on home only */
	const char      *name;     /* the gateway's name (lives as long) */
	int              expire;   /* POLL: also forget stale choices */
	long             probe_id; /* KICK */
	int64_t          mono_ms;  /* KICK */
	int              draining; /* POLL's answers */
	int              rate;
};

int gw_drain_new(struct gw_ctx *ctx, struct gw_thr *home,
		 struct gw_drain **out)
{
	if (!(*out = calloc(1, sizeof **out)))
		return VT_ENOMEM;
	(*out)->ctx = ctx;
	(*out)->home = home;
	(*out)->rate = 1;
	return VT_OK;
}

void gw_drain_free(struct gw_drain *d)
{
	free(d);
}

int gw_drain_active(const struct gw_drain *d)
{
	return d && d->active;
}

static int job_run(struct gw_job *j, struct gw_db *db)
{
	struct drain_job *d = (struct drain_job *)j;
	PGconn *c = gw_db_conn(db);
	PGresult *r = NULL;
	char a[32], b[32];
	int rc;

	if (!c) {
		snprintf(j->err, sizeof j->err, "%s", gw_db_error(db));
		return VT_EDB;
	}
	if (d->kind == DJ_KICK) {
		const char *p[3] = { d->name, a, b };

		snprintf(a, sizeof a, "%ld", d->probe_id);
		snprintf(b, sizeof b, "%lld", (long long)d->mono_ms);
		return vt_pg_exec(c, NULL, j->err, sizeof j->err,
				  "INSERT INTO gateway_drain_kicks (gateway,"
				  " probe_id, mono_ms) VALUES ($1, $2, $3)", 3, p);
	}
	if (d->expire) {
		snprintf(a, sizeof a, "%d", GW_ASSIGN_AGE_S);
		const char *p[1] = { a };

		rc = vt_pg_exec(c, NULL, j->err, sizeof j->err,
				"SELECT vt_gateway_assign_expire($1)", 1, p);
		if (rc < 0)
			return rc;
	}
	{
		const char *p[1] = { d->name };

		rc = vt_pg_exec(c, &r, j->err, sizeof j->err,
				"SELECT draining IS NOT NULL, drain_rate FROM gateways"
				" WHERE name = $1", 1, p);
	}
	if (rc == 0 && PQntuples(r) == 1) {
		d->draining = !strcmp(PQgetvalue(r, 0, 0), "t");
		d->rate = atoi(PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return rc;
}

static struct drain_job *job_new(struct gw_drain *d, enum drain_kind kind,
				 gw_job_done done)
{
	struct drain_job *j = calloc(1, sizeof *j);

	if (!j)
		return NULL;
	j->job.run = job_run;
	j->job.done = done;
	j->job.home = d->home->inbox;
	j->kind = kind;
	j->d = d;
	j->name = d->ctx->conf.name;
	return j;
}

static void arm(struct gw_drain *d, int64_t ms);

static void kick_done(struct gw_job *j)
{
	if (j->rc < 0)
		vt_warn("drain: kick of probe %ld not recorded: %s",
			((struct drain_job *)j)->probe_id, j->err);
	free(j);
}

/* Sends the next KEEP holder not sent away yet away (its thread writes on
 * KEEP) and records the kick; VT_ENOTFOUND when none is left. */
static int kick(struct gw_drain *d, int64_t now)
{
	struct gw_reg_hold h;
	struct drain_job *j;
	long probe_id;
	int rc;

	if ((rc = gw_reg_drain_pick(d->ctx->reg, &probe_id, &h)) < 0)
		return rc;
	gw_thr_drain(h.thr, probe_id, h.serial);
	d->kicked++;
	vt_info("probe %ld: drained (told on KEEP to register again), %ld so far",
		probe_id, d->kicked);
	if (!(j = job_new(d, DJ_KICK, kick_done)))
		return VT_ENOMEM;
	j->probe_id = probe_id;
	j->mono_ms = now;
	gw_dbq_submit(d->ctx->q, GW_LANE_CTRL, &j->job);
	return VT_OK;
}

static void on_kick(struct vt_loop *loop, void *arg)
{
	struct gw_drain *d = arg;
	int64_t now = vt_mono_ms(), wait = 0;
	int rc;

	(void)loop;
	d->armed = 0;
	if (!d->active || d->home->stopping ||
	    gw_reg_count(d->ctx->reg) == 0)
		return;          /* the next poll arms it again */
	if (!gw_pace_take(&d->pace, d->rate, now, &wait)) {
		arm(d, wait);
		return;
	}
	if ((rc = kick(d, now)) == VT_ENOTFOUND)
		return;          /* every holder was sent away: the next poll */
	if (rc < 0)
		vt_warn("drain: out of memory, a kick not recorded");
	arm(d, gw_pace_interval(d->rate));
}

static void arm(struct gw_drain *d, int64_t ms)
{
	if (d->armed || d->home->stopping)
		return;
	if (vt_loop_timer(d->home->loop, ms, on_kick, d, &d->timer) < 0) {
		vt_warn("drain: cannot arm the timer");
		return;
	}
	d->armed = 1;
}

static void poll_done(struct gw_job *j)
{
	struct drain_job *p = (struct drain_job *)j;
	struct gw_drain *d = p->d;

	d->polling = 0;
	if (j->rc < 0) {
		if (j->rc != VT_ECLOSED)
			vt_warn("drain: %s", j->err);
	} else {
		if (p->draining && !d->active)
			vt_info("draining at %d probes/s at most", p->rate);
		else if (!p->draining && d->active)
			vt_info("drain ended (%ld probes sent away)", d->kicked);
		if (!p->draining && d->active)
			gw_reg_drain_clear(d->ctx->reg);
		if (p->draining != d->active)
			d->kicked = 0;
		d->active = p->draining;
		d->rate = p->rate > 0 ? p->rate : 1;
		if (d->active)
			arm(d, 0);
	}
	free(p);
}

void gw_drain_tick(struct gw_drain *d, int64_t now)
{
	struct drain_job *j;

	if (!d || d->polling || now < d->next_poll || d->home->stopping)
		return;
	if (!(j = job_new(d, DJ_POLL, poll_done)))
		return;
	d->next_poll = now + GW_DRAIN_POLL_MS;
	if (now >= d->next_expire) {
		j->expire = 1;
		d->next_expire = now + GW_ASSIGN_EXPIRE_MS;
	}
	d->polling = 1;
	gw_dbq_submit(d->ctx->q, GW_LANE_CTRL, &j->job);
}

void gw_drain_session(struct gw_thr *t, long probe_id, uint64_t serial)
{
	struct gw_session *s;
	struct gw_chan *c;

	for (s = t->sessions; s; s = s->next)
		if (s->serial == serial && s->probe_id == probe_id)
			break;
	if (!s || !s->keep || s->dying)
		return;          /* gone meanwhile, or going */
	for (c = s->chans; c && c->kind != C_KEEP; c = c->next)
		;
	if (!c || vt_buf_adds(&c->out, GW_DRAIN_TEXT) < 0)
		s->dying = 1;    /* no KEEP to write on: the probe reconnects */
	gw_sess_step(s);     /* may close s */
}
