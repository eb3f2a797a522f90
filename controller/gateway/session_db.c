/* session_db.c - a session's database requests (see session_int.h): the
 * replies that wait for the database (registration, controller INIT,
 * KEEP, uploads, push claims) and the bookkeeping nobody waits for.
 *
 * A request carries plain data to a database thread (jobs.h); its done
 * function runs on the loop, finds its session and channel again through
 * req_back() (NULL when they went away meanwhile) and steps the session. */
#include "controller/gateway/session_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"
#include "common/vtime.h"
#include "controller/gateway/jobs.h"
#include "controller/gateway/pushq.h"
#include "controller/gateway/thread.h"
#include "proto/reg.h"

/* ---- database requests ---- */

void gw_sess_req_send(struct gw_session *s, struct gw_chan *c, struct gw_req *r)
{
	r->owner = s;
	r->ctx = s->thr;
	r->job.home = s->thr->inbox;
	r->chan = c;
	r->probe_id = s->probe_id;
	r->prev = NULL;
	r->next = s->reqs;
	if (s->reqs)
		s->reqs->prev = r;
	s->reqs = r;
	if (c)
		c->waiting = 1;
	gw_req_submit(s->thr->ctx->q, r);
}

struct gw_session *gw_sess_req_back(struct gw_req *r)
{
	struct gw_session *s = r->owner;

	if (!s)
		return NULL;
	if (r->prev)
		r->prev->next = r->next;
	else
		s->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->owner = NULL;
	if (r->chan) {
		struct gw_chan *c = r->chan;
		int64_t grace = vt_mono_ms() + FLUSH_GRACE_MS;

		c->waiting = 0;
		if (c->deadline && c->deadline < grace)
			c->deadline = grace;   /* time to send the reply */
	}
	return s;
}

static void reg_done(struct gw_job *j)
{
	struct gw_req *q = gw_req_of(j);
	struct gw_session *s = gw_sess_req_back(q);
	struct gw_chan *c = q->chan;
	struct vt_reg_reply *r = q->reg;

	if (!s || !c)
		goto out;
	if (j->rc < 0) {
		vt_warn("probe %ld: registration: %s", s->probe_id,
			j->rc == VT_ENOTFOUND ? "no live controller" : j->err);
		memset(r, 0, sizeof *r);
		r->wait = 1;
		r->timeout = WAIT_SECONDS;
	} else {
		gw_pick_ctrl_host(r->ctrl_host, sizeof r->ctrl_host, s->from);
		r->timestamp = vt_now_ms() / 1000;
		r->probe_id = s->probe_id;
		r->rereg = s->thr->ctx->conf.rereg;
		vt_info("probe %ld: registered from %s (%s), controller %s:%d",
			s->probe_id, s->from, vt_reg_reason_name(q->reason),
			r->ctrl_host, r->ctrl_port);
	}
	if (vt_reg_reply_format(r, &c->out) < 0)
		s->dying = 1;
	c->exit_status = 0;
	c->finish = 1;
	gw_sess_step(s);
out:
	gw_req_free(q);
}

void gw_sess_reg_reply(struct gw_session *s, struct gw_chan *c)
{
	struct vt_reg_request req;
	struct gw_req *r;

	if (vt_reg_request_parse(c->in.data ? c->in.data : "", c->in.len, &req) < 0)
		memset(&req, 0, sizeof req);
	if (!(r = gw_req_new(GW_REQ_REGISTER, s->thr->ctx->conf.name, req.token_specs,
			     reg_done))) {
		s->dying = 1;
		return;
	}
	r->firmware = req.firmware;
	r->live_s = GW_LIVE_S;
	r->rsa_probe = s->rsa_key;
	r->reason = req.reason;
	gw_sess_req_send(s, c, r);
}

/* n random bytes from the kernel; VT_EIO when it has none to give (never
 * a weaker source: session ids are secrets). */
static int random_bytes(void *buf, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r = getrandom((char *)buf + off, n - off, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return VT_EIO;
		off += (size_t)r;
	}
	return VT_OK;
}

/* A fresh session id: 32 hex digits. */
static int new_session_id(char *sid, size_t n)
{
	unsigned char raw[16];
	size_t i;
	int rc;

	if ((rc = random_bytes(raw, sizeof raw)) < 0)
		return rc;
	for (i = 0; i < sizeof raw && 2 * i + 2 < n; i++)
		snprintf(sid + 2 * i, 3, "%02x", raw[i]);
	return VT_OK;
}

static void init_done(struct gw_job *j)
{
	struct gw_req *q = gw_req_of(j);
	struct gw_session *s = gw_sess_req_back(q);
	struct gw_chan *c = q->chan;
	struct vt_ctrl_reply r = { 0 };

	if (!s || !c)
		goto out;
	if (j->rc < 0) {
		vt_warn("probe %ld: controller INIT: %s", s->probe_id, j->err);
		r.status = VT_CTRL_WAIT;
		r.timeout = WAIT_SECONDS;
	} else {
		r.status = VT_CTRL_OK;
		r.remote_port = q->port;
		snprintf(r.session_id, sizeof r.session_id, "%s", q->sid);
		snprintf(s->sid, sizeof s->sid, "%s", q->sid);
		s->remote_port = q->port;
		vt_info("probe %ld: INIT from %s, session %s port %d", s->probe_id,
			s->from, q->sid, q->port);
	}
	if (vt_ctrl_reply_format(&r, &c->out) < 0)
		s->dying = 1;
	c->exit_status = 0;
	c->finish = 1;
	gw_sess_step(s);
out:
	gw_req_free(q);
}

