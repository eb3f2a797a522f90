/* worker.c - one batch of the result queue, in one transaction. */
#include "controller/worker/worker.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/pg.h"
#include "proto/enrich.h"

#define PARAM_MAX (256u << 20)     /* one array parameter (bytes) */

void vt_worker_opts_default(struct vt_worker_opts *o)
{
	o->batch = 1000;
	o->late_window = VT_LATE_WINDOW_DAYS * 86400L;
	o->future_slack = 86400L;
}

int vt_worker_partition(PGconn *db, long long ts, char *errbuf, size_t errlen)
{
	time_t t = (time_t)ts;
	char sql[512], day[16], next[16], name[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	strftime(name, sizeof name, "results_%Y%m%d", &tm);
	t += 86400;
	gmtime_r(&t, &tm);
	strftime(next, sizeof next, "%Y-%m-%d", &tm);
	/* The advisory lock keeps two workers from racing on the same name. */
	snprintf(sql, sizeof sql,
		 "SELECT pg_advisory_lock(7346002);"
		 "CREATE TABLE IF NOT EXISTS %s PARTITION OF results"
		 " FOR VALUES FROM ('%s') TO ('%s');"
		 "SELECT pg_advisory_unlock(7346002);", name, day, next);
	return vt_pg_cmd(db, sql, errbuf, errlen);
}

struct msm {
	long long id;
	char type[16];
	long step;
	long long group_id;
};

struct row {
	long long qid;
	long probe;
	long long ts;
	long long msm_id;
	int ok;                 /* 1: store, 0: reject */
	const char *reason;
	char reason_buf[160];
	char digest[65];
	char *stored;           /* enriched JSON (owned) */
};

static int msm_cmp(const void *a, const void *b)
{
	long long x = ((const struct msm *)a)->id, y = ((const struct msm *)b)->id;

	return x < y ? -1 : x > y;
}

static int load_msms(PGconn *db, struct row *rows, int n, struct msm **out,
		     int *nout, char *errbuf, size_t errlen)
{
	struct vt_pg_array ids;
	const char *p[1];
	PGresult *res = NULL;
	struct msm *m = NULL;
	int r;

	vt_pg_array_init(&ids, PARAM_MAX);
	for (int i = 0; i < n; i++)
		if (rows[i].ok && (r = vt_pg_array_ll(&ids, rows[i].msm_id)) < 0)
			goto out;
	if (!(p[0] = vt_pg_array_done(&ids))) {
		r = VT_ENOMEM;
		goto out;
	}
	r = vt_pg_exec(db, &res, errbuf, errlen,
		       "SELECT id, type, coalesce(interval, 0),"
		       " coalesce(group_id, id), is_oneoff FROM measurements"
		       " WHERE id = ANY($1::bigint[]) ORDER BY id", 1, p);
	if (r < 0)
		goto out;
	*nout = PQntuples(res);
	m = calloc((size_t)*nout + 1, sizeof *m);
	if (!m) {
		r = VT_ENOMEM;
		goto out;
	}
	for (int i = 0; i < *nout; i++) {
		m[i].id = atoll(PQgetvalue(res, i, 0));
		snprintf(m[i].type, sizeof m[i].type, "%s", PQgetvalue(res, i, 1));
		m[i].step = PQgetvalue(res, i, 4)[0] == 't' ? 0
			  : atol(PQgetvalue(res, i, 2));
		m[i].group_id = atoll(PQgetvalue(res, i, 3));
	}
	*out = m;
	m = NULL;
out:
	PQclear(res);
	free(m);
	vt_pg_array_free(&ids);
	return r;
}

static void digest_hex(const char *s, size_t len, char out[65])
{
	unsigned char d[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)s, len, d);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void reject(struct row *row, const char *what, const char *detail)
{
	row->ok = 0;
	snprintf(row->reason_buf, sizeof row->reason_buf, "%s%s", what, detail);
	row->reason = row->reason_buf;
}

/* Parses and enriches every claimed row; rows that cannot be stored get a
 * reason. */
static int process_rows(PGconn *db, PGresult *q, struct row *rows,
			const struct vt_worker_opts *o, char *errbuf,
			size_t errlen)
{
	int n = PQntuples(q), nm = 0, r;
	struct vt_result **res = calloc((size_t)n + 1, sizeof *res);
	struct msm *msms = NULL;
	long long now = (long long)time(NULL);
	struct vt_buf out;

	if (!res)
		return VT_ENOMEM;
	vt_buf_init(&out, VT_RESULT_MAX * 2);
	for (int i = 0; i < n; i++) {
		const char *line = PQgetvalue(q, i, 5);
		size_t len = (size_t)PQgetlength(q, i, 5);
		char err[128];

		rows[i].qid = atoll(PQgetvalue(q, i, 0));
		rows[i].probe = atol(PQgetvalue(q, i, 1));
		rows[i].ok = 1;
		digest_hex(line, len, rows[i].digest);
		if (vt_result_parse(line, len, &res[i], err, sizeof err) < 0) {
			reject(&rows[i], "malformed: ", err);
			continue;
		}
		rows[i].msm_id = vt_result_msm_id(res[i]);
		rows[i].ts = vt_result_time(res[i]);
		if (rows[i].ts < now - o->late_window)
			reject(&rows[i], "too late: older than the late window", "");
		else if (rows[i].ts > now + o->future_slack)
			reject(&rows[i], "time in the future", "");
	}
	r = load_msms(db, rows, n, &msms, &nm, errbuf, errlen);
	if (r < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		struct msm key = { .id = rows[i].msm_id }, *m;
		struct vt_enrich e;

		if (!rows[i].ok)
			continue;
		m = bsearch(&key, msms, (size_t)nm, sizeof *msms, msm_cmp);
		if (!m) {
			reject(&rows[i], "unknown measurement", "");
			continue;
		}
		e = (struct vt_enrich){
			.type = m->type, .prb_id = rows[i].probe,
			.from = PQgetisnull(q, i, 2) ? NULL : PQgetvalue(q, i, 2),
			.group_id = m->group_id, .step = m->step, .stored = now,
		};
		vt_buf_reset(&out);
		r = vt_result_enrich(res[i], &e, &out);
		if (r == VT_EINVAL) {
			reject(&rows[i], "unknown measurement type ", m->type);
			continue;
		}
		if (r < 0) {
			reject(&rows[i], "cannot enrich: ", vt_strerror(r));
			continue;
		}
		if (!(rows[i].stored = strdup(out.data))) {
			r = VT_ENOMEM;
			goto out;
		}
	}
	r = VT_OK;
out:
	for (int i = 0; i < n; i++)
		vt_result_free(res[i]);
	free(res);
	free(msms);
	vt_buf_free(&out);
	return r;
}

static int latest_cmp(const void *a, const void *b)
{
	const struct row *x = *(struct row *const *)a, *y = *(struct row *const *)b;

	if (x->msm_id != y->msm_id)
		return x->msm_id < y->msm_id ? -1 : 1;
	if (x->probe != y->probe)
		return x->probe < y->probe ? -1 : 1;
	return x->ts < y->ts ? 1 : x->ts > y->ts ? -1 : 0;   /* newest first */
}

static int store(PGconn *db, PGresult *q, struct row *rows, int n,
		 struct vt_worker_stats *st, char *errbuf, size_t errlen)
{
	struct vt_pg_array a[7], lm, lp, lt, lr;
	struct row **ok = calloc((size_t)n + 1, sizeof *ok);
	const char *p[7];
	PGresult *res = NULL;
	int nok = 0, nrej = 0, r = VT_ENOMEM;

	for (int i = 0; i < 7; i++)
		vt_pg_array_init(&a[i], PARAM_MAX);
	vt_pg_array_init(&lm, PARAM_MAX);
	vt_pg_array_init(&lp, PARAM_MAX);
	vt_pg_array_init(&lt, PARAM_MAX);
	vt_pg_array_init(&lr, PARAM_MAX);
	if (!ok)
		goto out;
	/* results */
	for (int i = 0; i < n; i++) {
		if (!rows[i].ok)
			continue;
		ok[nok++] = &rows[i];
		if (vt_pg_array_ll(&a[0], rows[i].msm_id) < 0 ||
		    vt_pg_array_ll(&a[1], rows[i].probe) < 0 ||
		    vt_pg_array_ll(&a[2], rows[i].ts) < 0 ||
		    vt_pg_array_raw(&a[3], rows[i].digest) < 0 ||
		    vt_pg_array_str(&a[4], rows[i].stored, strlen(rows[i].stored)) < 0)
			goto out;
	}
	if (nok) {
		for (int i = 0; i < 5; i++)
			if (!(p[i] = vt_pg_array_done(&a[i])))
				goto out;
		r = vt_pg_exec(db, &res, errbuf, errlen,
			"INSERT INTO results (msm_id, prb_id, ts, day, stored, digest, result)"
			" SELECT m, p, t, (to_timestamp(t) AT TIME ZONE 'UTC')::date,"
			" extract(epoch FROM now())::bigint, decode(d, 'hex'), j"
			" FROM unnest($1::bigint[], $2::integer[], $3::bigint[],"
			" $4::text[], $5::text[]) AS u(m, p, t, d, j)"
			" ON CONFLICT DO NOTHING", 5, p);
		if (r < 0)
			goto out;
		st->stored += atol(PQcmdTuples(res));
		st->duplicates += nok - atol(PQcmdTuples(res));
		PQclear(res);
		res = NULL;
		/* latest: the newest result per (measurement, probe) */
		qsort(ok, (size_t)nok, sizeof *ok, latest_cmp);
		r = VT_ENOMEM;
		for (int i = 0; i < nok; i++) {
			if (i && ok[i]->msm_id == ok[i - 1]->msm_id &&
			    ok[i]->probe == ok[i - 1]->probe)
				continue;
			if (vt_pg_array_ll(&lm, ok[i]->msm_id) < 0 ||
			    vt_pg_array_ll(&lp, ok[i]->probe) < 0 ||
			    vt_pg_array_ll(&lt, ok[i]->ts) < 0 ||
			    vt_pg_array_str(&lr, ok[i]->stored, strlen(ok[i]->stored)) < 0)
				goto out;
		}
		if (!(p[0] = vt_pg_array_done(&lm)) || !(p[1] = vt_pg_array_done(&lp)) ||
		    !(p[2] = vt_pg_array_done(&lt)) || !(p[3] = vt_pg_array_done(&lr)))
			goto out;
		r = vt_pg_exec(db, NULL, errbuf, errlen,
			"INSERT INTO latest (msm_id, prb_id, ts, result)"
			" SELECT * FROM unnest($1::bigint[], $2::integer[],"
			" $3::bigint[], $4::text[])"
			" ON CONFLICT (msm_id, prb_id) DO UPDATE"
			" SET ts = excluded.ts, result = excluded.result"
			" WHERE latest.ts <= excluded.ts", 4, p);
		if (r < 0)
			goto out;
	}
	/* rejected */
	for (int i = 0; i < 7; i++) {
		vt_pg_array_free(&a[i]);
		vt_pg_array_init(&a[i], PARAM_MAX);
	}
	r = VT_ENOMEM;
	for (int i = 0; i < n; i++) {
		if (rows[i].ok)
			continue;
		nrej++;
		if (vt_pg_array_ll(&a[0], rows[i].qid) < 0 ||
		    vt_pg_array_ll(&a[1], rows[i].probe) < 0 ||
		    vt_pg_array_str(&a[2], PQgetvalue(q, i, 3), strlen(PQgetvalue(q, i, 3))) < 0 ||
		    vt_pg_array_str(&a[3], rows[i].reason, strlen(rows[i].reason)) < 0 ||
		    vt_pg_array_str(&a[4], PQgetvalue(q, i, 5), (size_t)PQgetlength(q, i, 5)) < 0)
			goto out;
	}
	if (nrej) {
		for (int i = 0; i < 5; i++)
			if (!(p[i] = vt_pg_array_done(&a[i])))
				goto out;
		r = vt_pg_exec(db, NULL, errbuf, errlen,
			"INSERT INTO rejected (queue_id, probe_id, received, reason, line)"
			" SELECT * FROM unnest($1::bigint[], $2::integer[],"
			" $3::timestamptz[], $4::text[], $5::text[])", 5, p);
		if (r < 0)
			goto out;
		st->rejected += nrej;
	}
	r = VT_OK;
out:
	PQclear(res);
	for (int i = 0; i < 7; i++)
		vt_pg_array_free(&a[i]);
	vt_pg_array_free(&lm);
	vt_pg_array_free(&lp);
	vt_pg_array_free(&lt);
	vt_pg_array_free(&lr);
	free(ok);
	return r;
}

int vt_worker_batch(PGconn *db, const struct vt_worker_opts *o,
		    struct vt_worker_stats *st, char *errbuf, size_t errlen)
{
	char lim[16];
	const char *p[1] = { lim };
	struct row *rows = NULL;
	PGresult *q = NULL;
	struct vt_pg_array ids;
	int n = 0, r;

	vt_pg_array_init(&ids, PARAM_MAX);
	snprintf(lim, sizeof lim, "%d", o->batch);
	if ((r = vt_pg_cmd(db, "BEGIN", errbuf, errlen)) < 0)
		return r;
	r = vt_pg_exec(db, &q, errbuf, errlen,
		       "SELECT id, probe_id, host(from_addr), received, src, line"
		       " FROM result_queue ORDER BY id LIMIT $1::integer"
		       " FOR UPDATE SKIP LOCKED", 1, p);
	if (r < 0)
		goto out;
	n = PQntuples(q);
	if (n == 0)
		goto out;
	if (!(rows = calloc((size_t)n, sizeof *rows))) {
		r = VT_ENOMEM;
		goto out;
	}
	if ((r = process_rows(db, q, rows, o, errbuf, errlen)) < 0)
		goto out;
	/* Each day a result falls on needs its partition (usually one). */
	for (int i = 0; i < n; i++) {
		int seen = 0;

		if (!rows[i].ok)
			continue;
		for (int j = 0; j < i && !seen; j++)
			seen = rows[j].ok && rows[j].ts / 86400 == rows[i].ts / 86400;
		if (!seen && (r = vt_worker_partition(db, rows[i].ts, errbuf,
						      errlen)) < 0)
			goto out;
	}
	if ((r = store(db, q, rows, n, st, errbuf, errlen)) < 0)
		goto out;
	for (int i = 0; i < n; i++)
		if ((r = vt_pg_array_ll(&ids, rows[i].qid)) < 0)
			goto out;
	if (!(p[0] = vt_pg_array_done(&ids))) {
		r = VT_ENOMEM;
		goto out;
	}
	r = vt_pg_exec(db, NULL, errbuf, errlen,
		       "DELETE FROM result_queue WHERE id = ANY($1::bigint[])", 1, p);
	if (r < 0)
		goto out;
	r = vt_pg_cmd(db, "NOTIFY vantage_results", errbuf, errlen);
	if (r < 0)
		goto out;
	st->claimed += n;
out:
	if (r == VT_OK)
		r = vt_pg_cmd(db, "COMMIT", errbuf, errlen);
	else
		vt_pg_try(db, "ROLLBACK");
	for (int i = 0; i < n && rows; i++)
		free(rows[i].stored);
	free(rows);
	PQclear(q);
	vt_pg_array_free(&ids);
	return r;
}
