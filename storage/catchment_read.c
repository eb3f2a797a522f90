/* catchment_read.c - a catchment from stored results (catchment.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"
#include "storage/catchment.h"
#include "storage/planner.h"

/* One statement on a borrowed connection. */
static int db_exec(const struct vt_plan_db *db, PGresult **res, const char *sql,
		   int n, const char *const *params, char *errbuf, size_t errlen)
{
	PGconn *c = db->acquire(db->arg);
	int rc;

	if (!c) {
		snprintf(errbuf, errlen, "no database connection");
		return VT_EDB;
	}
	rc = vt_pg_exec(c, res, errbuf, errlen, sql, n, params);
	db->release(db->arg, c);
	return rc;
}

/* VT_ENOTFOUND / VT_EINVAL unless msm is a measurement of type want. */
static int check_type(const struct vt_plan_db *db, long long msm, const char *want,
		      char *errbuf, size_t errlen)
{
	char id[24];
	const char *p[1] = { id };
	PGresult *res = NULL;
	int rc;

	snprintf(id, sizeof id, "%lld", msm);
	if ((rc = db_exec(db, &res, "SELECT type FROM measurements WHERE id = $1::bigint",
			  1, p, errbuf, errlen)) < 0)
		return rc;
	if (PQntuples(res) == 0) {
		snprintf(errbuf, errlen, "no measurement %lld", msm);
		rc = VT_ENOTFOUND;
	} else if (strcmp(PQgetvalue(res, 0, 0), want)) {
		snprintf(errbuf, errlen, "measurement %lld is a %s measurement, not %s",
			 msm, PQgetvalue(res, 0, 0), want);
		rc = VT_EINVAL;
	}
	PQclear(res);
	return rc;
}

/* Feeds every result of pq to c (ping: as ping results of ping_msm). */
static int feed(struct vt_catch *c, const struct vt_plan_db *db,
		struct vt_objstore *store, const struct vt_plan_query *pq,
		long long ping_msm, char *errbuf, size_t errlen)
{
	struct vt_plan *plan = NULL;
	const char *json;
	size_t len;
	int rc;

	if ((rc = vt_plan_open(&plan, db, store, pq, errbuf, errlen)) < 0)
		return rc;
	while ((rc = vt_plan_next(plan, &json, &len)) == 1) {
		int r = ping_msm ? vt_catch_add_ping(c, json, len) :
			vt_catch_add(c, json, len);

		if (r == VT_ENOMEM) {
			snprintf(errbuf, errlen, "out of memory");
			rc = r;
			break;
		}
	}
	if (rc < 0 && rc != VT_ENOMEM)
		snprintf(errbuf, errlen, "%s", vt_plan_error(plan));
	vt_plan_free(plan);
	return rc < 0 ? rc : 0;
}

/* Country and ASN of every probe seen. */
static int probe_info(struct vt_catch *c, long long msm,
		      const struct vt_plan_db *db, char *errbuf, size_t errlen)
{
	struct vt_pg_array arr;
	long long *ids = NULL;
	char id[24];
	const char *p[2] = { NULL, id };
	PGresult *res = NULL;
	size_t n = 0;
	int rc;

	snprintf(id, sizeof id, "%lld", msm);
	vt_pg_array_init(&arr, 0);
	if ((rc = vt_catch_probe_ids(c, &ids, &n)) < 0 || n == 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((rc = vt_pg_array_ll(&arr, ids[i])) < 0)
			goto out;
	if (!(p[0] = vt_pg_array_done(&arr))) {
		rc = VT_ENOMEM;
		goto out;
	}
	if ((rc = db_exec(db, &res, "SELECT p.id, p.country_code,"
			  " CASE WHEN m.af = 6 THEN coalesce(p.asn_v6, p.asn_v4)"
			  " ELSE coalesce(p.asn_v4, p.asn_v6) END"
			  " FROM probes p, measurements m"
			  " WHERE p.id = ANY($1::integer[]) AND m.id = $2::bigint",
			  2, p, errbuf, errlen)) < 0)
		goto out;
	for (int i = 0; i < PQntuples(res); i++)
		vt_catch_set_probe(c, atoll(PQgetvalue(res, i, 0)),
				   PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1),
				   atoll(PQgetvalue(res, i, 2)));
out:
	if (rc == VT_ENOMEM)
		snprintf(errbuf, errlen, "out of memory");
	PQclear(res);
	free(ids);
	vt_pg_array_free(&arr);
	return rc;
}

int vt_catch_read(struct vt_catch **out, const struct vt_plan_db *db,
		  struct vt_objstore *store, const struct vt_catch_req *q,
		  char *errbuf, size_t errlen)
{
	struct vt_plan_query pq = { q->msm_id, q->start, q->stop, q->probes,
				    q->nprobes };
	struct vt_catch *c = NULL;
	long long *ids = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	errbuf[0] = '\0';
	if ((rc = check_type(db, q->msm_id, "dns", errbuf, errlen)) < 0 ||
	    (q->ping_msm && (rc = check_type(db, q->ping_msm, "ping", errbuf,
					     errlen)) < 0))
		goto out;
	if ((rc = vt_catch_new(&c, q->msm_id, q->start, q->stop)) < 0 ||
	    (rc = feed(c, db, store, &pq, 0, errbuf, errlen)) < 0)
		goto out;
	if (q->ping_msm) {
		vt_catch_join_ping(c, q->ping_msm);
		if ((rc = vt_catch_probe_ids(c, &ids, &n)) < 0)
			goto out;
		pq.msm_id = q->ping_msm;
		pq.probes = ids;
		pq.nprobes = n;
		/* no probe answered: nothing to join (an empty list means all) */
		if (n && (rc = feed(c, db, store, &pq, q->ping_msm, errbuf, errlen)) < 0)
			goto out;
	}
	if ((rc = probe_info(c, q->msm_id, db, errbuf, errlen)) < 0)
		goto out;
	*out = c;
	c = NULL;
out:
	if (rc == VT_ENOMEM && !errbuf[0])
		snprintf(errbuf, errlen, "out of memory");
	vt_catch_free(c);
	free(ids);
	return rc;
}
