/* dbread.c - the replica pool and its monitor (dbread.h). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/pg.h"
#include "common/pgreplica.h"
#include "controller/api/dbpool.h"
#include "controller/api/dbread.h"

#define CHECK_MS 1000       /* one check a second */
#define FRESH_MS 3000       /* a check older than this no longer counts */
#define SAMPLES  256        /* the primary's WAL positions, one per check */

struct vt_dbread {
	struct vt_dbpool *pool;
	char *primary, *replica;
	int max_lag_s;
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;                       /* under mu */
	int usable;                     /* under mu */
	long long ok_until_ms;          /* under mu: monotonic */
	char state[256];                /* under mu: what was logged last */
	PGconn *pc, *rc;                /* the monitor's, its thread only */
	struct { long long t_ms; uint64_t lsn; } s[SAMPLES];   /* its thread */
	int ns, next;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sets the state; logs when what it says changed. */
static void set_state(struct vt_dbread *rd, int usable, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_state(struct vt_dbread *rd, int usable, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int changed;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&rd->mu);
	changed = rd->usable != usable || strcmp(rd->state, msg);
	rd->usable = usable;
	if (usable)
		rd->ok_until_ms = mono_ms() + FRESH_MS;
	snprintf(rd->state, sizeof rd->state, "%s", msg);
	pthread_mutex_unlock(&rd->mu);
	if (changed && usable)
		vt_info("read replica: %s", msg);
	else if (changed)
		vt_warn("read replica: %s; reads go to the primary", msg);
}

static int monitor_conn(const char *ci, PGconn **c, char *err, size_t len)
{
	int rc;

	if (*c && !vt_pg_broken(*c))
		return 0;
	PQfinish(*c);
	*c = NULL;
	if ((rc = vt_pg_connect(ci, c, err, len)) < 0)
		return rc;
	if ((rc = vt_pg_cmd(*c, "SET statement_timeout = 2000;"
			    " SET application_name = 'vantage-api-monitor'",
			    err, len)) < 0) {
		PQfinish(*c);
		*c = NULL;
	}
	return rc;
}

static void check(struct vt_dbread *rd)
{
	struct vt_pg_replica_pos pos;
	long long now = mono_ms(), best = -1;
	char err[512];
	double lag;
	int rc;

	if (monitor_conn(rd->primary, &rd->pc, err, sizeof err) < 0) {
		set_state(rd, 0, "the primary cannot be reached to measure the lag");
		return;
	}
	if (monitor_conn(rd->replica, &rd->rc, err, sizeof err) < 0) {
		err[strcspn(err, "\n")] = '\0';
		set_state(rd, 0, "unreachable (%s)", err);
		return;
	}
	rc = vt_pg_replica_pos(rd->pc, rd->rc, &pos, err, sizeof err);
	if (rc < 0) {
		err[strcspn(err, "\n")] = '\0';
		set_state(rd, 0, "%s", err);
		return;
	}
	/* The replica holds everything the primary had written at the newest
	 * sample it has replayed past: it misses nothing older than that.
	 * WAL that is no commit (checkpoints, vacuum) delays this by a moment
	 * only; the age of its last replayed commit is a bound too. */
	rd->s[rd->next].t_ms = now;
	rd->s[rd->next].lsn = pos.primary_lsn;
	rd->next = (rd->next + 1) % SAMPLES;
	if (rd->ns < SAMPLES)
		rd->ns++;
	for (int i = 0; i < rd->ns; i++)
		if (rd->s[i].lsn <= pos.replay_lsn && rd->s[i].t_ms > best)
			best = rd->s[i].t_ms;
	lag = best < 0 ? VT_PG_LAG_UNKNOWN : (double)(now - best) / 1000.0;
	if (pos.commit_age_s < lag)
		lag = pos.commit_age_s;
	if (lag > rd->max_lag_s) {
		if (lag >= VT_PG_LAG_UNKNOWN)
			set_state(rd, 0, "behind the primary by an unknown time");
		else
			set_state(rd, 0, "lagging more than %d s", rd->max_lag_s);
		return;
	}
	/* The exact lag is not part of the message: it is logged on changes. */
	set_state(rd, 1, "in use (lag at most %d s)", rd->max_lag_s);
}

static void *monitor(void *arg)
{
	struct vt_dbread *rd = arg;
	struct timespec until;

	for (;;) {
		check(rd);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += CHECK_MS / 1000;
		pthread_mutex_lock(&rd->mu);
		while (!rd->stop && pthread_cond_timedwait(&rd->cv, &rd->mu,
							   &until) != ETIMEDOUT)
			;
		if (rd->stop) {
			pthread_mutex_unlock(&rd->mu);
			break;
		}
		pthread_mutex_unlock(&rd->mu);
	}
	PQfinish(rd->pc);
	PQfinish(rd->rc);
	return NULL;
}

int vt_dbread_new(const char *primary, const char *replica, int conns,
		  int stmt_ms, int max_lag_s, struct vt_dbread **out)
{
	struct vt_dbread *rd = calloc(1, sizeof *rd);
	pthread_condattr_t ca;
	int rc = VT_ENOMEM;

	*out = NULL;
	if (!rd)
		return rc;
	pthread_mutex_init(&rd->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rd->cv, &ca);
	pthread_condattr_destroy(&ca);
	rd->max_lag_s = max_lag_s;
	rd->primary = strdup(primary ? primary : "");
	rd->replica = strdup(replica ? replica : "");
	if (!rd->primary || !rd->replica ||
	    (rc = vt_dbpool_new(replica, conns, stmt_ms, 2000, &rd->pool)) < 0)
		goto fail;
	if (pthread_create(&rd->th, NULL, monitor, rd)) {
		rc = VT_ENOMEM;
		goto fail;
	}
	rd->started = 1;
	*out = rd;
	return 0;
fail:
	vt_dbread_free(rd);
	return rc;
}

void vt_dbread_free(struct vt_dbread *rd)
{
	if (!rd)
		return;
	if (rd->started) {
		pthread_mutex_lock(&rd->mu);
		rd->stop = 1;
		pthread_cond_signal(&rd->cv);
		pthread_mutex_unlock(&rd->mu);
		pthread_join(rd->th, NULL);
	}
	vt_dbpool_free(rd->pool);
	pthread_mutex_destroy(&rd->mu);
	pthread_cond_destroy(&rd->cv);
	free(rd->primary);
	free(rd->replica);
	free(rd);
}

struct vt_dbpool *vt_dbread_pool(struct vt_dbread *rd)
{
	struct vt_dbpool *p = NULL;

