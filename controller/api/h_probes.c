/* h_probes.c - probes/ and anchors/: lists and objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/api/api_int.h"

enum MHD_Result h_probe_list(struct api_req *r, struct MHD_Connection *c)
{
	int anchors = r->route.route == VT_R_ANCHOR_LIST;
	struct vt_sqlq q;
	enum MHD_Result ret;

	vt_sqlq_init(&q, 5);
	if (anchors && vt_buf_adds(&q.where, " AND p.is_anchor") < 0)
		ret = api_reply_errf(r, c, 500, NULL, "out of memory");
	else
		ret = api_list(r, c, anchors ? VT_LIST_ANCHOR : VT_LIST_PROBE,
			       "probes p", anchors ? "vt_api_anchor_json(p, $1)" :
			       "vt_api_probe_json(p) || jsonb_build_object('url',"
			       " $1 || '/api/v2/probes/' || p.id || '/')", &q);
	vt_sqlq_free(&q);
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