/* exec INIT on the controller role: a fresh session id, the port kept for
 * the probe (a random one the first time). */
void gw_sess_ctrl_reply(struct gw_session *s, struct gw_chan *c)
{
	struct gw_req *r = gw_req_new(GW_REQ_INIT, s->thr->ctx->conf.name, NULL, init_done);
	unsigned short rnd = 0;

	if (!r) {
		s->dying = 1;
		return;
	}
	if (random_bytes(&rnd, sizeof rnd) < 0 ||
	    new_session_id(r->sid, sizeof r->sid) < 0) {
		/* No session id without real randomness: the probe waits. */
		struct vt_ctrl_reply w = { .status = VT_CTRL_WAIT,
					   .timeout = WAIT_SECONDS };

		vt_err("probe %ld: no random bytes for a session id: %s",
		       s->probe_id, strerror(errno));
		gw_req_free(r);
		if (vt_ctrl_reply_format(&w, &c->out) < 0)
			s->dying = 1;
		c->exit_status = 0;
		c->finish = 1;
		return;
	}
	r->port = 10000 + rnd % 50000;
	gw_sess_req_send(s, c, r);
}

static void keep_done(struct gw_job *j)
{
	struct gw_req *q = gw_req_of(j);
	struct gw_session *s = gw_sess_req_back(q);
	struct gw_chan *c = q->chan;
	struct gw_ctx *ctx;
	struct gw_reg_hold me = { 0 }, old;
	int rc;

	if (!s)
		goto out;
	s->keep_pending = 0;
	if (!c || s->dying)
		goto out;   /* the probe gave up its KEEP meanwhile */
	if (j->rc == VT_ENOTFOUND) {
		/* Output on KEEP sends the probe back to registration. */
		vt_warn("probe %ld: KEEP refused: no session (INIT first)",
			s->probe_id);
		c->kind = C_CTRL_INIT;
		if (vt_buf_adds(&c->out, "REFUSED\n") < 0)
			s->dying = 1;
		c->exit_status = 1;
		c->finish = 1;
		gw_sess_step(s);
		goto out;
	}
	if (j->rc < 0) {
		vt_warn("probe %ld: KEEP refused: %s", s->probe_id, j->err);
		s->dying = 1;
		gw_sess_step(s);
		goto out;
	}
	snprintf(s->sid, sizeof s->sid, "%s", q->sid);
	s->remote_port = q->port;
	ctx = s->thr->ctx;
	me.thr = s->thr;
	me.sess = s;
	me.serial = s->serial;
	me.seq = s->keep_seq;
	snprintf(me.sid, sizeof me.sid, "%s", s->sid);
	/* The registry records the session up (gw_sess_reg_note). */
	if ((rc = gw_reg_keep(ctx->reg, s->probe_id, &me, s->from, s->fwd_addr,
			      &old)) < 0) {
		vt_warn("probe %ld: KEEP refused: %s", s->probe_id, vt_strerror(rc));
		s->dying = 1;
		gw_sess_step(s);
		goto out;
	}
	if (rc == GW_REG_OUTDATED) {
		/* A newer KEEP of the probe, answered first on another
		 * thread, holds it: this one ends as if replaced. */
		vt_info("probe %ld: newer KEEP replaces the old one", s->probe_id);
		s->dying = 1;
		gw_sess_step(s);
		goto out;
	}
	if (rc == GW_REG_REPLACED) {
		/* The older KEEP ends on the thread holding it. */
		if (old.thr == s->thr)
			gw_session_drop(s->thr, s->probe_id, old.serial);
		else
			gw_thr_drop(old.thr, s->probe_id, old.serial);
	}
	s->keep = 1;
	s->thr->nkeep++;
	gw_session_crontab(s);
	gw_pushq_kick(s);
	vt_info("probe %ld: KEEP from %s thread=%d", s->probe_id, s->from,
		s->thr->idx);
	gw_sess_step(s);
out:
	gw_req_free(q);
}

/* exec KEEP: load the session id kept for the probe (keep_done takes it
 * over). */
int gw_sess_keep_start(struct gw_session *s, struct gw_chan *c)
{
	struct gw_req *r = gw_req_new(GW_REQ_KEEP, s->thr->ctx->conf.name, NULL, keep_done);

	if (!r)
		return VT_ENOMEM;
	s->keep_pending = 1;
	s->keep_seq = __atomic_add_fetch(&s->thr->ctx->keep_seq, 1,
					 __ATOMIC_RELAXED);
	gw_sess_req_send(s, c, r);
	return VT_OK;
}

