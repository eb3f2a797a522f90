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
#include "storage/planner.h"

#define STREAM_BLOCK (64 * 1024)

/* 404 / 403 for measurement id as the request's key sees it. */
static int msm_visible(struct api_req *r, struct vt_api_err *e)
{
	char id[24];
	const char *p[1] = { id };
	PGresult *res = NULL;
	int rc;

	snprintf(id, sizeof id, "%lld", r->route.id);
	if ((rc = api_query_named(r, "msm_public", &res, "SELECT is_public FROM"
				  " measurements WHERE id = $1::bigint", 1, p, e)) < 0)
		return rc;
	if (PQntuples(res) == 0)
		rc = vt_api_fail(e, 404, 0, "id", "No measurement %lld", r->route.id);
	else if (strcmp(PQgetvalue(res, 0, 0), "t"))
		rc = api_need(r, VT_GRANT_RESULTS, e);
	PQclear(res);
	return rc;
}

/* ---- results: one stream, in (timestamp, probe) order ---------------- */

/* Hot and archived days come through the planner (storage/planner.h): it
 * borrows a pooled connection per statement, so a long stream never holds
 * one.  All of a stream's statements go to one source (dbread.h): the
 * replica or the primary, chosen when the stream is planned; a replica lost
 * after that aborts the stream, as any planner error does.  The response is chunked: the first bytes leave before the last
 * result is read; a client that hangs up frees the plan, which stops all
 * reading; a planner error aborts the chunked stream (the client sees a
 * truncated transfer) and is logged with what the planner names (object,
 * segment). */
struct rstream {
	struct vt_dbread_src src;
	struct vt_plan *plan;
	struct vt_plan_db pdb;
	unsigned long long *bytes;       /* the request's count (log line) */
	int *failed;                     /* the request's stream failed */
	char path[96];
	long long msm;
	int txt, begun, done, err;
	long long n;
	struct vt_buf out;               /* a result that did not fit, pending */
	size_t outpos;
	long long *probes;
};

/* Copies what is pending in out (the rest of a result that did not fit
 * the last call's buffer) into buf. */
static size_t drain(struct rstream *s, char *buf, size_t max)
{
	size_t n = s->out.len - s->outpos;

	if (n == 0)
		return 0;       /* out may have no buffer at all (data NULL) */
	if (n > max)
		n = max;
	memcpy(buf, s->out.data + s->outpos, n);
	s->outpos += n;
	if (s->outpos == s->out.len) {
		vt_buf_reset(&s->out);
		s->outpos = 0;
	}
	return n;
}

/* libmicrohttpd asks for the next bytes of the chunked body (as many as
 * its connection buffer holds, about 40 KiB): results are written straight
 * into its buffer, separators included; only a result that does not fit
 * goes through out, to be drained by the next calls. */
static ssize_t rs_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct rstream *s = cls;
	size_t n;

	(void)pos;
	n = drain(s, buf, max);
	while (n < max && !s->err && s->done < 2 && !s->out.len) {
		const char *json;
		size_t len, need;
		int sep, rc;

		if (!s->begun) {
			s->begun = 1;
			if (!s->txt)
				buf[n++] = '[';
			continue;
		}
		if (s->done == 1) {
			if (!s->txt)
				buf[n++] = ']';
			s->done = 2;
			continue;
		}
		if ((rc = vt_plan_next(s->plan, &json, &len)) < 0) {
			vt_err("%s: results of %lld: %s%s (stream aborted after %lld)",
			       s->path, s->msm, vt_plan_error(s->plan),
			       s->src.lost ? " (the read replica was lost)" : "",
			       s->n);
			s->err = 1;
			break;
		}
		if (rc == 0) {
			s->done = 1;
			continue;
		}
		sep = !s->txt && s->n;
		need = (size_t)sep + len + (size_t)s->txt;
		s->n++;
		if (need <= max - n) {
			if (sep)
				buf[n++] = ',';
			memcpy(buf + n, json, len);
			n += len;
			if (s->txt)
				buf[n++] = '\n';
			continue;
		}
		if ((sep && vt_buf_addc(&s->out, ',') < 0) ||
		    vt_buf_add(&s->out, json, len) < 0 ||
		    (s->txt && vt_buf_addc(&s->out, '\n') < 0)) {
			vt_err("%s: results of %lld: out of memory (stream aborted"
			       " after %lld)", s->path, s->msm, s->n);
			s->err = 1;
			break;
		}
		n += drain(s, buf + n, max - n);
	}
	if (n) {
		*s->bytes += n;
		return (ssize_t)n;
	}
	if (s->err) {
		*s->failed = 1;
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	return s->done == 2 ? MHD_CONTENT_READER_END_OF_STREAM : 0;
}

static void rs_free(void *cls)
{
	struct rstream *s = cls;

	vt_plan_free(s->plan);
	vt_buf_free(&s->out);
	free(s->probes);
	free(s);
}

/* The probes asked for ("{1,2}" literal, anchors_only, public_only) as ids:
 * *n is 0 with *all set for every probe. */
