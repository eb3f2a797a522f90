/* stream_feed.c - the stream's feed: one PostgreSQL connection that
 * LISTENs to vantage_stream and reads what the subscribers want
 * (stream_int.h).
 *
 * Order and once-only delivery.  The feed handles, in one thread and in
 * this order each round: the requests (a subscription's measurement is
 * read from then on; its backlog is read in a REPEATABLE READ transaction
 * whose snapshot goes with it), then the notifications, each read once
 * for every measurement with subscribers.  Events leave in that order.
 * The service thread starts a subscription at its SUBSCRIBED event, so
 * every batch after it holds the measurement's rows; a batch whose
 * transaction the backlog's snapshot saw is skipped for that
 * subscription (its rows are in the backlog), every other one is new. */
#include "controller/api/stream_int.h"

#include <errno.h>
#include <libwebsockets.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/pg.h"
#include "proto/stream.h"

#define MARKS 32

struct interest {
	long long msm;
	int subs;
};

struct st_feed {
	struct vt_stream_conf c;
	char *db;
	void (*wake)(void *);
	void *arg;
	PGconn *pg;
	int efd;
	atomic_int stop;
	pthread_t thr;
	int started;
	pthread_mutex_t mu;
	struct st_req *rq, **rq_tail;        /* to the feed */
	struct st_ev *ev, **ev_tail;         /* from the feed */
	/* the feed thread's own */
	struct interest *in;
	size_t nin, capin;
	struct { time_t t; long long seq; } marks[MARKS];
	int nmarks, mark_at;
	struct vt_buf fmt;
	int lost;                            /* notifications lost: RESET due */
};

struct st_msg *st_msg_new(const char *p, size_t len, long prb)
{
	struct st_msg *m = malloc(sizeof *m + LWS_PRE + len);

	if (!m)
		return NULL;
	m->refs = 0;
	m->prb = prb;
	m->len = len;
	memcpy(m->buf + LWS_PRE, p, len);
	return m;
}

void st_msg_unref(struct st_msg *m)
{
	if (m && --m->refs <= 0)
		free(m);
}

int st_snap_sees(const struct st_snap *s, unsigned long long xid)
{
	if (xid < s->xmin)
		return 1;
	if (xid >= s->xmax)
		return 0;
	for (size_t i = 0; i < s->nxip; i++)
		if (s->xip[i] == xid)
			return 0;
	return 1;
}

void st_snap_free(struct st_snap *s)
{
	if (!s)
		return;
	free(s->xip);
	free(s);
}

void st_ev_free(struct st_ev *e)
{
	if (!e)
		return;
	st_snap_free(e->snap);
	for (size_t i = 0; i < e->n; i++)
		if (e->msgs[i] && e->msgs[i]->refs == 0)
			free(e->msgs[i]);
	free(e->msgs);
	free(e);
}

/* "xmin:xmax:xip,xip,..." (pg_snapshot's text) */
static struct st_snap *snap_parse(const char *s)
{
	struct st_snap *p = calloc(1, sizeof *p);
	size_t n = 1;
	char *end;

	if (!p)
		return NULL;
	for (const char *q = s; *q; q++)
		n += *q == ',';
	if (!(p->xip = calloc(n, sizeof *p->xip)))
		goto bad;
	p->xmin = strtoull(s, &end, 10);
	if (*end != ':')
		goto bad;
	p->xmax = strtoull(end + 1, &end, 10);
	if (*end != ':')
		goto bad;
	s = end + 1;
	while (*s && p->nxip < n) {
		p->xip[p->nxip++] = strtoull(s, &end, 10);
		if (end == s || (*end && *end != ','))
			goto bad;
		s = *end ? end + 1 : end;
	}
	return p;
bad:
	st_snap_free(p);
	return NULL;
}

static void emit(struct st_feed *f, struct st_ev *e)
{
	pthread_mutex_lock(&f->mu);
	*f->ev_tail = e;
	f->ev_tail = &e->next;
	pthread_mutex_unlock(&f->mu);
}

static struct interest *interest_of(struct st_feed *f, long long msm)
{
	for (size_t i = 0; i < f->nin; i++)
		if (f->in[i].msm == msm)
			return &f->in[i];
	return NULL;
}

static int interest_add(struct st_feed *f, long long msm, int d)
{
	struct interest *i = interest_of(f, msm);

	if (!i && d > 0) {
		if (f->nin == f->capin) {
			size_t cap = f->capin ? f->capin * 2 : 16;
			struct interest *v = realloc(f->in, cap * sizeof *v);

			if (!v)
				return VT_ENOMEM;
			f->in = v;
			f->capin = cap;
		}
		i = &f->in[f->nin++];
		*i = (struct interest){ msm, 0 };
	}
	if (!i)
		return VT_OK;
	if ((i->subs += d) <= 0)
		*i = f->in[--f->nin];
	return VT_OK;
}

