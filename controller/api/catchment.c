/* catchment.c - measurements/{id}/catchment/ and the /catchment/{id} page
 * (catchment.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "controller/api/catchment.h"
#include "controller/api/keys.h"
#include "storage/catchment.h"
#include "storage/planner.h"

/* 404 unless measurement id exists, 403 when it is not public and the key
 * lacks the results grant. */
static int visible(struct api_req *r, long long msm, const char *param,
		   struct vt_api_err *e)
{
	char id[24];
	const char *p[1] = { id };
	PGresult *res = NULL;
	int rc;

	snprintf(id, sizeof id, "%lld", msm);
	if ((rc = api_query(r, &res, "SELECT is_public FROM measurements"
			    " WHERE id = $1::bigint", 1, p, e)) < 0)
		return rc;
	if (PQntuples(res) == 0)
		rc = vt_api_fail(e, 404, 0, param, "No measurement %lld", msm);
	else if (strcmp(PQgetvalue(res, 0, 0), "t"))
		rc = api_need(r, VT_GRANT_RESULTS, e);
	PQclear(res);
	return rc;
}

/* The catchment asked for by the request, as its JSON view. */
static int build(struct api_req *r, json_t **view, struct vt_api_err *e)
{
	struct vt_api_results q;
	struct vt_catch_req cq = { 0 };
	struct vt_dbread_src src;
	struct vt_plan_db pdb = { vt_dbread_src_acquire, vt_dbread_src_release,
				  &src };
	struct vt_catch *cat = NULL;
	long long *ids = NULL;
	const char *ping = vt_qs_get(&r->qs, "ping");
	char err[512];
	size_t n = 0;
	int rc;

	*view = NULL;
	if ((rc = vt_api_results_parse(&r->qs, 0, &q, e)) < 0)
		return rc;
	if (ping && *ping) {
		char *end;

		cq.ping_msm = strtoll(ping, &end, 10);
		if (*end || cq.ping_msm <= 0 || cq.ping_msm > LLONG_MAX / 2 ||
		    strlen(ping) > 18)
			return vt_api_fail(e, 400, 0, "ping", "ping wants a measurement id");
	}
	if ((rc = visible(r, r->route.id, "id", e)) < 0 ||
	    (cq.ping_msm && (rc = visible(r, cq.ping_msm, "ping", e)) < 0))
		return rc;
	if (q.probes[0]) {                  /* "{1,2}" as checked by the parser */
		size_t cap = 1;

		for (const char *c = q.probes; *c; c++)
			cap += *c == ',';
		if (!(ids = calloc(cap, sizeof *ids)))
			return vt_api_fail(e, 500, 0, "", "out of memory");
		for (const char *c = q.probes + 1; *c && *c != '}'; ) {
			char *end;

			ids[n++] = strtoll(c, &end, 10);
			c = *end == ',' ? end + 1 : end;
		}
		cq.probes = ids;
		cq.nprobes = n;
	}
	cq.msm_id = r->route.id;
	cq.start = q.start;
	cq.stop = q.stop;
	if (q.start > q.stop) {
		rc = vt_api_fail(e, 400, 0, "start", "start is after stop");
		goto out;
	}
	/* One source for the whole read (dbread.h); nothing is sent before it
	 * ends, so a replica that fails or lacks the measurement is left for
	 * the primary. */
	vt_dbread_src_init(&src, r->api->rd, r->api->pool, r->rpool);
	rc = vt_catch_read(&cat, &pdb, r->api->store, &cq, err, sizeof err);
	if (rc < 0 && src.replica) {
		api_read_primary(r, NULL);
		vt_catch_free(cat);
		cat = NULL;
		vt_dbread_src_init(&src, r->api->rd, r->api->pool, NULL);
		rc = vt_catch_read(&cat, &pdb, r->api->store, &cq, err, sizeof err);
	}
	r->dbs |= src.replica ? API_DB_REPLICA : API_DB_PRIMARY;
	if (rc == VT_EINVAL) {
		vt_api_fail(e, 400, 0, strstr(err, "not ping") ? "ping" : "id",
			    "%s: the catchment needs a DNS measurement whose answers"
			    " name the site (and a ping measurement to join)", err);
		goto out;
	}
	if (rc == VT_ENOTFOUND && !strncmp(err, "no measurement", 14)) {
		vt_api_fail(e, 404, 0, "id", "%s", err);
		goto out;
	}
	if (rc < 0) {
		vt_err("%s: catchment of %lld: %s", r->path, cq.msm_id, err);
		vt_api_fail(e, 503, 0, "", "cannot read the results now");
		goto out;
	}
	if (!(*view = vt_catch_json(cat))) {
		rc = vt_api_fail(e, 500, 0, "", "out of memory");
		goto out;
	}
	rc = 0;
out:
	vt_catch_free(cat);
	free(ids);
	return rc;
}

enum MHD_Result h_catchment(struct api_req *r, struct MHD_Connection *c)
{
	struct vt_api_err e = { 0 };
	json_t *view = NULL;
	char *s;

	if (build(r, &view, &e) < 0)
		return api_reply_err(r, c, &e);
	s = json_dumps(view, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(view);
	if (!s)
		return api_reply_errf(r, c, 500, NULL, "out of memory");
	return api_reply_take(r, c, 200, s, strlen(s));
}

enum MHD_Result h_catchment_page(struct api_req *r, struct MHD_Connection *c)
{
	struct vt_api_err e = { 0 };
	struct MHD_Response *resp;
	json_t *view = NULL;
	struct vt_buf b;
	enum MHD_Result ret;
	size_t len;
	char *s;

	if (build(r, &view, &e) < 0)
		return api_reply_err(r, c, &e);
	vt_buf_init(&b, 0);
	if (vt_catch_html(view, &b) < 0) {
		json_decref(view);
		vt_buf_free(&b);
		return api_reply_errf(r, c, 500, NULL, "out of memory");
	}
	json_decref(view);
	s = vt_buf_take(&b, &len);
	resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/html; charset=utf-8");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; style-src 'unsafe-inline'; img-src data:");
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	r->status = 200;
	r->bytes = len;
	return ret;
}
