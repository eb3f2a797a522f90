/* dbpool.c - the PostgreSQL connection pool of vantage-api. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/pg.h"
#include "controller/api/dbpool.h"

struct vt_dbpool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *conninfo;
	int max, total, nidle, stmt_ms, wait_ms;
	PGconn **idle;
};

int vt_dbpool_new(const char *conninfo, int max, int stmt_ms, int wait_ms,
		  struct vt_dbpool **out)
{
	struct vt_dbpool *p = calloc(1, sizeof *p);
	pthread_condattr_t ca;

	*out = NULL;
	if (!p || max < 1)
		goto fail;
	p->conninfo = strdup(conninfo ? conninfo : "");
	p->idle = calloc((size_t)max, sizeof *p->idle);
	if (!p->conninfo || !p->idle)
		goto fail;
	p->max = max;
	p->stmt_ms = stmt_ms;
	p->wait_ms = wait_ms;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = p;
	return 0;
fail:
	if (p) {
		free(p->conninfo);
		free(p->idle);
	}
	free(p);
	return VT_ENOMEM;
}

void vt_dbpool_free(struct vt_dbpool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nidle; i++)
		PQfinish(p->idle[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->idle);
	free(p->conninfo);
	free(p);
}

static PGconn *connect_one(struct vt_dbpool *p, int *rc, char *errbuf,
			   size_t errlen)
{
	char set[160];
	PGconn *c;

	if ((*rc = vt_pg_connect(p->conninfo, &c, errbuf, errlen)) < 0)
		return NULL;
	snprintf(set, sizeof set, "SET statement_timeout = %d;"
		 " SET idle_in_transaction_session_timeout = %d;"
		 " SET application_name = 'vantage-api'", p->stmt_ms,
		 p->stmt_ms * 2);
	if ((*rc = vt_pg_cmd(c, set, errbuf, errlen)) < 0) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

PGconn *vt_dbpool_get(struct vt_dbpool *p, int *rc, char *errbuf, size_t errlen)
{
	struct timespec until;
	PGconn *c = NULL;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += p->wait_ms / 1000;
	until.tv_nsec += (long)(p->wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->mu);
	while (!p->nidle && p->total >= p->max) {
		if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT &&
		    !p->nidle && p->total >= p->max) {
			pthread_mutex_unlock(&p->mu);
			snprintf(errbuf, errlen, "all %d database connections are busy",
				 p->max);
			*rc = VT_ETIMEOUT;
			return NULL;
		}
	}
	if (p->nidle) {
		c = p->idle[--p->nidle];
		pthread_mutex_unlock(&p->mu);
		*rc = 0;
		return c;
	}
	p->total++;
	pthread_mutex_unlock(&p->mu);
	if (!(c = connect_one(p, rc, errbuf, errlen))) {
		pthread_mutex_lock(&p->mu);
		p->total--;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return c;
}

void vt_dbpool_put(struct vt_dbpool *p, PGconn *c)
{
	if (!c)
		return;
	/* A connection left inside a transaction or mid-result is not reused. */
	if (vt_pg_broken(c) || PQtransactionStatus(c) != PQTRANS_IDLE) {
		PQfinish(c);
		c = NULL;
	}
	pthread_mutex_lock(&p->mu);
	if (c)
		p->idle[p->nidle++] = c;
	else
		p->total--;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}