/* Appends the rows of res (columns: prb_id, result) to e->msgs. */
static int add_rows(struct st_feed *f, struct st_ev *e, PGresult *res,
		    int from, int to)
{
	struct st_msg **v;
	int r;

	if (to <= from)
		return VT_OK;
	if (!(v = realloc(e->msgs, (e->n + (size_t)(to - from)) * sizeof *v)))
		return VT_ENOMEM;
	e->msgs = v;
	for (int i = from; i < to; i++) {
		vt_buf_reset(&f->fmt);
		if ((r = vt_stream_fmt_result(&f->fmt, PQgetvalue(res, i, 1),
					      (size_t)PQgetlength(res, i, 1))) < 0)
			return r;
		if (!(e->msgs[e->n] = st_msg_new(f->fmt.data, f->fmt.len,
						 atol(PQgetvalue(res, i, 0)))))
			return VT_ENOMEM;
		e->n++;
	}
	return VT_OK;
}

/* The lowest seq that can have been stored since `since` (0: unknown). */
static long long seq_since(const struct st_feed *f, time_t since)
{
	long long best = 0;
	time_t bt = 0;

	for (int i = 0; i < f->nmarks; i++)
		if (f->marks[i].t <= since - 60 && f->marks[i].t > bt) {
			bt = f->marks[i].t;
			best = f->marks[i].seq;
		}
	return best;
}

/* A subscription: from now on, with its backlog when asked. */
static int subscribe(struct st_feed *f, const struct st_req *q)
{
	char msm[24], prb[24], lb[24], since[24], lim[24];
	const char *p[5] = { msm, prb, lb, since, lim };
	struct st_ev *e = calloc(1, sizeof *e);
	PGresult *res = NULL;
	char err[256];
	time_t now = time(NULL);
	int r = VT_ENOMEM;
	size_t bytes = 0;
	int first;

	if (!e)
		return VT_ENOMEM;
	e->kind = ST_EV_SUBSCRIBED;
	e->sub = q->sub;
	e->msm = q->msm;
	if ((r = interest_add(f, q->msm, 1)) < 0)
		goto out;
	if (!q->backlog)
		goto out;
	snprintf(msm, sizeof msm, "%lld", q->msm);
	snprintf(prb, sizeof prb, "%ld", q->prb);
	snprintf(lb, sizeof lb, "%lld", seq_since(f, now - f->c.backlog_s));
	snprintf(since, sizeof since, "%lld", (long long)(now - f->c.backlog_s));
	snprintf(lim, sizeof lim, "%d", f->c.queue_msgs / 2);
	if ((r = vt_pg_cmd(f->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
			   err, sizeof err)) < 0)
		goto out;
	if ((r = vt_pg_exec(f->pg, &res, err, sizeof err,
			    "SELECT pg_current_snapshot()::text", 0, NULL)) < 0)
		goto rollback;
	if (!(e->snap = snap_parse(PQgetvalue(res, 0, 0)))) {
		r = VT_EDB;
		goto rollback;
	}
	PQclear(res);
	/* the newest rows first (up to half a client's queue), sent oldest
	 * first */
	if ((r = vt_pg_exec(f->pg, &res, err, sizeof err,
			    "SELECT prb_id, result FROM (SELECT seq, prb_id, result"
			    " FROM results WHERE msm_id = $1::bigint"
			    " AND ($2::integer = 0 OR prb_id = $2::integer)"
			    " AND seq >= $3::bigint AND stored >= $4::bigint"
			    " ORDER BY seq DESC LIMIT $5::integer) s ORDER BY seq",
			    5, p)) < 0)
		goto rollback;
	first = PQntuples(res);
	while (first > 0 && bytes + (size_t)PQgetlength(res, first - 1, 1) + 32 <=
	       (size_t)f->c.queue_bytes / 2)
		bytes += (size_t)PQgetlength(res, --first, 1) + 32;
	r = add_rows(f, e, res, first, PQntuples(res));
rollback:
	vt_pg_try(f->pg, "ROLLBACK");
out:
	PQclear(res);
	if (r < 0 && r != VT_ENOMEM) {
		/* the subscription stands; its backlog could not be read */
		st_ev_free(e);
		if (!(e = calloc(1, sizeof *e)))
			return VT_ENOMEM;
		e->kind = ST_EV_SUBFAIL;
		e->sub = q->sub;
		snprintf(e->reason, sizeof e->reason, "backlog: %s", vt_strerror(r));
		r = vt_pg_broken(f->pg) ? VT_EDB : VT_OK;
	}
	if (r == VT_ENOMEM) {
		st_ev_free(e);
		return r;
	}
	emit(f, e);
	return r;
}