static int probe_set(struct api_req *r, const struct vt_api_results *q,
		     long long **ids, size_t *n, int *all, struct vt_api_err *e)
{
	const char *p[3] = { q->probes[0] ? q->probes : NULL,
			     q->anchors_only ? "t" : "f", q->public_only ? "t" : "f" };
	PGresult *res = NULL;
	int rc;

	*ids = NULL;
	*n = 0;
	*all = !q->probes[0] && !q->anchors_only && !q->public_only;
	if (*all)
		return 0;
	if (!q->anchors_only && !q->public_only) {
		/* "{1,2}" as checked by vt_api_results_parse. */
		size_t cap = 1;

		for (const char *c = q->probes; *c; c++)
			cap += *c == ',';
		if (!(*ids = calloc(cap, sizeof **ids)))
			return vt_api_fail(e, 500, 0, "", "out of memory");
		for (const char *c = q->probes + 1; *c && *c != '}'; ) {
			char *end;

			(*ids)[(*n)++] = strtoll(c, &end, 10);
			c = *end == ',' ? end + 1 : end;
		}
		return 0;
	}
	if ((rc = api_query(r, &res, "SELECT id FROM probes WHERE ($1::integer[] IS"
			    " NULL OR id = ANY ($1::integer[])) AND (NOT $2::boolean"
			    " OR is_anchor) AND (NOT $3::boolean OR is_public)"
			    " ORDER BY id", 3, p, e)) < 0)
		return rc;
	if (!(*ids = calloc((size_t)PQntuples(res) + 1, sizeof **ids))) {
		PQclear(res);
		return vt_api_fail(e, 500, 0, "", "out of memory");
	}
	for (int i = 0; i < PQntuples(res); i++)
		(*ids)[(*n)++] = atoll(PQgetvalue(res, i, 0));
	PQclear(res);
	return 0;
}

enum MHD_Result h_results(struct api_req *r, struct MHD_Connection *c)
{
	struct vt_api_results q;
	struct vt_plan_query pq = { 0 };
	struct vt_api_err e = { 0 };
	struct MHD_Response *resp;
	struct rstream *s;
	char err[512];
	size_t n = 0;
	int all = 1, rc;
	enum MHD_Result ret;

	if (vt_api_results_parse(&r->qs, 0, &q, &e) < 0 || msm_visible(r, &e) < 0)
		return api_reply_err(r, c, &e);
	if (!(s = calloc(1, sizeof *s)))
		return api_reply_errf(r, c, 500, NULL, "out of memory");
	vt_buf_init(&s->out, 0);
	if (probe_set(r, &q, &s->probes, &n, &all, &e) < 0) {
		rs_free(s);
		return api_reply_err(r, c, &e);
	}
	if (!all && n == 0) {
		rs_free(s);
		return q.txt ? api_reply(r, c, 200, "", 0) : api_reply(r, c, 200, "[]", 2);
	}
	s->bytes = &r->bytes;
	s->failed = &r->failed;
	s->msm = r->route.id;
	s->txt = q.txt;
	snprintf(s->path, sizeof s->path, "%s", r->path);
	vt_dbread_src_init(&s->src, r->api->rd, r->api->pool, r->rpool);
	s->pdb.acquire = vt_dbread_src_acquire;
	s->pdb.release = vt_dbread_src_release;
	s->pdb.arg = &s->src;
	pq.msm_id = r->route.id;
	pq.start = q.start;
	pq.stop = q.stop;
	pq.probes = all ? NULL : s->probes;
	pq.nprobes = all ? 0 : n;
	if (q.start > q.stop) {
		rs_free(s);
		return q.txt ? api_reply(r, c, 200, "", 0) : api_reply(r, c, 200, "[]", 2);
	}
	rc = vt_plan_open(&s->plan, &s->pdb, r->api->store, &pq, err, sizeof err);
	if (rc < 0 && s->src.replica) {
		/* Nothing is sent yet: plan it again on the primary. */
		vt_warn("%s: results of %lld on the replica: %s", r->path,
			pq.msm_id, err);
		api_read_primary(r, NULL);
		vt_dbread_src_init(&s->src, r->api->rd, r->api->pool, NULL);
		rc = vt_plan_open(&s->plan, &s->pdb, r->api->store, &pq, err,
				  sizeof err);
	}
	r->dbs |= s->src.replica ? API_DB_REPLICA : API_DB_PRIMARY;
	if (rc < 0) {
		vt_err("%s: results of %lld: %s", r->path, pq.msm_id, err);
		rs_free(s);
		return api_reply_errf(r, c, 503, NULL, "cannot read the results now");
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
						 rs_read, s, rs_free);
	if (!resp) {
		rs_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				s->txt ? "text/plain" : "application/json");
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
	int hot, rc;

	vt_buf_init(&b, 0);
	if (vt_api_results_parse(&r->qs, 1, &q, &e) < 0)
		goto fail;
	snprintf(id, sizeof id, "%lld", r->route.id);
	p[1] = q.probes[0] ? q.probes : NULL;
	snprintf(since, sizeof since, "%lld", q.lookback_days ?
		 vt_now_ms() / 1000 - q.lookback_days * 86400LL : 0LL);
	snprintf(versions, sizeof versions, "%d", q.versions);
	hot = q.versions > 1 || q.lookback_days;
	if ((rc = api_read(r, c, hot ? "latest_hot" : "latest", &res, hot ?
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
		      &e)) < 0)
		goto fail;
	if (rc == API_READ_LATER)
		return MHD_YES;
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
