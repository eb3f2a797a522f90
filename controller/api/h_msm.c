/* h_msm.c - measurements/: list, object, create, stop, participation
 * requests and tags.  Creating, stopping and participation go through the
 * same code as `vantage msm create|stop|participate` (scheduler/def.h and
 * scheduler/msm.h), so both accept and refuse the same requests with the
 * same messages. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pg.h"
#include "common/vtime.h"
#include "controller/api/api_int.h"
#include "controller/api/body.h"
#include "controller/api/keys.h"
#include "controller/api/msmobj.h"
#include "controller/scheduler/def.h"
#include "controller/scheduler/msm.h"

enum MHD_Result h_msm_list(struct api_req *r, struct MHD_Connection *c)
{
	const char *mine = vt_qs_get(&r->qs, "mine");
	struct vt_sqlq q;
	char kid[24];
	const char *v[1] = { kid };
	enum MHD_Result ret;

	vt_sqlq_init(&q, 5);
	snprintf(kid, sizeof kid, "%lld", r->has_key ? r->key_id : -1LL);
	if ((!(r->grants & VT_GRANT_RESULTS) &&
	     vt_buf_adds(&q.where, " AND m.is_public") < 0) ||
	    (mine && (!strcasecmp(mine, "true") || !strcmp(mine, "1")) &&
	     vt_sqlq_add(&q, "m.api_key_id = ?1::bigint", 1, v) < 0))
		ret = api_reply_errf(r, c, 500, NULL, "out of memory");
	else
		ret = api_list(r, c, VT_LIST_MSM, "measurements m",
			       "vt_api_msm_json(m, $1, $2::boolean)", &q);
	vt_sqlq_free(&q);
	return ret;
}

/* 404 when there is no measurement id, 403 when it is not public and the
 * key lacks the results grant.  *res holds the row (is_public, ...). */
static int visible(struct api_req *r, PGresult *res, struct vt_api_err *e)
{
	if (PQntuples(res) == 0)
		return vt_api_fail(e, 404, 0, "id", "No measurement %lld", r->route.id);
	if (strcmp(PQgetvalue(res, 0, 0), "t"))
		return api_need(r, VT_GRANT_RESULTS, e);
	return 0;
}

/* The object is built in C (msmobj.h) from one prepared statement's row:
 * the database only reads. */
enum MHD_Result h_msm_get(struct api_req *r, struct MHD_Connection *c)
{
	struct vt_api_err e = { 0 };
	struct msmobj_row row;
	char id[24], fields[1024];
	const char *p[1] = { id };
	PGresult *res = NULL;
	struct vt_buf b;
	size_t len;
	char *s;
	int rc;

	vt_buf_init(&b, 0);
	snprintf(id, sizeof id, "%lld", r->route.id);
	if (vt_api_fields(&r->qs, fields, sizeof fields, &e) < 0 ||
	    (rc = api_read(r, c, "msm_row", &res, MSMOBJ_SQL, 1, p, &e)) < 0)
		goto fail;
	if (rc == API_READ_LATER)
		return MHD_YES;
	if (visible(r, res, &e) < 0)
		goto fail;
	for (int i = 0; i < MC_NCOLS; i++)
		row.v[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
	if (vt_msmobj_json(&row, r->base, fields, &b) < 0) {
		vt_warn("%s %s: measurement %lld: its definition does not parse",
			r->method, r->path, r->route.id);
		vt_api_fail(&e, 500, 0, "", "database error");
		goto fail;
	}
	PQclear(res);
	s = vt_buf_take(&b, &len);
	return api_reply_take(r, c, 200, s, len);
fail:
	PQclear(res);
	vt_buf_free(&b);
	return api_reply_err(r, c, &e);
}

/* Runs fn on a pooled connection; DB trouble becomes 500/503 in e. */
static PGconn *get_db(struct api_req *r, struct vt_api_err *e)
{
	char err[512];
	PGconn *db;
	int rc;

	if (!(db = vt_dbpool_get(r->api->pool, &rc, err, sizeof err))) {
		vt_warn("database: %s", err);
		vt_api_fail(e, 503, 0, "", "the database is busy; try again");
	}
	return db;
}

static void db_fail(struct api_req *r, int rc, const char *err,
		    struct vt_api_err *e)
{
	if (rc == VT_ENOTFOUND) {
		vt_api_fail(e, 404, 0, "id", "%s", err);
	} else if (rc == VT_EINVAL) {
		vt_api_fail(e, 400, 1, "", "%s", err);
	} else {
		vt_warn("%s %s: database: %s", r->method, r->path, err);
		vt_api_fail(e, 500, 0, "", "database error");
	}
}

enum MHD_Result h_msm_create(struct api_req *r, struct MHD_Connection *c)
{
	struct vt_msm_request *req = NULL;
	struct vt_api_err e = { 0 };
	long long ids[VT_MSM_DEFS_MAX];
	struct vt_buf out;
	PGconn *db = NULL;
	char err[512];
	int n = 0, rc;
	enum MHD_Result ret;

