/* worker.c - one batch of the result queue, in one transaction. */
#include "controller/worker/worker.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/pg.h"
#include "common/pgbin.h"
#include "controller/worker/line.h"
#include "controller/worker/pstatus.h"
#include "controller/worker/sqlerr.h"
#include "controller/worker/streamnote.h"
#include "proto/enrich.h"
#include "proto/status.h"

#define PARAM_MAX (256u << 20)     /* one array parameter (bytes) */

/* A cheap clock for the time split in vt_worker_stats. */
static int64_t ns_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void vt_worker_stats_format(const struct vt_worker_stats *st, char *buf,
			    size_t len)
{
	int64_t all = st->ns_turn + st->ns_turn_store + st->ns_claim + st->ns_parse + st->ns_lookup +
		      st->ns_enrich + st->ns_results + st->ns_latest +
		      st->ns_other + st->ns_commit;

	snprintf(buf, len, "batches %ld, rows %ld, copied %ld; ms: turn %lld,"
		 " sturn %lld, claim %lld,"
		 " parse %lld,"
		 " lookup %lld, enrich %lld, results %lld, latest %lld,"
		 " other %lld, commit %lld, total %lld; short %ld, full %ld;"
		 " pipe %lld, overlap %ld, serial %ld",
		 st->batches,
		 st->claimed, st->copied, (long long)(st->ns_turn / 1000000),
		 (long long)(st->ns_turn_store / 1000000),
		 (long long)(st->ns_claim / 1000000),
		 (long long)(st->ns_parse / 1000000),
		 (long long)(st->ns_lookup / 1000000),
		 (long long)(st->ns_enrich / 1000000),
		 (long long)(st->ns_results / 1000000),
		 (long long)(st->ns_latest / 1000000),
		 (long long)(st->ns_other / 1000000),
		 (long long)(st->ns_commit / 1000000),
		 (long long)(all / 1000000), st->short_claims,
		 st->full_claims, (long long)(st->ns_pipe_wait / 1000000),
		 st->overlapped, st->serial);
}

void vt_worker_opts_default(struct vt_worker_opts *o)
{
	o->batch = 1000;
	o->batch_bytes = 64L << 20;
	o->late_window = VT_LATE_WINDOW_DAYS * 86400L;
	o->future_slack = 86400L;
	o->copy = 1;
	o->active = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (o->active < 1)
		o->active = 1;
}

/* Appends to *b the statement that makes the partition of ts's day (see
 * vt_worker_partition). */
static int partition_sql(struct vt_buf *b, long long ts)
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
		 " FOR VALUES FROM ('%s') TO ('%s'); END IF; END$$; ",
		 name, name, day, next);
	return vt_buf_adds(b, sql);
}

int vt_worker_partition(PGconn *db, long long ts, char *errbuf, size_t errlen)
{
	struct vt_buf b;
	int r;

	vt_buf_init(&b, 0);
	if ((r = partition_sql(&b, ts)) == VT_OK)
		r = vt_pg_cmd(db, b.data, errbuf, errlen);
	else
		snprintf(errbuf, errlen, "%s", vt_strerror(r));
	vt_buf_free(&b);
	return r;
}

struct msm {
	long long id;
	char type[16];
	long step;
	long long group_id;
};

/* A (measurement, probe) pair the probe was asked to run. */
struct pair {
	long long msm_id;
	long probe;
};

struct row {
	long long qid;
	long probe;
	long long ts;
	long long msm_id;
	int ok;                 /* 1: store, 0: reject (or a status line) */
	int status;             /* a probe status line (proto/status.h) */
	const char *reason;
	char reason_buf[256];
	unsigned char digest[SHA256_DIGEST_LENGTH];  /* of the probe's line */
	char *stored;           /* enriched JSON (owned) */
	size_t stored_len;
	const char *line;       /* the probe's line, in the claim's result */
	size_t line_len;
	const char *received;
	long long stored_at;    /* stored_timestamp (Unix s) */
	struct vt_status st;    /* status lines */
};

static int msm_cmp(const void *a, const void *b)
{
	long long x = ((const struct msm *)a)->id, y = ((const struct msm *)b)->id;

	return x < y ? -1 : x > y;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->msm_id != y->msm_id)
		return x->msm_id < y->msm_id ? -1 : 1;
	return x->probe < y->probe ? -1 : x->probe > y->probe;
}

/* Runs sql with text parameters; errors as in sqlerr.h. */
static int exec_txt(PGconn *db, PGresult **out, char *errbuf, size_t errlen,
		    const char *sql, int n, const char *const *p)
{
	return wk_pg_result(db, PQexecParams(db, sql, n, NULL, p, NULL, NULL, 0),
			    out, errbuf, errlen);
}

/* The measurements of the rows still to store, and the (measurement,
 * probe) pairs among them that are assigned: currently, or ended (the
 * assignment removed or the measurement's stop time) less than the late
 * window ago. */