/* One notification: the rows of the measurements with subscribers. */
static int notified(struct st_feed *f, const char *payload)
{
	struct vt_stream_note n;
	struct vt_pg_array a[3];
	const char *p[3];
	PGresult *res = NULL;
	char err[256];
	time_t now = time(NULL);
	int r, want = 0, i, from;
	long long lo = 0;

	if (vt_stream_note_parse(payload, &n) < 0)
		return VT_OK;        /* not ours to judge: ignored */
	for (i = 0; i < 3; i++)
		vt_pg_array_init(&a[i], 1 << 20);
	r = VT_ENOMEM;
	for (size_t k = 0; k < n.n; k++) {
		if (!lo || n.r[k].lo < lo)
			lo = n.r[k].lo;
		if (!interest_of(f, n.r[k].msm))
			continue;
		want++;
		if (vt_pg_array_ll(&a[0], n.r[k].msm) < 0 ||
		    vt_pg_array_ll(&a[1], n.r[k].lo) < 0 ||
		    vt_pg_array_ll(&a[2], n.r[k].hi) < 0)
			goto out;
	}
	if (!f->nmarks || now - f->marks[(f->mark_at + MARKS - 1) % MARKS].t >= 10) {
		f->marks[f->mark_at].t = now;
		f->marks[f->mark_at].seq = lo;
		f->mark_at = (f->mark_at + 1) % MARKS;
		if (f->nmarks < MARKS)
			f->nmarks++;
	}
	r = VT_OK;
	if (!want)
		goto out;
	r = VT_ETOOBIG;
	for (i = 0; i < 3; i++)
		if (!(p[i] = vt_pg_array_done(&a[i])))
			goto out;
	if ((r = vt_pg_exec(f->pg, &res, err, sizeof err,
			    "SELECT r.prb_id, r.result, r.msm_id FROM unnest($1::bigint[],"
			    " $2::bigint[], $3::bigint[]) AS g(m, lo, hi)"
			    " JOIN results r ON r.msm_id = g.m AND r.seq BETWEEN g.lo AND g.hi"
			    " ORDER BY r.msm_id, r.seq", 3, p)) < 0)
		goto out;
	/* one event per measurement */
	for (from = 0, i = 1; i <= PQntuples(res); i++) {
		struct st_ev *e;

		if (i < PQntuples(res) &&
		    !strcmp(PQgetvalue(res, i, 2), PQgetvalue(res, from, 2)))
			continue;
		if (!(e = calloc(1, sizeof *e))) {
			r = VT_ENOMEM;
			goto out;
		}
		e->kind = ST_EV_BATCH;
		e->msm = atoll(PQgetvalue(res, from, 2));
		e->xid = n.xid;
		if ((r = add_rows(f, e, res, from, i)) < 0) {
			st_ev_free(e);
			goto out;
		}
		emit(f, e);
		from = i;
	}
out:
	PQclear(res);
	for (i = 0; i < 3; i++)
		vt_pg_array_free(&a[i]);
	vt_stream_note_free(&n);
	return r;
}

static int feed_connect(struct st_feed *f, char *errbuf, size_t errlen)
{
	char sql[128];
	int r;

	if ((r = vt_pg_connect(f->db, &f->pg, errbuf, errlen)) < 0)
		return r;
	snprintf(sql, sizeof sql, "SET statement_timeout = %d; LISTEN vantage_stream",
		 f->c.stmt_ms);
	if ((r = vt_pg_cmd(f->pg, sql, errbuf, errlen)) < 0 ||
	    PQsetnonblocking(f->pg, 0) != 0) {
		PQfinish(f->pg);
		f->pg = NULL;
		return r < 0 ? r : VT_EDB;
	}
	return VT_OK;
}

static int round_once(struct st_feed *f)
{
	struct st_req *q, *next;
	PGnotify *nt;
	int r = VT_OK;

	pthread_mutex_lock(&f->mu);
	q = f->rq;
	f->rq = NULL;
	f->rq_tail = &f->rq;
	pthread_mutex_unlock(&f->mu);
	for (; q; q = next) {
		next = q->next;
		/* after a failure the counts still follow the requests (the
		 * RESET that follows drops these clients, and their UNSUBs
		 * come back) */
		if (r == VT_OK)
			r = q->kind == ST_REQ_SUB ? subscribe(f, q)
						  : interest_add(f, q->msm, -1);
		else
			(void)interest_add(f, q->msm, q->kind == ST_REQ_SUB ? 1 : -1);
		free(q);
	}
	if (r < 0)
		return r;
	if (!PQconsumeInput(f->pg))
		return VT_EDB;
	while (r == VT_OK && (nt = PQnotifies(f->pg))) {
		if (!strcmp(nt->relname, "vantage_stream"))
			r = notified(f, nt->extra);
		PQfreemem(nt);
	}
	return r;
}

