/* worker.c - one batch of the result queue, in one transaction. */
#include "controller/worker/worker.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/pg.h"
#include "common/pgbin.h"
#include "controller/worker/fastjson.h"
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
	/* An existing partition costs a lookup and no lock.  A missing one is
	 * created under a transaction-level advisory lock: a second worker
	 * waits for the first one's commit and then finds the table.  (A
	 * session lock would stay held after a failed CREATE, "already
	 * exists" or a deadlock, and stop the other workers for good.) */
	snprintf(sql, sizeof sql,
		 "DO $$BEGIN IF to_regclass('%s') IS NULL THEN"
		 " PERFORM pg_advisory_xact_lock(7346002);"
		 " CREATE TABLE IF NOT EXISTS %s PARTITION OF results"
		 " FOR VALUES FROM ('%s') TO ('%s'); END IF; END$$",
		 name, name, day, next);
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
	int fast;               /* read by the fast path (fastjson.h) */
	const char *reason;
	char reason_buf[160];
	unsigned char digest[SHA256_DIGEST_LENGTH];  /* of the probe's line */
	char *stored;           /* enriched JSON (owned) */
	size_t stored_len;
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

/* Runs sql with binary parameters (types[i] the array type OIDs). */
static int exec_bin(PGconn *db, PGresult **out, char *errbuf, size_t errlen,
		    const char *sql, int n, const unsigned *types,
		    const char *const *p, const int *lens)
{
	int fmt[8];
	PGresult *r;
	ExecStatusType st;

	for (int i = 0; i < n; i++)
		fmt[i] = 1;
	r = PQexecParams(db, sql, n, types, p, lens, fmt, 0);
	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		snprintf(errbuf, errlen, "%s",
			 r ? PQresultErrorMessage(r) : PQerrorMessage(db));
		PQclear(r);
		return VT_EDB;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return VT_OK;
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
	struct wk_fast *fast = calloc((size_t)n + 1, sizeof *fast);
	struct msm *msms = NULL;
	long long now = (long long)time(NULL);
	struct vt_buf out;

	vt_buf_init(&out, VT_RESULT_MAX * 2);
	if (!res || !fast) {
		r = VT_ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++)
		wk_fast_init(&fast[i]);
	for (int i = 0; i < n; i++) {
		const char *line = PQgetvalue(q, i, 5);
		size_t len = (size_t)PQgetlength(q, i, 5);
		char err[128];

		rows[i].qid = atoll(PQgetvalue(q, i, 0));
		rows[i].probe = atol(PQgetvalue(q, i, 1));
		rows[i].ok = 1;
		SHA256((const unsigned char *)line, len, rows[i].digest);
		if ((r = wk_fast_parse(line, len, &fast[i])) < 0)
			goto out;
		if (r == 1) {
			rows[i].fast = 1;
			rows[i].msm_id = fast[i].msm_id;
			rows[i].ts = fast[i].time;
		} else if (vt_result_parse(line, len, &res[i], err, sizeof err) < 0) {
			reject(&rows[i], "malformed: ", err);
			continue;
		} else {
			rows[i].msm_id = vt_result_msm_id(res[i]);
			rows[i].ts = vt_result_time(res[i]);
		}
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
		r = rows[i].fast ? wk_fast_enrich(&fast[i], &e, &out) : 0;
		if (r == 1) {
			r = VT_OK;
		} else {
			/* declined: the full parser decides, as for any line */
			char err[128];

			vt_buf_reset(&out);
			if (!res[i] && vt_result_parse(PQgetvalue(q, i, 5),
						       (size_t)PQgetlength(q, i, 5),
						       &res[i], err, sizeof err) < 0) {
				reject(&rows[i], "malformed: ", err);
				continue;
			}
			r = vt_result_enrich(res[i], &e, &out);
		}
		if (r == VT_EINVAL) {
			reject(&rows[i], "unknown measurement type ", m->type);
			continue;
		}
		if (r < 0) {
			reject(&rows[i], "cannot enrich: ", vt_strerror(r));
			continue;
		}
		if (!(rows[i].stored = malloc(out.len + 1))) {
			r = VT_ENOMEM;
			goto out;
		}
		memcpy(rows[i].stored, out.data, out.len + 1);
		rows[i].stored_len = out.len;
	}
	r = VT_OK;
out:
	for (int i = 0; i < n && res; i++)
		vt_result_free(res[i]);
	for (int i = 0; i < n && fast; i++)
		wk_fast_free(&fast[i]);
	free(res);
	free(fast);
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

/* results and latest for the rows that are stored. */
static int store_ok(PGconn *db, struct row **ok, int nok,
		    struct vt_worker_stats *st, char *errbuf, size_t errlen)
{
	static const unsigned rt[5] = { VT_OID_INT8_ARR, VT_OID_INT4_ARR,
		VT_OID_INT8_ARR, VT_OID_BYTEA_ARR, VT_OID_TEXT_ARR };
	static const unsigned lt[4] = { VT_OID_INT8_ARR, VT_OID_INT4_ARR,
		VT_OID_INT8_ARR, VT_OID_TEXT_ARR };
	static const unsigned elem[5] = { VT_OID_INT8, VT_OID_INT4, VT_OID_INT8,
		VT_OID_BYTEA, VT_OID_TEXT };
	struct vt_pgbin a[5];
	const char *p[5];
	int len[5], r = VT_ENOMEM;
	PGresult *res = NULL;
	long added;

	for (int i = 0; i < 5; i++)
		vt_pgbin_init(&a[i], elem[i], PARAM_MAX);
	for (int i = 0; i < nok; i++)
		if (vt_pgbin_i64(&a[0], ok[i]->msm_id) < 0 ||
		    vt_pgbin_i32(&a[1], ok[i]->probe) < 0 ||
		    vt_pgbin_i64(&a[2], ok[i]->ts) < 0 ||
		    vt_pgbin_bytes(&a[3], ok[i]->digest, sizeof ok[i]->digest) < 0 ||
		    vt_pgbin_bytes(&a[4], ok[i]->stored, ok[i]->stored_len) < 0)
			goto out;
	for (int i = 0; i < 5; i++)
		if (!(p[i] = vt_pgbin_done(&a[i], &len[i])))
			goto out;
	r = exec_bin(db, &res, errbuf, errlen,
		"INSERT INTO results (msm_id, prb_id, ts, day, stored, digest, result)"
		" SELECT m, p, t, (to_timestamp(t) AT TIME ZONE 'UTC')::date,"
		" extract(epoch FROM now())::bigint, d, j"
		" FROM unnest($1::bigint[], $2::integer[], $3::bigint[],"
		" $4::bytea[], $5::text[]) AS u(m, p, t, d, j)"
		" ON CONFLICT DO NOTHING", 5, rt, p, len);
	if (r < 0)
		goto out;
	added = atol(PQcmdTuples(res));
	st->stored += added;
	st->duplicates += nok - added;
	/* latest: the newest result per (measurement, probe) */
	qsort(ok, (size_t)nok, sizeof *ok, latest_cmp);
	r = VT_ENOMEM;
	for (int i = 0; i < 5; i++) {
		vt_pgbin_free(&a[i]);
		vt_pgbin_init(&a[i], elem[i == 3 ? 4 : i], PARAM_MAX);
	}
	for (int i = 0; i < nok; i++) {
		if (i && ok[i]->msm_id == ok[i - 1]->msm_id &&
		    ok[i]->probe == ok[i - 1]->probe)
			continue;
		if (vt_pgbin_i64(&a[0], ok[i]->msm_id) < 0 ||
		    vt_pgbin_i32(&a[1], ok[i]->probe) < 0 ||
		    vt_pgbin_i64(&a[2], ok[i]->ts) < 0 ||
		    vt_pgbin_bytes(&a[3], ok[i]->stored, ok[i]->stored_len) < 0)
			goto out;
	}
	for (int i = 0; i < 4; i++)
		if (!(p[i] = vt_pgbin_done(&a[i], &len[i])))
			goto out;
	r = exec_bin(db, NULL, errbuf, errlen,
		"INSERT INTO latest (msm_id, prb_id, ts, result)"
		" SELECT * FROM unnest($1::bigint[], $2::integer[],"
		" $3::bigint[], $4::text[])"
		" ON CONFLICT (msm_id, prb_id) DO UPDATE"
		" SET ts = excluded.ts, result = excluded.result"
		" WHERE latest.ts <= excluded.ts", 4, lt, p, len);
out:
	PQclear(res);
	for (int i = 0; i < 5; i++)
		vt_pgbin_free(&a[i]);
	return r;
}

/* Rows that cannot be stored, with their reasons (text arrays: rare). */
static int store_rejected(PGconn *db, PGresult *q, struct row *rows, int n,
			  struct vt_worker_stats *st, char *errbuf,
			  size_t errlen)
{
	struct vt_pg_array a[5];
	const char *p[5];
	int nrej = 0, r = VT_ENOMEM;

	for (int i = 0; i < 5; i++)
		vt_pg_array_init(&a[i], PARAM_MAX);
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
	r = VT_OK;
	if (!nrej)
		goto out;
	r = VT_ENOMEM;
	for (int i = 0; i < 5; i++)
		if (!(p[i] = vt_pg_array_done(&a[i])))
			goto out;
	r = vt_pg_exec(db, NULL, errbuf, errlen,
		"INSERT INTO rejected (queue_id, probe_id, received, reason, line)"
		" SELECT * FROM unnest($1::bigint[], $2::integer[],"
		" $3::timestamptz[], $4::text[], $5::text[])", 5, p);
	if (r == VT_OK)
		st->rejected += nrej;
out:
	for (int i = 0; i < 5; i++)
		vt_pg_array_free(&a[i]);
	return r;
}

static int store(PGconn *db, PGresult *q, struct row *rows, int n,
		 struct vt_worker_stats *st, char *errbuf, size_t errlen)
{
	struct row **ok;
	int nok = 0, r;

	if (n <= 0 || !(ok = calloc((size_t)n, sizeof *ok)))
		return VT_ENOMEM;
	for (int i = 0; i < n; i++)
		if (rows[i].ok)
			ok[nok++] = &rows[i];
	r = nok ? store_ok(db, ok, nok, st, errbuf, errlen) : VT_OK;
	if (r == VT_OK)
		r = store_rejected(db, q, rows, n, st, errbuf, errlen);
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
	int n = 0, r;

	snprintf(lim, sizeof lim, "%d", o->batch);
	/* The COMMIT need not wait for its WAL flush.  A crash can lose only
	 * whole transactions (PostgreSQL replays WAL in order), and this one
	 * both stores the rows and deletes them from the queue: losing it
	 * puts the rows back in the queue, where they were durably committed
	 * by the gateway before the probe was told OK, and they are handled
	 * again (the results key keeps them stored once).  Nothing acknowledged
	 * is lost; only the work is redone. */
	if ((r = vt_pg_cmd(db, "BEGIN; SET LOCAL synchronous_commit TO off",
			   errbuf, errlen)) < 0)
		return r;
	/* The claimed rows leave the queue in this transaction: a rollback
	 * (or a worker that dies) puts them back. */
	r = vt_pg_exec(db, &q, errbuf, errlen,
		       "WITH c AS (DELETE FROM result_queue WHERE id IN"
		       " (SELECT id FROM result_queue ORDER BY id LIMIT $1::integer"
		       " FOR UPDATE SKIP LOCKED)"
		       " RETURNING id, probe_id, host(from_addr) AS h, received,"
		       " src, line)"
		       " SELECT * FROM c ORDER BY id", 1, p);
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
	/* NOTIFY and COMMIT in one round trip: a failed NOTIFY stops the
	 * text there, and the transaction is rolled back. */
	r = vt_pg_cmd(db, "NOTIFY vantage_results; COMMIT", errbuf, errlen);
	if (r == VT_OK)
		st->claimed += n;
	else
		vt_pg_try(db, "ROLLBACK");
	goto done;
out:
	if (r == VT_OK)
		r = vt_pg_cmd(db, "COMMIT", errbuf, errlen);
	else
		vt_pg_try(db, "ROLLBACK");
done:
	for (int i = 0; i < n && rows; i++)
		free(rows[i].stored);
	free(rows);
	PQclear(q);
	return r;
}
