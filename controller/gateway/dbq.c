/* dbq.c - the gateway's database threads (see dbq.h). */
#include "controller/gateway/dbq.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/vtime.h"
#include "controller/gateway/gwmetrics.h"

#define DRAIN_MS  5000    /* jobs still run this long after gw_dbq_free */
/* The control lane's hold (see dbq.h, "Holding"): a group waits for more
 * like jobs while they keep coming at most HOLD_GAP_US apart, for
 * HOLD_MAX_GAPS gaps at most in all. */
#define HOLD_GAP_US    2000
#define HOLD_MAX_GAPS  5

static const int lane_workers[GW_LANES] = { 1, 2, 1 };

struct lane {
	struct gw_job  *head, *tail;
	int             n;          /* queued */
	int             busy;       /* running */
	size_t          bytes;      /* sizes of the queued jobs */
	int             running;    /* workers running a job or group */
	int64_t         last_us;    /* the last submit (vt_mono_us) */
	int64_t         gap_us;     /* between the last two submits */
	int64_t         hold_us;    /* the hold's gap; 0: no hold */
	pthread_cond_t  cv;
};

struct worker {
	struct gw_dbq  *q;
	enum gw_lane    lane;
	struct gw_db   *db;
	pthread_t       th;
	int             started;
};

struct gw_dbq {
	pthread_mutex_t mu;
	struct lane     lane[GW_LANES];
	int             stop;       /* workers: finish the queue and exit */
	int64_t         deadline;   /* mono ms after which jobs are skipped */
	int             closed;     /* submits go straight to done */
	struct gw_inbox *def;       /* jobs naming no inbox */
	struct worker  *w;
	int             nw;
	struct gw_metrics *metrics;  /* set before jobs run */
	pthread_cond_t  idle;       /* a lane ran out of work */
	int             gather_ms;  /* see gw_dbq_gather */
};

/* Hands a finished job to its inbox. */
static void done_add(struct gw_dbq *q, struct gw_job *j)
{
	gw_inbox_post(j->home ? j->home : q->def, j);
}

/* Takes the head of l into grp[n0] (n0 == 0: whatever it is; else only
 * a job like grp[0]) and, when it names a group function, the like jobs
 * queued behind it, *bytes counting their sizes; the caller holds the
 * lock.  Returns how many grp holds now. */
static int take(struct lane *l, struct gw_job **grp, int n0, size_t *bytes)
{
	struct gw_job *j = l->head;
	size_t before;
	int n = n0;

	if (n0 == 0)
		*bytes = 0;
	before = *bytes;
	while (j && (n == 0 || (grp[0]->group && j->group == grp[0]->group &&
				n < GW_DBQ_GROUP_MAX &&
				*bytes + j->size <= GW_DBQ_GROUP_BYTES))) {
		if (!(l->head = j->qnext))
			l->tail = NULL;
		grp[n++] = j;
		*bytes += j->size;
		j = l->head;
	}
	l->n -= n - n0;
	l->busy += n - n0;
	l->bytes -= *bytes - before < l->bytes ? *bytes - before : l->bytes;
	return n;
}

/* Waits on c (a CLOCK_MONOTONIC one) until mono us at, the caller
 * holding q->mu. */
static void wait_until(pthread_cond_t *c, pthread_mutex_t *mu, int64_t at)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(at / 1000000);
	ts.tv_nsec = (long)(at % 1000000) * 1000L;
	pthread_cond_timedwait(c, mu, &ts);
}

/* Holding: in a storm the control lane's jobs arrive one by one, each
 * group would be one job with its own statements and its own COMMIT (a
 * WAL flush).  When the group just taken is not full and its jobs came
 * close together, the worker waits for more like jobs while they keep
 * coming (each at most hold_us after the one before, HOLD_MAX_GAPS gaps
 * in all), so that one group serves many probes.  A lone job on a quiet
 * lane (the one before it long ago) never waits.  The caller holds the
 * lock; returns the new size of grp. */
static int hold(struct gw_dbq *q, struct lane *l, struct gw_job **grp, int n,
		size_t *bytes)
{
	int64_t end, now = vt_mono_us();

	if (!l->hold_us || !grp[0]->group || l->head || l->gap_us > l->hold_us)
		return n;
	end = now + l->hold_us * HOLD_MAX_GAPS;
	while (n < GW_DBQ_GROUP_MAX && !q->stop) {
		if (l->head) {
			int n1 = take(l, grp, n, bytes);

			if (n1 == n)
				break;   /* another kind of job next */
			n = n1;
			continue;
		}
		now = vt_mono_us();
		if (now >= end || now >= l->last_us + l->hold_us)
			break;   /* no more coming, or held long enough */
		wait_until(&l->cv, &q->mu, end < l->last_us + l->hold_us ?
			   end : l->last_us + l->hold_us);
	}
	return n;
}