static void *feed_main(void *arg)
{
	struct st_feed *f = arg;
	char err[256];
	uint64_t v;

	while (!atomic_load(&f->stop)) {
		struct pollfd pf[2] = { { f->efd, POLLIN, 0 }, { -1, POLLIN, 0 } };
		int waiting;

		if (!f->pg)
			(void)feed_connect(f, err, sizeof err);
		if (f->lost) {
			/* rows of a notification could not be read (or the
			 * connection and its notifications are gone): every
			 * client is told and dropped, and subscribes again */
			struct st_ev *e = calloc(1, sizeof *e);

			if (e) {
				e->kind = ST_EV_RESET;
				emit(f, e);
				f->wake(f->arg);
				f->lost = 0;
			}
		}
		if (f->pg)
			pf[1].fd = PQsocket(f->pg);
		if (poll(pf, 2, 1000) < 0 && errno != EINTR)
			break;
		if ((pf[0].revents & POLLIN) && read(f->efd, &v, sizeof v) < 0) {
			/* nothing to read: woken for nothing */
		}
		if (!f->pg)
			continue;
		if (round_once(f) < 0) {
			f->lost = 1;
			if (vt_pg_broken(f->pg)) {
				PQfinish(f->pg);
				f->pg = NULL;
			}
		}
		pthread_mutex_lock(&f->mu);
		waiting = f->ev != NULL;
		pthread_mutex_unlock(&f->mu);
		if (waiting)
			f->wake(f->arg);
	}
	return NULL;
}

int st_feed_start(const struct vt_stream_conf *c, void (*wake)(void *), void *arg,
		  struct st_feed **out, char *errbuf, size_t errlen)
{
	struct st_feed *f = calloc(1, sizeof *f);
	int r = VT_ENOMEM;

	*out = NULL;
	if (!f)
		return vt_err_set(r, errbuf, errlen, "stream: %s", vt_strerror(r));
	f->c = *c;
	f->wake = wake;
	f->arg = arg;
	f->efd = -1;
	f->rq_tail = &f->rq;
	f->ev_tail = &f->ev;
	pthread_mutex_init(&f->mu, NULL);
	vt_buf_init(&f->fmt, 0);
	if (!(f->db = strdup(c->db)))
		goto out;
	if ((f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		r = vt_err_set(VT_EIO, errbuf, errlen, "stream: eventfd: %s", strerror(errno));
		goto out;
	}
	if ((r = feed_connect(f, errbuf, errlen)) < 0)
		goto out;
	if (pthread_create(&f->thr, NULL, feed_main, f) != 0) {
		r = vt_err_set(VT_EIO, errbuf, errlen, "stream: no thread");
		goto out;
	}
	f->started = 1;
	*out = f;
	f = NULL;
	r = VT_OK;
out:
	st_feed_stop(f);
	return r;
}

void st_feed_request(struct st_feed *f, struct st_req *r)
{
	uint64_t one = 1;

	r->next = NULL;
	pthread_mutex_lock(&f->mu);
	*f->rq_tail = r;
	f->rq_tail = &r->next;
	pthread_mutex_unlock(&f->mu);
	if (write(f->efd, &one, sizeof one) < 0) {
		/* the counter is full: the feed is awake already */
	}
}

struct st_ev *st_feed_events(struct st_feed *f)
{
	struct st_ev *e;

	pthread_mutex_lock(&f->mu);
	e = f->ev;
	f->ev = NULL;
	f->ev_tail = &f->ev;
	pthread_mutex_unlock(&f->mu);
	return e;
}

void st_feed_halt(struct st_feed *f)
{
	uint64_t one = 1;

	if (!f || !f->started)
		return;
	atomic_store(&f->stop, 1);
	if (write(f->efd, &one, sizeof one) < 0) {
		/* awake already */
	}
	pthread_join(f->thr, NULL);
	f->started = 0;
}

void st_feed_stop(struct st_feed *f)
{
	struct st_ev *e, *en;
	struct st_req *q, *qn;

	if (!f)
		return;
	st_feed_halt(f);
	for (e = f->ev; e; e = en) {
		en = e->next;
		st_ev_free(e);
	}
	for (q = f->rq; q; q = qn) {
		qn = q->next;
		free(q);
	}
	if (f->pg)
		PQfinish(f->pg);
	if (f->efd >= 0)
		close(f->efd);
	pthread_mutex_destroy(&f->mu);
	vt_buf_free(&f->fmt);
	free(f->in);
	free(f->db);
	free(f);
}
