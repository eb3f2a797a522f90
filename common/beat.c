/* beat.c - the heartbeat row of a daemon (see beat.h). */
#include "common/beat.h"

#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/pg.h"

struct kv {
	char   key[32];
	double v;
};

struct vt_beat {
	pthread_t       th;
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	int             stop, now;
	char           *conninfo, *kind, *name, *metrics;
	int             interval_s;
	struct kv       kv[VT_BEAT_KEYS];
	int             nkv;
	/* the thread's own */
	PGconn         *db;
	long long       id;            /* the row; 0 before it exists */
	long long       started;       /* unix s of vt_beat_start */
};

/* info as JSON, under b->mu. */
static int info_json(struct vt_beat *b, struct vt_buf *out)
{
	int rc = vt_buf_addc(out, '{');

	for (int i = 0; rc == 0 && i < b->nkv; i++) {
		double v = b->kv[i].v;

		rc = vt_buf_addf(out, "%s\"%s\":", i ? "," : "", b->kv[i].key);
		if (rc == 0 && !isfinite(v))
			rc = vt_buf_adds(out, "null");
		else if (rc == 0 && v == floor(v) && fabs(v) < 1e15)
			rc = vt_buf_addf(out, "%.0f", v);
		else if (rc == 0)
			rc = vt_buf_addf(out, "%.17g", v);
	}
	return rc ? rc : vt_buf_addc(out, '}');
}

static int connect_db(struct vt_beat *b)
{
	static const char *const keys[] = { "dbname", "connect_timeout",
					    "application_name", NULL };
	const char *vals[] = { b->conninfo, "5", b->kind, NULL };
	char err[256];

	if (b->db && !vt_pg_broken(b->db))
		return VT_OK;
	PQfinish(b->db);
	b->id = 0;
	b->db = PQconnectdbParams(keys, vals, 1);
	if (!b->db || PQstatus(b->db) != CONNECTION_OK ||
	    vt_pg_cmd(b->db, "SET statement_timeout = 5000", err, sizeof err) < 0) {
		PQfinish(b->db);
		b->db = NULL;
		return VT_EDB;
	}
	return VT_OK;
}

/* Inserts or refreshes the row (stopped: marks it so). */
static void beat_write(struct vt_beat *b, int stopped)
{
	struct vt_buf info;
	char id[32], pid[32], iv[32], st[32], host[256], err[256];
	PGresult *res = NULL;

	vt_buf_init(&info, 8192);
	pthread_mutex_lock(&b->mu);
	if (info_json(b, &info) < 0) {
		vt_buf_reset(&info);
		if (vt_buf_adds(&info, "{}") < 0)
			info.len = 0;
	}
	pthread_mutex_unlock(&b->mu);
	if (connect_db(b) < 0)
		goto out;
	snprintf(id, sizeof id, "%lld", b->id);
	if (b->id) {
		const char *p[3] = { id, info.data, stopped ? "t" : "f" };

		if (vt_pg_exec(b->db, &res, err, sizeof err,
			       "UPDATE daemons SET last_seen = now(), info = $2::jsonb,"
			       " stopped = CASE WHEN $3::boolean THEN now() END"
			       " WHERE id = $1", 3, p) == 0 &&
		    atoi(PQcmdTuples(res)) == 1)
			goto out;
		PQclear(res);
		res = NULL;
	}
	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	snprintf(iv, sizeof iv, "%d", b->interval_s);
	snprintf(st, sizeof st, "%lld", b->started);
	{
		const char *p[8] = { b->kind, b->name, host, pid, iv, b->metrics,
				     info.data, st };

		vt_pg_try(b->db, "DELETE FROM daemons WHERE last_seen < now() - "
			  "interval '7 days'");
		if (vt_pg_exec(b->db, &res, err, sizeof err,
			       "INSERT INTO daemons (kind, name, host, pid, interval_s,"
			       " metrics, info, started) VALUES ($1, $2, $3, $4, $5, $6,"
			       " $7::jsonb, to_timestamp($8)) RETURNING id", 8, p) == 0)
			b->id = atoll(PQgetvalue(res, 0, 0));
	}
	if (stopped && b->id) {
		PQclear(res);
		res = NULL;
		const char *p[1] = { id };

		snprintf(id, sizeof id, "%lld", b->id);
		if (vt_pg_exec(b->db, NULL, err, sizeof err,
			       "UPDATE daemons SET stopped = now() WHERE id = $1",
			       1, p) < 0)
			b->id = 0;   /* nothing more to do: the row ages out */
	}
out:
	PQclear(res);
	vt_buf_free(&info);
}

static void *beat_main(void *arg)
{
	struct vt_beat *b = arg;

	pthread_mutex_lock(&b->mu);
	while (!b->stop) {
		struct timespec until;

		b->now = 0;
		pthread_mutex_unlock(&b->mu);
		beat_write(b, 0);
		pthread_mutex_lock(&b->mu);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += b->interval_s;
		while (!b->stop && !b->now &&
		       pthread_cond_timedwait(&b->cv, &b->mu, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&b->mu);
	beat_write(b, 1);
	return NULL;
}

static void beat_free(struct vt_beat *b)
{
	if (!b)
		return;
	PQfinish(b->db);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b->conninfo);
	free(b->kind);
	free(b->name);
	free(b->metrics);
	free(b);
}

int vt_beat_start(const char *conninfo, const char *kind, const char *name,
		  int interval_s, const char *metrics, struct vt_beat **out)
{
	struct vt_beat *b = calloc(1, sizeof *b);
	pthread_condattr_t ca;

	*out = NULL;
	if (!b)
		return VT_ENOMEM;
	pthread_mutex_init(&b->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	b->interval_s = interval_s > 0 ? interval_s : 10;
	b->started = (long long)time(NULL);
	if (!conninfo || !kind || !(b->conninfo = strdup(conninfo)) ||
	    !(b->kind = strdup(kind)) || !(b->name = strdup(name ? name : kind)) ||
	    (metrics && !(b->metrics = strdup(metrics)))) {
		beat_free(b);
		return conninfo && kind ? VT_ENOMEM : VT_EINVAL;
	}
	if (pthread_create(&b->th, NULL, beat_main, b) != 0) {
		beat_free(b);
		return VT_EIO;
	}
	*out = b;
	return VT_OK;
}

void vt_beat_set(struct vt_beat *b, const char *key, double v)
{
	int i;

	if (!b || !key)
		return;
	pthread_mutex_lock(&b->mu);
	for (i = 0; i < b->nkv && strcmp(b->kv[i].key, key); i++)
		;
	if (i == b->nkv && i < VT_BEAT_KEYS && strlen(key) < sizeof b->kv[i].key) {
		snprintf(b->kv[i].key, sizeof b->kv[i].key, "%s", key);
		b->nkv++;
	}
	if (i < b->nkv)
		b->kv[i].v = v;
	pthread_mutex_unlock(&b->mu);
}

void vt_beat_now(struct vt_beat *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	b->now = 1;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

void vt_beat_stop(struct vt_beat *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	b->stop = 1;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->th, NULL);
	beat_free(b);
}