	vt_buf_init(&out, 0);
	if (api_need(r, VT_GRANT_CREATE, &e) < 0)
		goto fail;
	rc = vt_msm_request_parse(r->body.data ? r->body.data : "", r->body.len,
				  vt_now_ms() / 1000, &req, err, sizeof err);
	if (rc < 0) {
		vt_api_err_from_msg(&e, err, "");
		goto fail;
	}
	if (!(db = get_db(r, &e)))
		goto fail;
	if ((rc = vt_msm_create(db, req, vt_now_ms() / 1000, ids, VT_MSM_DEFS_MAX,
				&n, err, sizeof err)) < 0) {
		db_fail(r, rc, err, &e);
		goto fail;
	}
	{
		struct vt_pg_array a;
		char kid[24];
		const char *p[2] = { kid, NULL };

		vt_pg_array_init(&a, 4096);
		for (int i = 0; i < n; i++)
			if (vt_pg_array_ll(&a, ids[i]) < 0)
				break;
		p[1] = vt_pg_array_done(&a);
		snprintf(kid, sizeof kid, "%lld", r->key_id);
		if (p[1] && vt_pg_exec(db, NULL, err, sizeof err,
				       "UPDATE measurements SET api_key_id = $1::bigint"
				       " WHERE id = ANY ($2::bigint[])", 2, p) < 0)
			vt_warn("measurement key: %s", err);
		vt_pg_array_free(&a);
	}
	if (vt_buf_adds(&out, "{\"measurements\": [") < 0)
		goto oom;
	for (int i = 0; i < n; i++)
		if (vt_buf_addf(&out, "%s%lld", i ? ", " : "", ids[i]) < 0)
			goto oom;
	if (vt_buf_adds(&out, "]}") < 0)
		goto oom;
	ret = api_reply(r, c, 201, out.data, out.len);
	goto out;
oom:
	vt_api_fail(&e, 500, 0, "", "out of memory");
fail:
	ret = api_reply_err(r, c, &e);
out:
	vt_dbpool_put(r->api->pool, db);
	vt_msm_request_free(req);
	vt_buf_free(&out);
	return ret;
}

enum MHD_Result h_msm_stop(struct api_req *r, struct MHD_Connection *c)
{
	struct vt_api_err e = { 0 };
	PGconn *db = NULL;
	char err[512];
	int rc;
	enum MHD_Result ret;

	if (api_need(r, VT_GRANT_STOP, &e) < 0 || !(db = get_db(r, &e)))
		goto fail;
	rc = vt_msm_stop(db, r->route.id, vt_now_ms() / 1000, err, sizeof err);
	vt_dbpool_put(r->api->pool, db);
	if (rc < 0) {
		db_fail(r, rc, err, &e);
		goto fail;
	}
	return api_reply(r, c, 204, "", 0);
fail:
	ret = api_reply_err(r, c, &e);
	return ret;
}

enum MHD_Result h_msm_part(struct api_req *r, struct MHD_Connection *c)
{
	struct vt_api_err e = { 0 };
	struct vt_api_part *items = NULL;
	struct vt_buf out;
	PGconn *db = NULL;
	char err[512];
	size_t i, n = 0;
	int rc;
	enum MHD_Result ret;

