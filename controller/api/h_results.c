/* h_results.c - measurements/{id}/results/ (streamed) and latest/. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pg.h"
#include "common/vtime.h"
#include "controller/api/api_int.h"
#include "controller/api/keys.h"

#define BATCH_ROWS   1000
#define STREAM_BLOCK (64 * 1024)

/* 404 / 403 for measurement id as the request's key sees it. */
static int msm_visible(struct api_req *r, struct vt_api_err *e)
{
	char id[24];
	const char *p[1] = { id };
	PGresult *res = NULL;
	int rc;

	snprintf(id, sizeof id, "%lld", r->route.id);
	if ((rc = api_query(r, &res, "SELECT is_public FROM measurements"
			    " WHERE id = $1::bigint", 1, p, e)) < 0)
		return rc;
	if (PQntuples(res) == 0)
		rc = vt_api_fail(e, 404, 0, "id", "No measurement %lld", r->route.id);
	else if (strcmp(PQgetvalue(res, 0, 0), "t"))
		rc = api_need(r, VT_GRANT_RESULTS, e);
	PQclear(res);
	return rc;
}

/* ---- results: one stream, in (timestamp, probe) order ---------------- */

struct rstream {
	struct vt_dbpool *pool;
	unsigned long long *bytes;       /* the request's count (log line) */
	char path[96];
	long long msm;
	struct vt_api_results q;
	int begun, done;
	long long n;
	struct vt_buf out;
	size_t outpos;
	int have_last;
	char last_ts[24], last_prb[16], last_digest[136];
};

static int put_result(struct rstream *s, const char *json, size_t len)
{
	int rc;

	if (!s->q.txt && s->n && (rc = vt_buf_addc(&s->out, ',')) < 0)
		return rc;
	if ((rc = vt_buf_add(&s->out, json, len)) < 0)
		return rc;
	s->n++;
	return s->q.txt ? vt_buf_addc(&s->out, '\n') : 0;
}

/* The next batch of hot rows after the last one sent. */
static int fill_hot(struct rstream *s)
{
	char msm[24], start[24], stop[24], err[512];
	const char *p[9] = { msm, start, stop, s->q.probes[0] ? s->q.probes : NULL,
			     s->q.anchors_only ? "t" : "f",
			     s->q.public_only ? "t" : "f",
			     s->have_last ? s->last_ts : NULL,
			     s->have_last ? s->last_prb : NULL,
			     s->have_last ? s->last_digest : NULL };
	PGresult *res = NULL;
	PGconn *db;
	int rc, rows;

	snprintf(msm, sizeof msm, "%lld", s->msm);
	snprintf(start, sizeof start, "%lld", s->q.start);
	snprintf(stop, sizeof stop, "%lld", s->q.stop > 4102444800LL ? 4102444800LL :
		 s->q.stop);
	if (!(db = vt_dbpool_get(s->pool, &rc, err, sizeof err)))
		goto fail;
	rc = vt_pg_exec(db, &res, err, sizeof err,
			"SELECT r.result, r.ts, r.prb_id, encode(r.digest, 'hex')"
			" FROM results r WHERE r.msm_id = $1::bigint"
			" AND r.day BETWEEN (to_timestamp($2::bigint) AT TIME ZONE 'UTC')::date"
			" AND (to_timestamp($3::bigint) AT TIME ZONE 'UTC')::date"
			" AND r.ts >= $2::bigint AND r.ts <= $3::bigint"
			" AND ($4::integer[] IS NULL OR r.prb_id = ANY ($4::integer[]))"
			" AND (NOT $5::boolean OR EXISTS (SELECT 1 FROM probes p"
			"      WHERE p.id = r.prb_id AND p.is_anchor))"
			" AND (NOT $6::boolean OR EXISTS (SELECT 1 FROM probes p"
			"      WHERE p.id = r.prb_id AND p.is_public))"
			" AND ($7::bigint IS NULL OR (r.ts, r.prb_id, r.digest) >"
			"      ($7::bigint, $8::integer, decode($9, 'hex')))"
			" ORDER BY r.ts, r.prb_id, r.digest LIMIT " "1000", 9, p);
	vt_dbpool_put(s->pool, db);
	if (rc < 0)
		goto fail;
	rows = PQntuples(res);
	for (int i = 0; i < rows; i++)
		if ((rc = put_result(s, PQgetvalue(res, i, 0),
				     (size_t)PQgetlength(res, i, 0))) < 0) {
			snprintf(err, sizeof err, "%s", vt_strerror(rc));
			goto fail;
		}
	if (rows) {
		snprintf(s->last_ts, sizeof s->last_ts, "%s", PQgetvalue(res, rows - 1, 1));
		snprintf(s->last_prb, sizeof s->last_prb, "%s", PQgetvalue(res, rows - 1, 2));
		snprintf(s->last_digest, sizeof s->last_digest, "%s",
			 PQgetvalue(res, rows - 1, 3));
		s->have_last = 1;
	}
	if (rows < BATCH_ROWS)
		s->done = 1;
	PQclear(res);
	return 0;
fail:
	PQclear(res);
	vt_err("%s: results of %lld: hot rows: %s (stream aborted)", s->path,
	       s->msm, err);
	return VT_EDB;
}