void gw_sess_reg_note(void *arg, enum gw_reg_change what, long probe_id,
		      const char *from, const char *bind)
{
	static const enum gw_req_kind kind[] = {
		[GW_REG_UP] = GW_REQ_UP, [GW_REG_BIND] = GW_REQ_BIND,
		[GW_REG_DOWN] = GW_REQ_DOWN
	};
	struct gw_ctx *ctx = arg;
	struct gw_req *r = gw_req_new(kind[what], ctx->conf.name, bind, NULL);

	if (!r) {
		vt_warn("probe %ld: out of memory, session not recorded", probe_id);
		gw_ctx_lost(ctx);
		return;
	}
	r->probe_id = probe_id;
	r->lost = &ctx->resync;
	if (from)
		snprintf(r->from, sizeof r->from, "%s", from);
	gw_req_submit(ctx->q, r);
}

void gw_crontab_note(struct gw_ctx *ctx, long probe_id, const char *sid)
{
	struct gw_req *r = gw_req_new(GW_REQ_CRONTAB, ctx->conf.name, NULL, NULL);

	if (!r) {
		vt_warn("probe %ld: out of memory, crontab not queued", probe_id);
		return;
	}
	r->probe_id = probe_id;
	snprintf(r->sid, sizeof r->sid, "%s", sid);
	gw_req_submit(ctx->q, r);
}

void gw_session_crontab(struct gw_session *s)
{
	if (gw_pushq_crontab(s) < 0)   /* else a scan claims it */
		gw_crontab_note(s->thr->ctx, s->probe_id, s->sid);
}

/* The sink answered (rc from gw_sink_take or gw_sink_stored). */
static void sink_answered(struct gw_session *s, struct gw_chan *c, int rc,
			  const struct gw_sink_result *res)
{
	if (rc < 0) {
		c->closed = 1;
		return;
	}
	gw_m_upload(s->thr->ctx->m, res);
	if (res->status == 200 && res->nrejected)
		vt_warn("probe %ld: upload of %d results queued, %d refused"
			" (kept in rejected)", s->probe_id, res->nresults,
			res->nrejected);
	else if (res->status == 200)
		vt_info("probe %ld: upload of %d results queued", s->probe_id,
			res->nresults);
	else
		vt_warn("probe %ld: upload answered %d", s->probe_id, res->status);
	c->finish = 1;
}

static void upload_done(struct gw_job *j)
{
	struct gw_req *q = gw_req_of(j);
	struct gw_session *s = gw_sess_req_back(q);
	struct gw_chan *c = q->chan;
	struct gw_sink_result res;
	int rc;

	if (j->rc < 0)
		vt_warn("probe %ld: upload not queued: %s", q->probe_id, j->err);
	gw_m_upload_latency(((struct gw_thr *)q->ctx)->ctx->m,
			    vt_mono_us() - j->queued_us);
	gw_m_sink_group(((struct gw_thr *)q->ctx)->ctx->m, q->build_us,
			q->store_us, q->group);
	if (!s || !c) {
		if (j->rc == 0)
			vt_info("probe %ld: %d results queued, the probe left before OK",
				q->probe_id, gw_sink_batch_count(q->batch));
		goto out;
	}
	rc = gw_sink_stored(j->rc, gw_sink_batch_count(q->batch), &c->out, &res);
	if (j->rc == 0)
		res.nrejected = gw_sink_batch_rejected(q->batch);
	sink_answered(s, c, rc, &res);
	gw_sess_step(s);
out:
	gw_req_free(q);
}

void gw_sess_sink_step(struct gw_session *s, struct gw_chan *c)
{
	struct gw_sink_who who = { s->probe_id, s->sid, s->from };
	struct gw_sink_batch *batch = NULL;
	struct gw_sink_result res;
	struct gw_req *r;
	int rc;

	if (c->waiting || (!c->in.len && !c->eof) || !s->sid[0])
		return;   /* without a session id, KEEP's lookup runs still */
	rc = gw_sink_take(c->sink, c->in.data, c->in.len, c->eof, &who, &c->out,
			  &res, &batch);
	vt_buf_reset(&c->in);
	if (c->eof == 2 && rc == VT_EAGAIN)
		rc = gw_sink_take(c->sink, NULL, 0, 1, &who, &c->out, &res, &batch);
	if (rc == VT_EAGAIN)
		return;
	if (rc == 1) {
		/* Stored by a database thread; OK only once committed. */
		if (gw_dbq_pending(s->thr->ctx->q, GW_LANE_SINK) < SINK_QUEUE_MAX &&
		    (r = gw_req_new(GW_REQ_UPLOAD, s->thr->ctx->conf.name, NULL,
				    upload_done))) {
			r->batch = batch;
			gw_sess_req_send(s, c, r);
			return;
		}
		gw_sink_batch_free(batch);
		gw_m_refused(s->thr->ctx->m, GW_M_SINK_FULL);
		rc = gw_sink_stored(VT_ELIMIT, 0, &c->out, &res);
	}
	sink_answered(s, c, rc, &res);
}