static int load_msms(PGconn *db, const struct vt_worker_opts *o,
		     struct row *rows, int n, struct msm **out, int *nout,
		     struct pair **pout, int *npout, char *errbuf,
		     size_t errlen)
{
	struct vt_pg_array ids, pids, prb;
	char late[24];
	const char *p[3];
	PGresult *res = NULL;
	struct msm *m = NULL;
	struct pair *pr = NULL, *want;
	int r = VT_ENOMEM, nw = 0;

	vt_pg_array_init(&ids, PARAM_MAX);
	vt_pg_array_init(&pids, PARAM_MAX);
	vt_pg_array_init(&prb, PARAM_MAX);
	/* Each measurement and each (measurement, probe) pair once: a batch
	 * holds many results of few of them, and every element sent is
	 * parsed, looked up and joined by the backend. */
	if (!(want = calloc((size_t)n + 1, sizeof *want)))
		goto out;
	for (int i = 0; i < n; i++)
		if (rows[i].ok)
			want[nw++] = (struct pair){ rows[i].msm_id, rows[i].probe };
	qsort(want, (size_t)nw, sizeof *want, pair_cmp);
	for (int i = 0; i < nw; i++) {
		if (i && !pair_cmp(&want[i], &want[i - 1]))
			continue;
		if ((!i || want[i].msm_id != want[i - 1].msm_id) &&
		    vt_pg_array_ll(&ids, want[i].msm_id) < 0)
			goto out;
		if (vt_pg_array_ll(&pids, want[i].msm_id) < 0 ||
		    vt_pg_array_ll(&prb, want[i].probe) < 0)
			goto out;
	}
	if (!(p[0] = vt_pg_array_done(&ids)))
		goto out;
	r = exec_txt(db, &res, errbuf, errlen,
		     "SELECT id, type, coalesce(interval, 0),"
		     " coalesce(group_id, id), is_oneoff FROM measurements"
		     " WHERE id = ANY($1::bigint[]) ORDER BY id", 1, p);
	if (r < 0)
		goto out;
	*nout = PQntuples(res);
	if (!(m = calloc((size_t)*nout + 1, sizeof *m))) {
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
	PQclear(res);
	res = NULL;
	r = VT_ENOMEM;
	if (!(p[0] = vt_pg_array_done(&pids)) || !(p[1] = vt_pg_array_done(&prb)))
		goto out;
	snprintf(late, sizeof late, "%ld", o->late_window);
	p[2] = late;
	r = exec_txt(db, &res, errbuf, errlen,
		     "SELECT a.msm_id, a.probe_id"
		     " FROM unnest($1::bigint[], $2::integer[]) AS u(m, p)"
		     " JOIN assignments a ON a.msm_id = u.m AND a.probe_id = u.p"
		     " JOIN measurements x ON x.id = a.msm_id"
		     " WHERE (a.removed IS NULL OR a.removed >"
		     "  now() - make_interval(secs => $3::bigint))"
		     " AND (x.stop_time IS NULL OR x.stop_time >"
		     "  extract(epoch FROM now())::bigint - $3::bigint)", 3, p);
	if (r < 0)
		goto out;
	*npout = PQntuples(res);
	if (!(pr = calloc((size_t)*npout + 1, sizeof *pr))) {
		r = VT_ENOMEM;
		goto out;
	}
	for (int i = 0; i < *npout; i++) {
		pr[i].msm_id = atoll(PQgetvalue(res, i, 0));
		pr[i].probe = atol(PQgetvalue(res, i, 1));
	}
	qsort(pr, (size_t)*npout, sizeof *pr, pair_cmp);
	*out = m;
	*pout = pr;
	m = NULL;
	pr = NULL;
out:
	PQclear(res);
	free(m);
	free(pr);
	free(want);
	vt_pg_array_free(&ids);
	vt_pg_array_free(&pids);
	vt_pg_array_free(&prb);
	return r;
}

/* Runs sql with binary parameters (types[i] the array type OIDs); errors
 * as in sqlerr.h. */
static int exec_bin(PGconn *db, PGresult **out, char *errbuf, size_t errlen,
		    const char *sql, int n, const unsigned *types,
		    const char *const *p, const int *lens)
{
	int fmt[8];

	for (int i = 0; i < n; i++)
		fmt[i] = 1;
	return wk_pg_result(db, PQexecParams(db, sql, n, types, p, lens, fmt, 0),
			    out, errbuf, errlen);
}

static void reject(struct row *row, const char *what, const char *detail)
{
	row->ok = 0;
	snprintf(row->reason_buf, sizeof row->reason_buf, "%s%s", what, detail);
	row->reason = row->reason_buf;
}

/* A row that is no result of a measurement this probe runs: a status line
 * of the probe's own (kept as such), or rejected with why. */
static void not_a_result(struct row *row, const char *why)
{
	char err[128];

	if (vt_status_id(row->msm_id)) {
		if (vt_status_parse(row->line, row->line_len, &row->st, err,
				    sizeof err) == VT_OK) {
			row->ok = 0;
			row->status = 1;
			return;
		}
		reject(row, "malformed probe status line: ", err);
		return;
	}
	reject(row, why, "");
}

/* Parses and enriches every claimed row; rows that cannot be stored get a
 * reason. */
static int process_rows(PGconn *db, PGresult *q, struct row *rows,
			const struct vt_worker_opts *o,
			struct vt_worker_stats *st, char *errbuf,
			size_t errlen)
{
	int64_t t0 = ns_now(), t1;
	int n = PQntuples(q), nm = 0, np = 0, r;
	struct wk_line *ln = calloc((size_t)n + 1, sizeof *ln);
	struct msm *msms = NULL;
	struct pair *pairs = NULL;
	long long now = (long long)time(NULL);
	struct vt_buf out;

	vt_buf_init(&out, WK_STORED_MAX);
	if (!ln) {
		r = VT_ENOMEM;
		snprintf(errbuf, errlen, "%s", vt_strerror(r));
		goto out;
	}
	for (int i = 0; i < n; i++)
		wk_line_init(&ln[i]);
	for (int i = 0; i < n; i++) {
		struct row *w = &rows[i];
		char err[192];

		w->qid = atoll(PQgetvalue(q, i, 0));
		w->probe = atol(PQgetvalue(q, i, 1));
		w->received = PQgetvalue(q, i, 3);
		w->line = PQgetvalue(q, i, 5);
		w->line_len = (size_t)PQgetlength(q, i, 5);
		w->ok = 1;
		w->stored_at = now;
		SHA256((const unsigned char *)w->line, w->line_len, w->digest);
		r = wk_line_parse(&ln[i], w->line, w->line_len, err, sizeof err);
		if (r == VT_ENOMEM) {
			snprintf(errbuf, errlen, "%s", vt_strerror(r));
			goto out;
		}
		if (r < 0) {
			reject(w, "malformed: ", err);
			continue;
		}
		w->msm_id = ln[i].msm_id;
		w->ts = ln[i].time;
		if (w->ts < now - o->late_window)
			reject(w, "too late: older than the late window", "");
		else if (w->ts > now + o->future_slack)
			reject(w, "time in the future", "");
	}
	t1 = ns_now();
	st->ns_parse += t1 - t0;
	r = load_msms(db, o, rows, n, &msms, &nm, &pairs, &np, errbuf, errlen);
	t0 = ns_now();
	st->ns_lookup += t0 - t1;
	if (r < 0)
		goto out;
	for (int i = 0; i < n; i++) {
		struct msm key = { .id = rows[i].msm_id }, *m;
		struct pair pk = { rows[i].msm_id, rows[i].probe };
		struct vt_enrich e;
		char err[192];

		if (!rows[i].ok)
			continue;
		m = bsearch(&key, msms, (size_t)nm, sizeof *msms, msm_cmp);
		if (!m) {
			not_a_result(&rows[i], "unknown measurement");
			continue;
		}
		if (!bsearch(&pk, pairs, (size_t)np, sizeof *pairs, pair_cmp)) {
			not_a_result(&rows[i], "probe not assigned to the measurement");
			continue;
		}
		e = (struct vt_enrich){
			.type = m->type, .prb_id = rows[i].probe,
			.from = PQgetisnull(q, i, 2) ? NULL : PQgetvalue(q, i, 2),
			.group_id = m->group_id, .step = m->step, .stored = now,
		};
		vt_buf_reset(&out);
		r = wk_line_enrich(&ln[i], rows[i].line, rows[i].line_len, &e,
				   &out, err, sizeof err);
		if (r == VT_ENOMEM) {
			snprintf(errbuf, errlen, "%s", vt_strerror(r));
			goto out;
		}
		if (r < 0) {
			reject(&rows[i], err, "");
			continue;
		}
		if (!(rows[i].stored = malloc(out.len + 1))) {
			r = VT_ENOMEM;
			snprintf(errbuf, errlen, "%s", vt_strerror(r));
			goto out;
		}
		memcpy(rows[i].stored, out.data, out.len + 1);
		rows[i].stored_len = out.len;
	}
	st->ns_enrich += ns_now() - t0;
	r = VT_OK;
out:
	for (int i = 0; i < n && ln; i++)
		wk_line_free(&ln[i]);
	free(ln);
	free(msms);
	free(pairs);
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

/* The order rows are inserted in (and numbered, results.seq): by
 * measurement, so a stream's notification names few ranges. */
static int insert_cmp(const void *a, const void *b)
{
	const struct row *x = *(struct row *const *)a, *y = *(struct row *const *)b;

	if (x->msm_id != y->msm_id)
		return x->msm_id < y->msm_id ? -1 : 1;
	if (x->probe != y->probe)
		return x->probe < y->probe ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static const char copy_sql[] =
	"COPY results (msm_id, prb_id, ts, day, stored, digest, result, seq)"
	" FROM STDIN (FORMAT binary)";

/* The rows into results by COPY, with seq numbers taken beforehand (COPY
 * returns no rows): a bulk load writes one WAL record per page instead of
 * one per row and skips the per-row conflict check.  A row already stored
 * makes it fail with SQLSTATE 23505; the caller then stores the batch with
 * INSERT ... ON CONFLICT DO NOTHING.  The (msm_id, seq) of the rows are
 * added to *sq. */
static int copy_results(PGconn *db, struct row **ok, int nok,
			struct vt_buf *pre, struct wk_seqs *sq, char *errbuf,
			size_t errlen)
{
	struct vt_pgcopy c;
	PGresult *res = NULL;
	const char *data;
	size_t len, est = 32;
	int r;

	vt_pgcopy_init(&c, PARAM_MAX);
	/* the numbers in the round trip of what had to come first (*pre:
	 * the savepoint, the partitions), as the last statement */
	if ((r = vt_buf_addf(pre, "SELECT nextval('results_seq')"
			     " FROM generate_series(1, %d)", nok)) < 0) {
		snprintf(errbuf, errlen, "%s", vt_strerror(r));
		goto out;
	}
	r = wk_pg_result(db, PQexec(db, pre->data), &res, errbuf, errlen);
	vt_buf_reset(pre);
	if (r < 0)
		goto out;
	/* the stream in one allocation (about 100 bytes of fields a row
	 * besides the result), not doubled and copied up to a megabyte */
	for (int i = 0; i < nok; i++)
		est += ok[i]->stored_len + 128;
	if (est < PARAM_MAX && vt_buf_reserve(&c.b, est) == VT_ENOMEM) {
		r = VT_ENOMEM;
		snprintf(errbuf, errlen, "%s", vt_strerror(r));
		goto out;
	}
	r = VT_ENOMEM;
	if (PQntuples(res) != nok) {
		snprintf(errbuf, errlen, "results_seq: %d numbers for %d rows",
			 PQntuples(res), nok);
		r = VT_EDB;
		goto out;
	}
	for (int i = 0; i < nok; i++) {
		long long seq = atoll(PQgetvalue(res, i, 0));

		if ((r = vt_pgcopy_row(&c, 8)) < 0 ||
		    (r = vt_pgcopy_i64(&c, ok[i]->msm_id)) < 0 ||
		    (r = vt_pgcopy_i32(&c, ok[i]->probe)) < 0 ||
		    (r = vt_pgcopy_i64(&c, ok[i]->ts)) < 0 ||
		    (r = vt_pgcopy_date(&c, ok[i]->ts)) < 0 ||
		    (r = vt_pgcopy_i64(&c, ok[i]->stored_at)) < 0 ||
		    (r = vt_pgcopy_bytes(&c, ok[i]->digest, sizeof ok[i]->digest)) < 0 ||
		    (r = vt_pgcopy_bytes(&c, ok[i]->stored, ok[i]->stored_len)) < 0 ||
		    (r = vt_pgcopy_i64(&c, seq)) < 0 ||
		    (r = wk_seqs_put(sq, ok[i]->msm_id, seq)) < 0)
			goto out;
	}
	r = VT_ENOMEM;
	if (!(data = vt_pgcopy_done(&c, &len)))
		goto out;
	r = wk_pg_result(db, vt_pg_copy_in(db, copy_sql, data, len), NULL,
			 errbuf, errlen);
out:
	PQclear(res);
	vt_pgcopy_free(&c);
	return r;
}

/* Runs the statements of *pre (none: nothing) and empties it. */
static int run_pre(PGconn *db, struct vt_buf *pre, char *errbuf,
		   size_t errlen)
{
	int r;

	if (!pre->len)
		return VT_OK;
	r = vt_pg_cmd(db, pre->data, errbuf, errlen);
	vt_buf_reset(pre);
	return r;
}

/* 1 when a failed store was a row stored already (SQLSTATE 23505). */
static int dup_key(int r, const char *errbuf)
{
	return r == VT_EDB && !strncmp(errbuf, "SQLSTATE 23505", 14);
}

/* results and latest for the rows that are stored (by COPY when copy is
 * 1, see copy_results); the (msm_id, seq) of each new row are added to
 * *sq. */
static int store_ok(PGconn *db, struct row **ok, int nok, int copy,
		    struct vt_buf *pre, struct wk_seqs *sq,
		    struct vt_worker_stats *st, char *errbuf, size_t errlen)
{
	static const unsigned rt[6] = { VT_OID_INT8_ARR, VT_OID_INT4_ARR,
		VT_OID_INT8_ARR, VT_OID_BYTEA_ARR, VT_OID_TEXT_ARR,
		VT_OID_INT8_ARR };
	static const unsigned lt[4] = { VT_OID_INT8_ARR, VT_OID_INT4_ARR,
		VT_OID_INT8_ARR, VT_OID_TEXT_ARR };
	static const unsigned elem[6] = { VT_OID_INT8, VT_OID_INT4, VT_OID_INT8,
		VT_OID_BYTEA, VT_OID_TEXT, VT_OID_INT8 };
	struct vt_pgbin a[6];
	const char *p[6];
	int len[6], r = VT_ENOMEM;
	PGresult *res = NULL;
	long added;
	int64_t t0 = ns_now(), t1;

	for (int i = 0; i < 6; i++)
		vt_pgbin_init(&a[i], elem[i], PARAM_MAX);
	qsort(ok, (size_t)nok, sizeof *ok, insert_cmp);
	if (copy) {
		r = copy_results(db, ok, nok, pre, sq, errbuf, errlen);
		t1 = ns_now();
		st->ns_results += t1 - t0;
		if (r < 0)
			goto out;
		st->stored += nok;
		st->copied += nok;
		goto latest;
	}
	if ((r = run_pre(db, pre, errbuf, errlen)) < 0)
		goto out;
	r = VT_ENOMEM;
	for (int i = 0; i < nok; i++)
		if (vt_pgbin_i64(&a[0], ok[i]->msm_id) < 0 ||
		    vt_pgbin_i32(&a[1], ok[i]->probe) < 0 ||
		    vt_pgbin_i64(&a[2], ok[i]->ts) < 0 ||
		    vt_pgbin_bytes(&a[3], ok[i]->digest, sizeof ok[i]->digest) < 0 ||
		    vt_pgbin_bytes(&a[4], ok[i]->stored, ok[i]->stored_len) < 0 ||
		    vt_pgbin_i64(&a[5], ok[i]->stored_at) < 0)
			goto out;
	for (int i = 0; i < 6; i++)
		if (!(p[i] = vt_pgbin_done(&a[i], &len[i])))
			goto out;
	r = exec_bin(db, &res, errbuf, errlen,
		"INSERT INTO results (msm_id, prb_id, ts, day, stored, digest, result)"
		" SELECT m, p, t, (to_timestamp(t) AT TIME ZONE 'UTC')::date,"
		" s, d, j"
		" FROM unnest($1::bigint[], $2::integer[], $3::bigint[],"
		" $4::bytea[], $5::text[], $6::bigint[]) AS u(m, p, t, d, j, s)"
		" ON CONFLICT DO NOTHING RETURNING msm_id, seq", 6, rt, p, len);
	t1 = ns_now();
	st->ns_results += t1 - t0;
	if (r < 0)
		goto out;
	if ((r = wk_seqs_add(sq, res)) < 0) {
		snprintf(errbuf, errlen, "%s", vt_strerror(r));
		goto out;
	}
	added = PQntuples(res);
	st->stored += added;
	st->duplicates += nok - added;
latest:
	/* latest: the newest result per (measurement, probe) */
	qsort(ok, (size_t)nok, sizeof *ok, latest_cmp);
	r = VT_ENOMEM;
	for (int i = 0; i < 6; i++) {
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
	st->ns_latest += ns_now() - t1;
out:
	PQclear(res);
	for (int i = 0; i < 6; i++)
		vt_pgbin_free(&a[i]);
	return r;
}

/* Rows that cannot be stored, with their reasons (text arrays: rare). */
static int store_rejected(PGconn *db, struct row *rows, int n,
			  struct vt_worker_stats *st, char *errbuf,
			  size_t errlen)
{
	struct vt_pg_array a[5];
	const char *p[5];
	int nrej = 0, r = VT_ENOMEM;

	for (int i = 0; i < 5; i++)
		vt_pg_array_init(&a[i], PARAM_MAX);
	for (int i = 0; i < n; i++) {
		if (rows[i].ok || rows[i].status)
			continue;
		nrej++;
		if (vt_pg_array_ll(&a[0], rows[i].qid) < 0 ||
		    vt_pg_array_ll(&a[1], rows[i].probe) < 0 ||
		    vt_pg_array_str(&a[2], rows[i].received, strlen(rows[i].received)) < 0 ||
		    vt_pg_array_str(&a[3], rows[i].reason, strlen(rows[i].reason)) < 0 ||
		    vt_pg_array_str(&a[4], rows[i].line, rows[i].line_len) < 0)
			goto out;
	}
	r = VT_OK;
	if (!nrej)
		goto out;
	r = VT_ETOOBIG;
	for (int i = 0; i < 5; i++)
		if (!(p[i] = vt_pg_array_done(&a[i])))
			goto out;
	r = exec_txt(db, NULL, errbuf, errlen,
		"INSERT INTO rejected (queue_id, probe_id, received, reason, line)"
		" SELECT * FROM unnest($1::bigint[], $2::integer[],"
		" $3::timestamptz[], $4::text[], $5::text[])", 5, p);
	if (r == VT_OK) {
		st->rejected += nrej;
		for (int i = 0; i < n; i++)
			if (!rows[i].ok && !rows[i].status)
				st->rejected_by[vt_worker_rej_class(rows[i].reason)]++;
	}
out:
	if (r == VT_ETOOBIG || r == VT_ENOMEM)
		snprintf(errbuf, errlen, "rejected rows: %s", vt_strerror(r));
	for (int i = 0; i < 5; i++)
		vt_pg_array_free(&a[i]);
	return r;
}

/* The probes' own status lines among the rows. */
static int store_status(PGconn *db, struct row *rows, int n,
			struct vt_worker_stats *st, char *errbuf,
			size_t errlen)
{
	struct wk_pstatus *s;
	int ns = 0, r;

	for (int i = 0; i < n; i++)
		ns += rows[i].status;
	if (!ns)
		return VT_OK;
	if (!(s = calloc((size_t)ns, sizeof *s))) {
		snprintf(errbuf, errlen, "%s", vt_strerror(VT_ENOMEM));
		return VT_ENOMEM;
	}
	ns = 0;
	for (int i = 0; i < n; i++)
		if (rows[i].status)
			s[ns++] = (struct wk_pstatus){ rows[i].probe, &rows[i].st };
	r = wk_pstatus_store(db, s, ns, errbuf, errlen);
	for (int i = 0; r == VT_OK && i < ns; i++) {
		if (s[i].st->kind == VT_STATUS_OTHER)
			st->status_other++;
		else
			st->status_used++;
	}
	free(s);
	return r;
}

/* Stores rows[0..n) after the statements of *pre (which it empties),
 * in the round trip of its first statement where it can. */
static int store(PGconn *db, struct row *rows, int n, int copy,
		 struct vt_buf *pre, struct wk_seqs *sq,
		 struct vt_worker_stats *st, char *errbuf, size_t errlen)
{
	struct row **ok;
	int nok = 0, r;

	if (n <= 0 || !(ok = calloc((size_t)n, sizeof *ok))) {
		snprintf(errbuf, errlen, "%s", vt_strerror(VT_ENOMEM));
		return VT_ENOMEM;
	}
	for (int i = 0; i < n; i++)
		if (rows[i].ok)
			ok[nok++] = &rows[i];
	r = nok ? store_ok(db, ok, nok, copy, pre, sq, st, errbuf, errlen)
		: run_pre(db, pre, errbuf, errlen);
	if (r == VT_ETOOBIG || r == VT_ENOMEM)
		snprintf(errbuf, errlen, "results: %s", vt_strerror(r));
	if (r == VT_OK)
		r = store_rejected(db, rows, n, st, errbuf, errlen);
	if (r == VT_OK)
		r = store_status(db, rows, n, st, errbuf, errlen);
	free(ok);
	return r;
}

/* 1 when a failed store may be the fault of what some row holds (and not
 * of the database): the values (SQLSTATE classes 22 data exception, 23
 * integrity, 54 program limit, XX000 internal error such as an oversized
 * allocation) or a parameter over its cap.  Everything else (connection,
 * deadlock, disk, shutdown, cancel) is the database's, and the batch is
 * retried whole. */
static int row_fault(int r, const char *errbuf)
{
	const char *s;

	if (r == VT_ETOOBIG)
		return 1;
	if (r != VT_EDB || strncmp(errbuf, "SQLSTATE ", 9))
		return 0;
	s = errbuf + 9;
	return !strncmp(s, "22", 2) || !strncmp(s, "23", 2) ||
	       !strncmp(s, "54", 2) || !strncmp(s, "XX000", 5);
}

/* Stores rows[0..n) under a savepoint.  When that fails for what a row may
 * hold, the set is halved until the rows at fault are alone; each is then
 * rejected with the error as its reason, and the others are stored.  A
 * failure of the database is returned as is (the caller rolls back: the
 * batch stays queued, nothing is rejected).  *st is added to only for
 * what is stored. */
static int store_set(PGconn *db, struct row *rows, int n, int copy,
		     int release, struct wk_seqs *sq,
		     struct vt_worker_stats *st, char *errbuf, size_t errlen)
{
	struct vt_worker_stats t = *st;
	size_t mark = sq->n;
	struct vt_buf pre;
	char reason[256];
	int r, half;

	/* The savepoint and the partitions go to the database in the round
	 * trip of the store's first statement (store()). */
	vt_buf_init(&pre, 0);
	r = vt_buf_adds(&pre, "SAVEPOINT wk; ");
again:
	/* Each day a result falls on needs its partition (usually one). */
	for (int i = 0; i < n && r == VT_OK; i++) {
		int seen = 0;

		if (!rows[i].ok)
			continue;
		for (int j = 0; j < i && !seen; j++)
			seen = rows[j].ok && rows[j].ts / 86400 == rows[i].ts / 86400;
		if (!seen)
			r = partition_sql(&pre, rows[i].ts);
	}
	if (r < 0) {
		snprintf(errbuf, errlen, "%s", vt_strerror(r));
		vt_buf_free(&pre);
		return r;
	}
	r = store(db, rows, n, copy, &pre, sq, &t, errbuf, errlen);
	if (copy && dup_key(r, errbuf)) {
		/* some row is stored already: the batch again, by INSERT ...
		 * ON CONFLICT DO NOTHING, which skips it */
		copy = 0;
		sq->n = mark;
		t = *st;
		vt_buf_reset(&pre);
		r = vt_buf_adds(&pre, "ROLLBACK TO SAVEPOINT wk; ");
		goto again;
	}
	vt_buf_free(&pre);
	if (r == VT_OK) {
		/* the batch's COMMIT releases the outermost one */
		if (!release ||
		    (r = vt_pg_cmd(db, "RELEASE SAVEPOINT wk", errbuf, errlen)) == VT_OK)
			*st = t;
		return r;
	}
	if (!row_fault(r, errbuf))
		return r;
	sq->n = mark;   /* rolled back below */
	snprintf(reason, sizeof reason, "cannot store: %s", errbuf);
	if ((r = vt_pg_cmd(db, "ROLLBACK TO SAVEPOINT wk; RELEASE SAVEPOINT wk",
			   errbuf, errlen)) < 0)
		return r;
	if (n == 1) {
		if (!rows[0].ok && !rows[0].status) {
			/* even its rejection fails: leave it to the database's
			 * administrator, in the queue */
			snprintf(errbuf, errlen, "%s", reason);
			return VT_EDB;
		}
		free(rows[0].stored);
		rows[0].stored = NULL;
		rows[0].status = 0;
		reject(&rows[0], reason, "");
		return store_set(db, rows, 1, 0, 1, sq, st, errbuf, errlen);
	}
	half = n / 2;
	if ((r = store_set(db, rows, half, 0, 1, sq, st, errbuf, errlen)) < 0)
		return r;
	return store_set(db, rows + half, n - half, 0, 1, sq, st, errbuf, errlen);
}

/* Takes a turn (worker.h, active; migration 023) into *turn, after sql
 * (NULL: none) in the same round trip; *turn stays -1 with no limit.
 * spare 1: only a spare turn (migration 033: nobody next in line and a
 * turn free), without waiting; VT_EAGAIN when there is none (sql has
 * run). */
static int turn_take(PGconn *db, const struct vt_worker_opts *o,
		     const char *sql, int spare, int *turn, char *errbuf,
		     size_t errlen)
{
	char q[160];
	PGresult *res = NULL;
	int r;

	*turn = -1;
	if (o->active <= 0)
		return sql ? vt_pg_cmd(db, sql, errbuf, errlen) : VT_OK;
	snprintf(q, sizeof q, "%s%sSELECT vt_worker_turn_%s(%d)",
		 sql ? sql : "", sql ? "; " : "", spare ? "spare" : "take",
		 o->active);
	r = wk_pg_result(db, PQexec(db, q), &res, errbuf, errlen);
	if (r == VT_OK && PQntuples(res) == 1) {
		if (PQgetisnull(res, 0, 0))
			r = VT_EAGAIN;
		else
			*turn = atoi(PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return r;
}

/* Gives back the turn *turn (none when -1). */
static int turn_give(PGconn *db, int *turn, char *errbuf, size_t errlen)
{
	char q[64];

	if (*turn < 0)
		return VT_OK;
	snprintf(q, sizeof q, "SELECT pg_advisory_unlock(7346005, %d)", *turn);
	*turn = -1;
	return vt_pg_cmd(db, q, errbuf, errlen);
}

/* Runs the statements of sql (one round trip) and keeps the result of
 * the keep-th (0 first) in *out; the first error fails it. */
static int exec_keep(PGconn *db, const char *sql, int keep, PGresult **out,
		     char *errbuf, size_t errlen)
{
	PGresult *res, *got;
	int i = 0, r = VT_OK;

	*out = NULL;
	if (!PQsendQuery(db, sql))
		return wk_pg_result(db, NULL, NULL, errbuf, errlen);
	while ((res = PQgetResult(db))) {
		if (r < 0) {
			PQclear(res);
			continue;
		}
		got = NULL;
		r = wk_pg_result(db, res, &got, errbuf, errlen);
		if (i++ == keep)
			*out = got;
		else
			PQclear(got);
	}
	if (r < 0) {
		PQclear(*out);
		*out = NULL;
	}
	return r;
}

/* Gives back the claim lock (7346007, 0), which a worker's backend holds
 * through one claim statement (claim), after a claim that failed, when this
 * session holds it (the unlock after the claim statement did not run);
 * outside a failed transaction. */
static void claim_unlock(PGconn *db)
{
	if (!vt_pg_broken(db))
		vt_pg_try(db, "SELECT pg_advisory_unlock(7346007, 0)"
			  " FROM pg_locks WHERE locktype = 'advisory'"
			  " AND classid = 7346007 AND objid = 0"
			  " AND objsubid = 2 AND granted"
			  " AND pid = pg_backend_pid()");
}

/* The claim from id from on (0: the start), or with front set from the
 * queue's front shared by all workers (migration 024) when that is
 * further on: its result in *q.  A claim that takes rows moves the front
 * past them. */
static int claim(PGconn *db, const struct vt_worker_opts *o, long long from,
		 int front, PGresult **q, char *errbuf, size_t errlen)
{
	char sql[1280], start[96];

	if (front)
		snprintf(start, sizeof start, "greatest(%lld, (SELECT last_value"
			 " FROM vt_worker_front))", from);
	else
		snprintf(start, sizeof start, "%lld", from);
	/* The claimed rows leave the queue in this transaction: a rollback
	 * (or a worker that dies) puts them back.  A batch holds up to
	 * batch_bytes of lines (and always the first row); numbers of our
	 * own, inlined.  The front moves at the claim, not at the COMMIT:
	 * a batch rolled back lies below it then, where the looks from the
	 * start find it (worker.h).  A look from the start that takes a
	 * whole batch sets the front to its end even when that is lower: a
	 * batch's worth of rows lies below the front, which is then no guide
	 * (ids put back in the queue, as tests/bench does, or a front ahead
	 * of ids reset).  Every other claim only ever moves it on, the one
	 * from the worker's own cursor after a cut too: the rows below the
	 * front it finds are the tail its cut left, and setting the front
	 * back to its end would send the other workers' claims over the
	 * batches they took since.  f is joined to be run once (a CTE not
	 * referred to that modifies nothing is not run); its column comes
	 * after the ones process_rows reads.  The rows are deleted by
	 * where they lie (ctid, a TID scan), not by id: a second walk of the
	 * key index for each row cost 7,156 buffer hits per claim of 1,000
	 * rows of 1 KB, against 4,155 this way (39 against 32 ms at load
	 * average 6; docs/vantage-worker.md).  A row
	 * found here cannot move: queue rows are never updated, and no other
	 * claim runs beside this one.
	 *
	 * The claims run one at a time, each under the claim lock, taken in
	 * a statement of its own before the claim's so that the claim's
	 * snapshot shows every claim before it: rows at the front that a
	 * claim took and has not yet committed have their xmax set then.
	 * So a claim from the front takes the rows with none and locks
	 * nothing first: FOR UPDATE wrote each row once more (a lock, then
	 * the delete; docs/vantage-worker.md, "One claim at a time").  It
	 * cannot wait on a row either: only a claim deletes or locks queue
	 * rows, and none runs beside it.  A row it passes over (a batch
	 * rolled back, the tail of a cut batch) is left to the looks that
	 * lock (SKIP LOCKED): from the start, and from the worker's own end
	 * after a cut. */
	snprintf(sql, sizeof sql,
		 "SELECT pg_advisory_lock(7346007, 0);"
		 " WITH l AS (SELECT ctid AS t, id, octet_length(line) AS n"
		 " FROM result_queue WHERE id >= %s%s"
		 " ORDER BY id LIMIT %d%s),"
		 " k AS (SELECT t FROM (SELECT t, sum(n) OVER (ORDER BY id) - n"
		 "  AS before FROM l) s WHERE before < %ld),"
		 " c AS (DELETE FROM result_queue"
		 " WHERE ctid = ANY (ARRAY(SELECT t FROM k))"
		 " RETURNING id, probe_id, host(from_addr) AS h, received,"
		 " src, line),"
		 " f AS (SELECT setval('vt_worker_front', CASE WHEN %s AND"
		 "  count(*) >= %d THEN max(id) + 1 ELSE greatest(max(id) + 1,"
		 "  (SELECT last_value FROM vt_worker_front)) END) AS front"
		 "  FROM c HAVING count(*) > 0)"
		 " SELECT c.*, f.front FROM c LEFT JOIN f ON true ORDER BY c.id;"
		 " SELECT pg_advisory_unlock(7346007, 0)",
		 start, front ? " AND xmax = 0" : "", o->batch,
		 front ? "" : " FOR UPDATE SKIP LOCKED", o->batch_bytes,
		 from == 0 ? "true" : "false", o->batch);
	return exec_keep(db, sql, 1, q, errbuf, errlen);
}

/* One batch between its claim and its COMMIT (worker.h): the connection
 * whose transaction holds it, the claimed rows parsed and enriched, the
 * turn held, and the time split of this batch alone. */
struct vt_worker_job {
	PGconn *db;
	PGresult *q;
	struct row *rows;
	int n, turn, r;
	int turned;             /* 1: vt_worker_store_turn has run (its
				 * outcome in r) */
	struct vt_worker_stats b;
	char err[1024];
};

/* Gives back the turn *turn after the transaction's end (its COMMIT is
 * the turn's last work); a failure to do so fails an r of VT_OK. */
static int turn_end(PGconn *db, int r, int *turn, char *errbuf,
		    size_t errlen)
{
	char gerr[160];

	if (*turn >= 0 && turn_give(db, turn, gerr, sizeof gerr) < 0 &&
	    r == VT_OK) {
		r = VT_EDB;
		if (errlen)
			snprintf(errbuf, errlen, "%s", gerr);
	}
	return r;
}

/* Ends a transaction that failed (or, r VT_OK, one that claimed nothing)
 * on db, and gives back the turn; r as it stays. */
static int end_xact(PGconn *db, int r, int *turn, char *errbuf,
		    size_t errlen)
{
	if (r == VT_OK)
		r = vt_pg_cmd(db, "COMMIT", errbuf, errlen);
	if (r < 0) {
		vt_pg_try(db, "ROLLBACK");
		if (errlen && !errbuf[0])
			snprintf(errbuf, errlen, "%s", vt_strerror(r));
	}
	return turn_end(db, r, turn, errbuf, errlen);
}

/* Adds the time split of *b to *st (the counts go with a COMMIT only). */
static void add_times(struct vt_worker_stats *st,
		      const struct vt_worker_stats *b)
{
	st->ns_turn += b->ns_turn;
	st->ns_turn_store += b->ns_turn_store;
	st->ns_claim += b->ns_claim;
	st->full_claims += b->full_claims;
	st->ns_parse += b->ns_parse;
	st->ns_lookup += b->ns_lookup;
	st->ns_enrich += b->ns_enrich;
	st->ns_results += b->ns_results;
	st->ns_latest += b->ns_latest;
	st->ns_other += b->ns_other;
	st->ns_commit += b->ns_commit;
	st->ns_pipe_wait += b->ns_pipe_wait;
}

static void job_free(struct vt_worker_job *j)
{
	if (!j)
		return;
	for (int i = 0; i < j->n && j->rows; i++)
		free(j->rows[i].stored);
	free(j->rows);
	PQclear(j->q);
	free(j);
}

int vt_worker_claim(PGconn *db, const struct vt_worker_opts *o,
		    struct vt_worker_cursor *cur, int spare,
		    struct vt_worker_stats *st, struct vt_worker_job **out,
		    char *errbuf, size_t errlen)
{
	struct vt_worker_job *j;
	struct vt_worker_cursor was = *cur;
	int r, front_only = cur->front_only, full = 0, lock_left = 0;
	int64_t t0, t1;

	*out = NULL;
	if (errlen)
		errbuf[0] = '\0';
	if (!(j = calloc(1, sizeof *j))) {
		snprintf(errbuf, errlen, "%s", vt_strerror(VT_ENOMEM));
		return VT_ENOMEM;
	}
	j->db = db;
	j->turn = -1;
	/* The COMMIT need not wait for its WAL flush.  A crash can lose only
	 * whole transactions (PostgreSQL replays WAL in order), and this one
	 * both stores the rows and deletes them from the queue: losing it
	 * puts the rows back in the queue, where they were durably committed
	 * by the gateway before the probe was told OK, and they are handled
	 * again (the results key keeps them stored once).  Nothing acknowledged
	 * is lost; only the work is redone. */
	cur->front_only = 0;
	if (front_only) {
		cur->from = 1;      /* greatest(1, the front) */
		cur->own = 0;
	} else if (cur->claims >= WK_FULL_EVERY) {
		cur->from = 0;
	}
	t0 = ns_now();
	/* The turn is held while the backend works (the claim; the store
	 * through its COMMIT), not while this process parses and enriches,
	 * nor while it looks measurements up.  Held for the whole batch
	 * instead, four workers on two turns ran no faster than two at best
	 * and slower in most paired runs (docs/scaling.md, "Workers' turns"):
	 * a worker's own parsing then idles its turn, where split turns let
	 * it overlap with the other workers' backends. */
	r = turn_take(db, o, "BEGIN; SET LOCAL synchronous_commit TO off",
		      spare, &j->turn, errbuf, errlen);
	t1 = ns_now();
	j->b.ns_turn = t1 - t0;
	if (r == VT_EAGAIN) {
		/* no turn spare: nothing claimed, the cursor as it was */
		*cur = was;
		vt_pg_try(db, "ROLLBACK");
		add_times(st, &j->b);
		job_free(j);
		return VT_EAGAIN;
	}
	/* From the shared front, unless the previous batch was cut by
	 * batch_bytes: the rows it locked and left lie below the front then,
	 * and this worker's own cursor is where they start. */
	full = cur->from == 0;
	if (r == VT_OK)
		lock_left = (r = claim(db, o, cur->from, cur->from > 0 &&
				       !cur->own, &j->q, errbuf, errlen)) < 0;
	if (r == VT_OK && cur->from > 0 && PQntuples(j->q) == 0) {
		/* nothing from there on: the whole queue, before an empty
		 * claim is taken for an empty queue (same transaction, same
		 * turn); front_only: the caller looks at it next, under its
		 * wake lock */
		cur->from = 0;
		if (!front_only) {
			PQclear(j->q);
			j->q = NULL;
			full = 1;
			lock_left = (r = claim(db, o, 0, 0, &j->q, errbuf,
					       errlen)) < 0;
		}
	}
	if (r == VT_OK)
		r = turn_give(db, &j->turn, errbuf, errlen);
	j->b.ns_claim = ns_now() - t1;
	if (r < 0)
		goto fail;
	if (full) {
		cur->claims = 0;
		j->b.full_claims = 1;
	}
	cur->claims++;
	j->n = PQntuples(j->q);
	if (j->n == 0)
		goto fail;      /* an empty queue: r VT_OK, committed */
	cur->from = atoll(PQgetvalue(j->q, j->n - 1, 0)) + 1;
	if (j->n < o->batch) {
		long got = 0;

		for (int i = 0; i < j->n; i++)
			got += PQgetlength(j->q, i, 5);
		/* nor cut by batch_bytes (a cut takes lines up to the cap
		 * or past it) */
		j->b.short_claims = got < o->batch_bytes;
	}
	cur->own = j->n < o->batch && !j->b.short_claims;
	/* Woken, and a whole batch: more rows wait than this worker takes
	 * at once, and one NOTIFY woke only this worker (migration 034): one
	 * more waiting worker is told, at this batch's COMMIT. */
	if (front_only && j->n >= o->batch &&
	    (r = vt_pg_cmd(db, "SELECT vt_queue_wake_one()", errbuf,
			   errlen)) < 0)
		goto fail;
	if (!(j->rows = calloc((size_t)j->n, sizeof *j->rows))) {
		r = VT_ENOMEM;
		goto fail;
	}
	if ((r = process_rows(db, j->q, j->rows, o, &j->b, errbuf,
			      errlen)) < 0)
		goto fail;
	*out = j;
	return VT_OK;
fail:
	if ((r = end_xact(db, r, &j->turn, errbuf, errlen)) < 0)
		cur->from = 0;      /* the batch is back in the queue */
	if (lock_left)
		claim_unlock(db);
	add_times(st, &j->b);
	job_free(j);
	return r;
}

int vt_worker_job_rows(const struct vt_worker_job *j)
{
	return j->n;
}

int vt_worker_job_short(const struct vt_worker_job *j)
{
	return (int)j->b.short_claims;
}

PGconn *vt_worker_job_db(const struct vt_worker_job *j)
{
	return j->db;
}

void vt_worker_store_turn(struct vt_worker_job *j,
			  const struct vt_worker_opts *o)
{
	int64_t t0 = ns_now();

	j->turned = 1;
	j->err[0] = '\0';
	/* The batch's results.seq numbers come from the sequence's shared
	 * state, after those of the batch stored before it on the worker's
	 * other connection: a session keeps up to 64 numbers it took
	 * (migration 015's CACHE), and the leftovers of this connection's
	 * previous batch are older than that batch's.  So one worker's rows
	 * are numbered in the order its batches commit, as the stream's
	 * readers expect (docs/vantage-api.md); the leftovers are skipped. */
	j->r = turn_take(j->db, o, "DISCARD SEQUENCES", 0, &j->turn, j->err,
			 sizeof j->err);
	j->b.ns_turn_store = ns_now() - t0;
}

void vt_worker_store(struct vt_worker_job *j, const struct vt_worker_opts *o)
{
	struct wk_seqs sq = { 0 };
	struct vt_buf commit;
	int r;
	int64_t t0, t1;

	vt_buf_init(&commit, 0);
	if (!j->turned)
		vt_worker_store_turn(j, o);
	if ((r = j->r) < 0)
		goto out;
	t0 = ns_now();
	r = store_set(j->db, j->rows, j->n, o->copy, 0, &sq, &j->b, j->err,
		      sizeof j->err);
	t1 = ns_now();
	j->b.ns_other += t1 - t0 - j->b.ns_results - j->b.ns_latest;
	if (r < 0)
		goto out;
	/* NOTIFYs and COMMIT in one round trip: a failed NOTIFY stops the
	 * text there, and the transaction is rolled back.  vantage_stream
	 * names the stored rows for stream servers (streamnote.h). */
	if ((r = wk_seqs_notify_sql(&sq, &commit)) < 0 ||
	    (r = vt_buf_adds(&commit, "NOTIFY vantage_results; COMMIT")) < 0) {
		snprintf(j->err, sizeof j->err, "%s", vt_strerror(r));
		goto out;
	}
	r = vt_pg_cmd(j->db, commit.data, j->err, sizeof j->err);
	j->b.ns_commit = ns_now() - t1;
	if (r == VT_OK) {
		r = turn_end(j->db, r, &j->turn, j->err, sizeof j->err);
		goto done;
	}
out:
	r = end_xact(j->db, r, &j->turn, j->err, sizeof j->err);
done:
	j->r = r;
	wk_seqs_free(&sq);
	vt_buf_free(&commit);
}

int vt_worker_finish(struct vt_worker_job *j, struct vt_worker_cursor *cur,
		     struct vt_worker_stats *st, char *errbuf, size_t errlen)
{
	const struct vt_worker_stats *b = &j->b;
	int r = j->r;

	if (r == VT_OK) {
		st->batches++;
		st->claimed += j->n;
		st->stored += b->stored;
		st->copied += b->copied;
		st->short_claims += b->short_claims;
		st->duplicates += b->duplicates;
		st->rejected += b->rejected;
		for (int i = 0; i < VT_REJ_CLASSES; i++)
			st->rejected_by[i] += b->rejected_by[i];
		st->status_used += b->status_used;
		st->status_other += b->status_other;
	} else {
		cur->from = 0;      /* the batch is back in the queue */
		snprintf(errbuf, errlen, "%s", j->err);
	}
	add_times(st, b);
	job_free(j);
	return r;
}

void vt_worker_abort(struct vt_worker_job *j, struct vt_worker_cursor *cur,
		     struct vt_worker_stats *st)
{
	char err[160] = "";

	(void)end_xact(j->db, VT_EDB, &j->turn, err, sizeof err);
	cur->from = 0;          /* the batch is back in the queue */
	add_times(st, &j->b);
	job_free(j);
}

int vt_worker_batch(PGconn *db, const struct vt_worker_opts *o,
		    struct vt_worker_cursor *cur,
		    struct vt_worker_stats *st, char *errbuf, size_t errlen)
{
	struct vt_worker_cursor none = { 0 };
	struct vt_worker_job *j;
	int r;

	if (!cur)
		cur = &none;
	if ((r = vt_worker_claim(db, o, cur, 0, st, &j, errbuf, errlen)) < 0 ||
	    !j)
		return r;
	vt_worker_store(j, o);
	return vt_worker_finish(j, cur, st, errbuf, errlen);
}

static const char *const rej_names[VT_REJ_CLASSES] = {
	"malformed", "too_late", "future", "unknown_measurement",
	"not_assigned", "cannot_store", "other"
};

enum vt_rej_class vt_worker_rej_class(const char *reason)
{
	static const struct { const char *prefix; enum vt_rej_class c; } map[] = {
		{ "malformed", VT_REJ_MALFORMED },
		{ "too late", VT_REJ_TOO_LATE },
		{ "time in the future", VT_REJ_FUTURE },
		{ "unknown measurement", VT_REJ_UNKNOWN_MSM },
		{ "probe not assigned", VT_REJ_NOT_ASSIGNED },
		{ "cannot store", VT_REJ_CANNOT_STORE },
	};

	for (size_t i = 0; reason && i < sizeof map / sizeof map[0]; i++)
		if (!strncmp(reason, map[i].prefix, strlen(map[i].prefix)))
			return map[i].c;
	return VT_REJ_OTHER;
}

const char *vt_worker_rej_name(enum vt_rej_class c)
{
	return c >= 0 && c < VT_REJ_CLASSES ? rej_names[c] : "other";
}