static ssize_t rs_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct rstream *s = cls;
	size_t n;

	while (s->outpos >= s->out.len) {
		vt_buf_reset(&s->out);
		s->outpos = 0;
		if (s->done == 2)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (s->done == 1) {
			if (!s->q.txt && vt_buf_adds(&s->out, "]") < 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			s->done = 2;
			continue;
		}
		if (!s->begun) {
			s->begun = 1;
			if (!s->q.txt && vt_buf_addc(&s->out, '[') < 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			continue;
		}
		if (fill_hot(s) < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	n = s->out.len - s->outpos;
	if (n > max)
		n = max;
	memcpy(buf, s->out.data + s->outpos, n);
	s->outpos += n;
	*s->bytes += n;
	return (ssize_t)n;
}

static void rs_free(void *cls)
{
	struct rstream *s = cls;

	vt_buf_free(&s->out);
	free(s);
}

enum MHD_Result h_results(struct api_req *r, struct MHD_Connection *c)
{
	struct vt_api_err e = { 0 };
	struct MHD_Response *resp;
	struct rstream *s;
	enum MHD_Result ret;

	if (!(s = calloc(1, sizeof *s)))
		return api_reply_errf(r, c, 500, NULL, "out of memory");
	vt_buf_init(&s->out, 0);
	if (vt_api_results_parse(&r->qs, 0, &s->q, &e) < 0 || msm_visible(r, &e) < 0) {
		rs_free(s);
		return api_reply_err(r, c, &e);
	}
	s->pool = r->api->pool;
	s->bytes = &r->bytes;
	s->msm = r->route.id;
	snprintf(s->path, sizeof s->path, "%s", r->path);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
						 rs_read, s, rs_free);
	if (!resp) {
		rs_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				s->q.txt ? "text/plain" : "application/json");
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	r->status = 200;
	return ret;
}

/* ---- latest ---------------------------------------------------------- */

enum MHD_Result h_latest(struct api_req *r, struct MHD_Connection *c)
{
	struct vt_api_results q;
	struct vt_api_err e = { 0 };
	char id[24], since[24], versions[8];
	const char *p[4] = { id, NULL, since, versions };
	PGresult *res = NULL;
	struct vt_buf b;
	enum MHD_Result ret;
	size_t len;
	char *s;
	int hot;

	vt_buf_init(&b, 0);
	if (vt_api_results_parse(&r->qs, 1, &q, &e) < 0)
		goto fail;
	snprintf(id, sizeof id, "%lld", r->route.id);
	p[1] = q.probes[0] ? q.probes : NULL;
	snprintf(since, sizeof since, "%lld", q.lookback_days ?
		 vt_now_ms() / 1000 - q.lookback_days * 86400LL : 0LL);
	snprintf(versions, sizeof versions, "%d", q.versions);
	hot = q.versions > 1 || q.lookback_days;
	if (api_query(r, &res, hot ?
		      "SELECT m.is_public, (SELECT string_agg(x.result, $3::text"
		      " ORDER BY x.prb_id, x.ts DESC) FROM (SELECT r.prb_id, r.ts,"
		      " r.result, row_number() OVER (PARTITION BY r.prb_id"
		      " ORDER BY r.ts DESC) rn FROM results r WHERE r.msm_id = m.id"
		      " AND r.ts >= $4::bigint AND ($2::integer[] IS NULL OR"
		      " r.prb_id = ANY ($2::integer[]))) x WHERE x.rn <= $5::integer)"
		      " FROM measurements m WHERE m.id = $1::bigint" :
		      "SELECT m.is_public, (SELECT string_agg(l.result, $3::text"
		      " ORDER BY l.prb_id) FROM latest l WHERE l.msm_id = m.id AND"
		      " ($2::integer[] IS NULL OR l.prb_id = ANY ($2::integer[])))"
		      " FROM measurements m WHERE m.id = $1::bigint",
		      hot ? 5 : 3,
		      (const char *const[]){ p[0], p[1], q.txt ? "\n" : ",", p[2], p[3] },
		      &e) < 0)
		goto fail;
	if (PQntuples(res) == 0) {
		vt_api_fail(&e, 404, 0, "id", "No measurement %lld", r->route.id);
		goto fail;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") &&
	    api_need(r, VT_GRANT_RESULTS, &e) < 0)
		goto fail;
	if (vt_buf_reserve(&b, (size_t)PQgetlength(res, 0, 1) + 4) < 0 ||
	    (!q.txt && vt_buf_addc(&b, '[') < 0) ||
	    vt_buf_add(&b, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1)) < 0 ||
	    (q.txt ? (PQgetlength(res, 0, 1) && vt_buf_addc(&b, '\n') < 0) :
	     vt_buf_addc(&b, ']') < 0)) {
		vt_api_fail(&e, 500, 0, "", "out of memory");
		goto fail;
	}
	PQclear(res);
	s = vt_buf_take(&b, &len);
	return api_reply_take(r, c, 200, s, len);
fail:
	PQclear(res);
	vt_buf_free(&b);
	ret = api_reply_err(r, c, &e);
	return ret;
}
