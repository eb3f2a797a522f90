/* h_probes.c - probes/ and anchors/: lists and objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/api/api_int.h"

enum MHD_Result h_probe_list(struct api_req *r, struct MHD_Connection *c)
{
	int anchors = r->route.route == VT_R_ANCHOR_LIST;
	enum vt_api_list what = anchors ? VT_LIST_ANCHOR : VT_LIST_PROBE;
	struct vt_api_err e = { 0 };
	struct vt_api_page pg;
	struct vt_sqlq q;
	struct vt_buf sql;
	PGresult *res = NULL;
	const char *p[4 + VT_API_SQL_PARAMS];
	char lim[24], off[24];
	enum MHD_Result ret;

	vt_sqlq_init(&q, 4);
	vt_buf_init(&sql, 0);
	if (vt_api_page_parse(what, &r->qs, &pg, &e) < 0 ||
	    vt_api_filters(what, &r->qs, &q, &e) < 0)
		goto fail;
	snprintf(lim, sizeof lim, "%d", pg.size);
	snprintf(off, sizeof off, "%lld", (pg.page - 1) * pg.size);
	p[0] = r->base;
	p[1] = pg.fields[0] ? pg.fields : NULL;
	p[2] = lim;
	p[3] = off;
	for (int i = 0; i < q.nparams; i++)
		p[4 + i] = q.params[i];
	if (vt_buf_addf(&sql,
			"SELECT (SELECT count(*) FROM probes p WHERE %s%s),"
			" (SELECT string_agg(o, ', ' ORDER BY n) FROM (SELECT"
			"  vt_api_fields(%s, $2::text[])::text o,"
			"  row_number() OVER (ORDER BY %s) n"
			"  FROM probes p WHERE %s%s ORDER BY %s"
			"  LIMIT $3::integer OFFSET $4::bigint) s)",
			anchors ? "p.is_anchor" : "true",
			q.where.data ? q.where.data : "",
			anchors ? "vt_api_anchor_json(p, $1)" :
			"vt_api_probe_json(p) || jsonb_build_object('url',"
			" $1 || '/api/v2/probes/' || p.id || '/')", pg.order,
			anchors ? "p.is_anchor" : "true",
			q.where.data ? q.where.data : "", pg.order) < 0) {
		vt_api_fail(&e, 500, 0, "", "out of memory");
		goto fail;
	}
	if (api_query(r, &res, sql.data, 4 + q.nparams, p, &e) < 0)
		goto fail;
	ret = api_reply_list(r, c, atoll(PQgetvalue(res, 0, 0)), &pg,
			     PQgetvalue(res, 0, 1));
	goto out;
fail:
	ret = api_reply_err(r, c, &e);
out:
	PQclear(res);
	vt_sqlq_free(&q);
	vt_buf_free(&sql);
	return ret;
}

enum MHD_Result h_probe_get(struct api_req *r, struct MHD_Connection *c)
{
	int anchor = r->route.route == VT_R_ANCHOR;
	struct vt_api_err e = { 0 };
	char id[24], fields[1024];
	const char *p[3] = { id, r->base, NULL };
	PGresult *res = NULL;
	enum MHD_Result ret;

	snprintf(id, sizeof id, "%lld", r->route.id);
	if (vt_api_fields(&r->qs, fields, sizeof fields, &e) < 0)
		goto fail;
	p[2] = fields[0] ? fields : NULL;
	if (api_query(r, &res, anchor ?
		      "SELECT vt_api_fields(vt_api_anchor_json(p, $2), $3::text[])::text"
		      " FROM probes p WHERE p.id = $1::integer AND p.is_anchor" :
		      "SELECT vt_api_fields(vt_api_probe_json(p) || jsonb_build_object("
		      "'url', $2 || '/api/v2/probes/' || p.id || '/'), $3::text[])::text"
		      " FROM probes p WHERE p.id = $1::integer", 3, p, &e) < 0)
		goto fail;
	if (PQntuples(res) == 0) {
		vt_api_fail(&e, 404, 0, "id", "No %s %lld", anchor ? "anchor" : "probe",
			    r->route.id);
		goto fail;
	}
	ret = api_reply(r, c, 200, PQgetvalue(res, 0, 0),
			(size_t)PQgetlength(res, 0, 0));
	PQclear(res);
	return ret;
fail:
	PQclear(res);
	return api_reply_err(r, c, &e);
}