	vt_buf_init(&out, 0);
	if (api_need(r, VT_GRANT_PARTICIPATION, &e) < 0)
		goto fail;
	if (vt_api_part_parse(r->body.data ? r->body.data : "", r->body.len,
			      &items, &n, &e) < 0)
		goto fail;
	if (!(db = get_db(r, &e)))
		goto fail;
	if (vt_buf_adds(&out, "{\"request_ids\": [") < 0)
		goto oom;
	for (i = 0; i < n; i++) {
		long long req = 0;

		rc = items[i].remove ?
		     vt_msm_participate_remove(db, r->route.id, items[i].ids, &req,
					       err, sizeof err) :
		     vt_msm_participate_add(db, r->route.id, &items[i].spec, &req,
					    err, sizeof err);
		if (rc < 0) {
			db_fail(r, rc, err, &e);
			goto fail;
		}
		if (vt_buf_addf(&out, "%s%lld", i ? ", " : "", req) < 0)
			goto oom;
	}
	if (vt_buf_adds(&out, "]}") < 0)
		goto oom;
	ret = api_reply(r, c, 201, out.data, out.len);
	goto out;
oom:
	vt_api_fail(&e, 500, 0, "", "out of memory");
fail:
	ret = api_reply_err(r, c, &e);
out:
	vt_dbpool_put(r->api->pool, db);
	free(items);
	vt_buf_free(&out);
	return ret;
}

/* GET tags/ lists, POST tags/ {"tag": "x"} adds, DELETE tags/x/ removes. */
enum MHD_Result h_msm_tags(struct api_req *r, struct MHD_Connection *c)
{
	struct vt_api_err e = { 0 };
	char id[24], tag[72] = "";
	const char *p[3] = { id, tag, NULL };
	PGresult *res = NULL;
	json_t *root = NULL;
	int get = r->route.route == VT_R_MSM_TAGS && strcmp(r->method, "POST");
	int add = r->route.route == VT_R_MSM_TAGS && !get;
	enum MHD_Result ret;

	snprintf(id, sizeof id, "%lld", r->route.id);
	if (!get && api_need(r, VT_GRANT_TAGS, &e) < 0)
		goto fail;
	if (add) {
		json_error_t jerr;
		const char *t;

		root = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &jerr);
		t = json_string_value(json_object_get(root, "tag"));
		if (!t || !*t || strlen(t) > 64 ||
		    strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(t)) {
			vt_api_fail(&e, 400, 1, "/tag", "tag: required, a tag (lower-case "
				    "letters, digits, '-', '_')");
			goto fail;
		}
		snprintf(tag, sizeof tag, "%s", t);
	} else if (!get) {
		snprintf(tag, sizeof tag, "%s", r->route.tag);
	}
	if (get) {
		if (api_query(r, &res, "SELECT m.is_public, coalesce((SELECT"
			      " json_agg(json_build_object('name', t, 'slug', t)"
			      " ORDER BY t) FROM unnest(m.tags) t), '[]')::text"
			      " FROM measurements m WHERE m.id = $1::bigint", 1, p,
			      &e) < 0 || visible(r, res, &e) < 0)
			goto fail;
		ret = api_reply(r, c, 200, PQgetvalue(res, 0, 1),
				(size_t)PQgetlength(res, 0, 1));
		goto out;
	}
	p[2] = add ? "t" : "f";
	if (api_query(r, &res, "UPDATE measurements SET tags = array(SELECT DISTINCT"
		      " t FROM unnest(CASE WHEN $3::boolean THEN tags || $2::text"
		      " ELSE array_remove(tags, $2::text) END) t ORDER BY t)"
		      " WHERE id = $1::bigint RETURNING to_json(tags)::text", 3, p,
		      &e) < 0)
		goto fail;
	if (PQntuples(res) == 0) {
		vt_api_fail(&e, 404, 0, "id", "No measurement %lld", r->route.id);
		goto fail;
	}
	ret = add ? api_reply(r, c, 201, PQgetvalue(res, 0, 0),
			      (size_t)PQgetlength(res, 0, 0)) :
		    api_reply(r, c, 204, "", 0);
	goto out;
fail:
	ret = api_reply_err(r, c, &e);
out:
	json_decref(root);
	PQclear(res);
	return ret;
}