	if (!rd)
		return NULL;
	pthread_mutex_lock(&rd->mu);
	if (rd->usable && mono_ms() < rd->ok_until_ms)
		p = rd->pool;
	pthread_mutex_unlock(&rd->mu);
	return p;
}

void vt_dbread_lost(struct vt_dbread *rd, const char *why)
{
	char msg[200];

	snprintf(msg, sizeof msg, "%.190s", why ? why : "failed");
	msg[strcspn(msg, "\n")] = '\0';
	set_state(rd, 0, "failed under a request (%.200s)", msg);
}

void vt_dbread_src_init(struct vt_dbread_src *s, struct vt_dbread *rd,
			struct vt_dbpool *primary, struct vt_dbpool *replica)
{
	memset(s, 0, sizeof *s);
	s->rd = rd;
	s->pool = replica ? replica : primary;
	s->replica = replica != NULL;
}

PGconn *vt_dbread_src_acquire(void *arg)
{
	struct vt_dbread_src *s = arg;
	char err[256], lsn[32];
	PGconn *c;
	int rc, ok = 0;

	if (s->lost)
		return NULL;
	if (!(c = vt_dbpool_get(s->pool, &rc, err, sizeof err))) {
		if (s->replica && rc != VT_ETIMEOUT) {
			s->lost = 1;
			vt_dbread_lost(s->rd, err);
		}
		return NULL;
	}
	if (!s->replica)
		return c;
	rc = vt_pg_replica_since(c, s->lsn, &ok, lsn, sizeof lsn, err, sizeof err);
	if (rc < 0 || !ok) {
		vt_dbpool_put(s->pool, c);
		s->lost = 1;
		vt_dbread_lost(s->rd, rc < 0 ? err : "its replay position went back");
		return NULL;
	}
	snprintf(s->lsn, sizeof s->lsn, "%s", lsn);
	return c;
}

void vt_dbread_src_release(void *arg, PGconn *c)
{
	struct vt_dbread_src *s = arg;

	if (c && s->replica && vt_pg_broken(c) && !s->lost) {
		s->lost = 1;
		vt_dbread_lost(s->rd, PQerrorMessage(c));
	}
	vt_dbpool_put(s->pool, c);
}