/* Whether a worker should leave the group at the head of l queued a while
 * longer (the caller holds the lock): another worker of the lane is
 * running one (its COMMIT, waited for anyway, ends soon), and the jobs
 * queued are fewer than a full group. */
static int gather(const struct gw_dbq *q, const struct lane *l)
{
	return !q->stop && q->gather_ms > 0 && l->head->group && l->running > 0 &&
	       l->n < GW_DBQ_GROUP_MAX && l->bytes < GW_DBQ_GATHER_BYTES;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct gw_dbq *q = w->q;
	struct lane *l = &q->lane[w->lane];
	struct gw_job *grp[GW_DBQ_GROUP_MAX], *j;
	struct gw_metrics *gm;
	int64_t until = 0;      /* gathering until then (mono us) */
	size_t bytes;
	int skip, n;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!l->head && !q->stop)
			pthread_cond_wait(&l->cv, &q->mu);
		if (!l->head)
			break;
		/* Group commit across uploads: while the other worker commits,
		 * the uploads arriving meanwhile wait to go in one COPY and one
		 * COMMIT (for gather_ms at most), instead of the first of them
		 * going alone beside it. */
		if (gather(q, l)) {
			if (!until)
				until = vt_mono_us() + q->gather_ms * 1000LL;
			if (vt_mono_us() < until) {
				wait_until(&l->cv, &q->mu, until);
				continue;
			}
		}
		until = 0;
		n = take(l, grp, 0, &bytes);
		n = hold(q, l, grp, n, &bytes);
		l->running++;
		skip = q->stop && vt_mono_ms() > q->deadline;
		gm = q->metrics;
		pthread_mutex_unlock(&q->mu);
		for (int i = 0; i < n; i++)
			gw_m_lane_wait(gm, w->lane,
				       vt_mono_us() - grp[i]->queued_us);

		j = grp[0];
		if (skip) {
			for (int i = 0; i < n; i++) {
				grp[i]->rc = VT_ETIMEOUT;
				snprintf(grp[i]->err, sizeof grp[i]->err,
					 "gateway stopping");
			}
		} else if (j->group) {
			j->group(grp, n, w->db);
		} else if ((j->rc = j->run(j, w->db)) < 0) {
			snprintf(j->err, sizeof j->err, "%s", j->rc == VT_EDB ?
				 gw_db_error(w->db) : vt_strerror(j->rc));
		}

		/* Posted before they stop counting as busy: a lane seen idle
		 * (gw_dbq_settle) has every answer in an inbox already. */
		for (int i = 0; i < n; i++)
			done_add(q, grp[i]);
		pthread_mutex_lock(&q->mu);
		l->busy -= n;
		l->running--;
		pthread_cond_broadcast(&l->cv);   /* a gathering worker goes */
		if (!l->busy && !l->head)
			pthread_cond_broadcast(&q->idle);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int gw_dbq_new(const char *conninfo, int sink_timeout_ms, struct gw_inbox *def,
	       struct gw_dbq **out)
{
	struct gw_dbq *q = calloc(1, sizeof *q);
	int rc = VT_ENOMEM, n = 0;

	*out = NULL;
	if (!q)
		return VT_ENOMEM;
	pthread_mutex_init(&q->mu, NULL);
	{
		pthread_condattr_t ca;   /* gw_dbq_settle waits on mono time */

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&q->idle, &ca);
		pthread_condattr_destroy(&ca);
	}
	{
		pthread_condattr_t ca;   /* gathering and hold() wait on mono time */
		const char *env = getenv("VANTAGE_GW_TEST_CTRL_HOLD_MS");

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		for (int i = 0; i < GW_LANES; i++) {
			pthread_cond_init(&q->lane[i].cv, &ca);
			n += lane_workers[i];
		}
		pthread_condattr_destroy(&ca);
		/* Test only: a longer hold, so that a test on a loaded
		 * machine sees the groups a storm gets (gateway_ctrlbatch);
		 * 0 turns it off. */
		q->lane[GW_LANE_CTRL].hold_us = env ? atoll(env) * 1000 : HOLD_GAP_US;
	}
	q->gather_ms = GW_DBQ_GATHER_MS;
	q->def = def;
	if (!(q->w = calloc((size_t)n, sizeof *q->w)))
		goto fail;
	for (int i = 0; i < GW_LANES; i++)
		for (int k = 0; k < lane_workers[i]; k++) {
			struct worker *w = &q->w[q->nw];

			w->q = q;
			w->lane = (enum gw_lane)i;
			if ((rc = gw_db_new(conninfo, &w->db)) < 0)
				goto fail;
			if (i == GW_LANE_SINK && sink_timeout_ms > 0)
				gw_db_set_timeout(w->db, sink_timeout_ms);
			q->nw++;
		}
	for (int i = 0; i < q->nw; i++) {
		if (pthread_create(&q->w[i].th, NULL, worker_main, &q->w[i]) != 0) {
			rc = VT_EIO;
			goto fail;
		}
		q->w[i].started = 1;
	}
	*out = q;
	return VT_OK;
fail:
	gw_dbq_free(q);
	return rc;
}

/* No job queued or running on any lane; the caller holds the lock. */
static int idle(const struct gw_dbq *q)
{
	for (int i = 0; i < GW_LANES; i++)
		if (q->lane[i].head || q->lane[i].busy)
			return 0;
	return 1;
}

int gw_dbq_settle(struct gw_dbq *q, int64_t until)
{
	int rc = VT_OK;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		int queued = 0;

		if (idle(q))
			break;
		for (int i = 0; i < GW_LANES; i++)
			queued |= q->lane[i].head != NULL;
		/* Past until, only a job already running is waited for (the
		 * workers' join would wait for it too). */
		if (queued && vt_mono_ms() >= until) {
			rc = VT_ETIMEOUT;
			break;
		}
		if (queued) {
			wait_until(&q->idle, &q->mu, until * 1000);
		} else {
			pthread_cond_wait(&q->idle, &q->mu);
		}
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void gw_dbq_stop(struct gw_dbq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	if (q->closed) {
		pthread_mutex_unlock(&q->mu);
		return;
	}
	q->stop = 1;
	q->deadline = vt_mono_ms() + DRAIN_MS;
	for (int i = 0; i < GW_LANES; i++)
		pthread_cond_broadcast(&q->lane[i].cv);
	pthread_mutex_unlock(&q->mu);
	for (int i = 0; i < q->nw; i++)
		if (q->w[i].started) {
			pthread_join(q->w[i].th, NULL);
			q->w[i].started = 0;
		}
	pthread_mutex_lock(&q->mu);
	q->closed = 1;
	pthread_mutex_unlock(&q->mu);
}

void gw_dbq_free(struct gw_dbq *q)
{
	if (!q)
		return;
	gw_dbq_stop(q);
	for (int i = 0; i < q->nw; i++)
		gw_db_free(q->w[i].db);
	free(q->w);
	for (int i = 0; i < GW_LANES; i++)
		pthread_cond_destroy(&q->lane[i].cv);
	pthread_cond_destroy(&q->idle);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

void gw_dbq_submit(struct gw_dbq *q, enum gw_lane lane, struct gw_job *j)
{
	struct lane *l = &q->lane[lane];

	j->qnext = NULL;
	j->rc = 0;
	j->err[0] = '\0';
	j->queued_us = vt_mono_us();
	pthread_mutex_lock(&q->mu);
	l->gap_us = j->queued_us - l->last_us;
	l->last_us = j->queued_us;
	if (q->closed || q->stop) {
		pthread_mutex_unlock(&q->mu);
		j->rc = VT_ECLOSED;
		snprintf(j->err, sizeof j->err, "gateway stopping");
		done_add(q, j);
		return;
	} else {
		if (l->tail)
			l->tail->qnext = j;
		else
			l->head = j;
		l->tail = j;
		l->n++;
		l->bytes += j->size;
		pthread_cond_signal(&l->cv);
	}
	pthread_mutex_unlock(&q->mu);
}

void gw_dbq_gather(struct gw_dbq *q, int ms)
{
	pthread_mutex_lock(&q->mu);
	q->gather_ms = ms < 0 ? 0 : ms;
	pthread_mutex_unlock(&q->mu);
}

void gw_dbq_post(struct gw_dbq *q, struct gw_job *j)
{
	gw_inbox_post(q->def, j);
}

void gw_dbq_metrics(struct gw_dbq *q, struct gw_metrics *gm)
{
	pthread_mutex_lock(&q->mu);
	q->metrics = gm;
	pthread_mutex_unlock(&q->mu);
}

int gw_dbq_pending(struct gw_dbq *q, enum gw_lane lane)
{
	int n;

	pthread_mutex_lock(&q->mu);
	n = q->lane[lane].n + q->lane[lane].busy;
	pthread_mutex_unlock(&q->mu);
	return n;
}
