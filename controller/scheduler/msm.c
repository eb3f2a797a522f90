/* msm.c - measurements in PostgreSQL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"
#include "controller/scheduler/msm.h"

const char *vt_msm_status_name(int status)
{
	switch (status) {
	case VT_MSM_SPECIFIED: return "Specified";
	case VT_MSM_SCHEDULED: return "Scheduled";
	case VT_MSM_ONGOING: return "Ongoing";
	case VT_MSM_STOPPED: return "Stopped";
	case VT_MSM_FORCED_STOP: return "Forced to stop";
	case VT_MSM_NO_PROBES: return "No suitable probes";
	case VT_MSM_FAILED: return "Failed";
	case VT_MSM_ARCHIVED: return "Archived";
	default: return "Unknown";
	}
}

static int insert_spec(PGconn *db, long long msm_id, const char *action,
		       const char *type, const char *value, int requested,
		       const char *include, const char *exclude,
		       long long *req_id, char *errbuf, size_t errlen)
{
	char msm[24], req[16];
	const char *p[7] = { msm, action, type, value, req, include, exclude };
	PGresult *res = NULL;
	int rc;

	snprintf(msm, sizeof msm, "%lld", msm_id);
	snprintf(req, sizeof req, "%d", requested);
	rc = vt_pg_exec(db, &res, errbuf, errlen,
			"INSERT INTO participation_requests (msm_id, action, type,"
			" value, requested, tags_include, tags_exclude)"
			" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id", 7, p);
	if (rc == 0 && req_id)
		*req_id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

int vt_msm_create(PGconn *db, const struct vt_msm_request *r, long long now,
		  long long *ids, int max, int *nids, char *errbuf, size_t errlen)
{
	PGresult *res = NULL;
	char *dj = NULL;
	long long first = 0;
	int rc, requested = 0;
	size_t i;
	json_t *d;

	*nids = 0;
	for (int s = 0; s < r->nspecs; s++)
		requested += r->specs[s].requested;
	if ((rc = vt_pg_cmd(db, "BEGIN", errbuf, errlen)) < 0)
		return rc;
	json_array_foreach(r->defs, i, d) {
		char af[8], iv[24], sp[24], start[24], stop[24], reqs[16];
		char tags[VT_SPEC_TAGS_MAX];
		char grp[24];
		const char *p[14];
		json_t *t;
		size_t k, used = 1;
		long long id;

		dj = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
		if (!dj) {
			rc = VT_ENOMEM;
			goto out;
		}
		snprintf(af, sizeof af, "%lld",
			 (long long)json_integer_value(json_object_get(d, "af")));
		snprintf(iv, sizeof iv, "%lld",
			 (long long)json_integer_value(json_object_get(d, "interval")));
		snprintf(sp, sizeof sp, "%lld",
			 (long long)json_integer_value(json_object_get(d, "spread")));
		snprintf(start, sizeof start, "%lld", r->start_time ? r->start_time : now);
		snprintf(stop, sizeof stop, "%lld", r->stop_time);
		snprintf(reqs, sizeof reqs, "%d", requested);
		snprintf(tags, sizeof tags, "{");
		json_array_foreach(json_object_get(d, "tags"), k, t)
			used += snprintf(tags + used, sizeof tags - used, "%s%s",
					 k ? "," : "", json_string_value(t));
		snprintf(tags + used, sizeof tags - used, "}");
		p[0] = json_string_value(json_object_get(d, "type"));
		p[1] = af;
		p[2] = json_string_value(json_object_get(d, "target"));
		p[3] = json_string_value(json_object_get(d, "description"));
		p[4] = r->is_oneoff ? "t" : "f";
		p[5] = json_is_false(json_object_get(d, "is_public")) ? "f" : "t";
		p[6] = r->is_oneoff ? NULL : iv;
		p[7] = r->is_oneoff ? NULL : sp;
		p[8] = start;
		p[9] = r->stop_time ? stop : NULL;
		p[10] = dj;
		p[11] = tags;
		p[12] = reqs;
		snprintf(grp, sizeof grp, "%lld", first);
		p[13] = first ? grp : NULL;
		rc = vt_pg_exec(db, &res, errbuf, errlen,
				"INSERT INTO measurements (type, af, target, description,"
				" is_oneoff, is_public, interval, spread, start_time,"
				" stop_time, definition, tags, probes_requested, group_id)"
				" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
				" $12, $13, $14) RETURNING id", 14, p);
		free(dj);
		dj = NULL;
		if (rc < 0)
			goto out;
		id = atoll(PQgetvalue(res, 0, 0));
		PQclear(res);
		res = NULL;
		if (!first)
			first = id;
		for (int s = 0; s < r->nspecs; s++) {
			const struct vt_msm_spec *sp_ = &r->specs[s];

			if ((rc = insert_spec(db, id, "add", sp_->type, sp_->value,
					      sp_->requested, sp_->include,
					      sp_->exclude, NULL, errbuf, errlen)) < 0)
				goto out;
		}
		if (*nids < max)
			ids[(*nids)++] = id;
	}
	{
		char g[24];
		const char *p[1] = { g };

		snprintf(g, sizeof g, "%lld", first);
		if ((rc = vt_pg_exec(db, NULL, errbuf, errlen,
				     "UPDATE measurements SET group_id = $1"
				     " WHERE id = $1", 1, p)) < 0)
			goto out;
	}
	if ((rc = vt_pg_cmd(db, "NOTIFY vantage_sched; COMMIT", errbuf, errlen)) < 0)
		goto out;
	return 0;
out:
	PQclear(res);
	free(dj);
	vt_pg_try(db, "ROLLBACK");
	*nids = 0;
	return rc;
}

int vt_msm_stop(PGconn *db, long long msm_id, long long now, char *errbuf,
		size_t errlen)
{
	char id[24], t[24];
	const char *p[2] = { id, t };
	PGresult *res = NULL;
	int rc;

	snprintf(id, sizeof id, "%lld", msm_id);
	snprintf(t, sizeof t, "%lld", now);
	rc = vt_pg_exec(db, &res, errbuf, errlen,
			"WITH m AS (UPDATE measurements SET"
			"  status = CASE WHEN status IN (0, 1, 2) THEN 4 ELSE status END,"
			"  status_since = CASE WHEN status IN (0, 1, 2) THEN now()"
			"                 ELSE status_since END,"
			"  stop_time = CASE WHEN status IN (0, 1, 2) THEN"
			"              least(coalesce(stop_time, $2), $2) ELSE stop_time END"
			"  WHERE id = $1 RETURNING id)"
			" SELECT (SELECT count(*) FROM m),"
			"  (SELECT count(pg_notify('vantage_crontab', a.probe_id::text))"
			"   FROM assignments a, m WHERE a.msm_id = m.id"
			"   AND a.removed IS NULL)", 2, p);
	if (rc == 0 && atoi(PQgetvalue(res, 0, 0)) == 0) {
		snprintf(errbuf, errlen, "no measurement %lld", msm_id);
		rc = VT_ENOTFOUND;
	}
	PQclear(res);
	return rc;
}

/* VT_OK when msm_id exists and still runs (Specified, Scheduled, Ongoing):
 * the other states are final, a measurement in them takes no probes. */
static int msm_running(PGconn *db, long long msm_id, char *errbuf,
		       size_t errlen)
{
	char id[24];
	const char *p[1] = { id };
	PGresult *res = NULL;
	int rc, st;

	snprintf(id, sizeof id, "%lld", msm_id);
	rc = vt_pg_exec(db, &res, errbuf, errlen,
			"SELECT status FROM measurements WHERE id = $1", 1, p);
	if (rc < 0)
		goto out;
	if (PQntuples(res) == 0) {
		snprintf(errbuf, errlen, "no measurement %lld", msm_id);
		rc = VT_ENOTFOUND;
		goto out;
	}
	st = atoi(PQgetvalue(res, 0, 0));
	if (st != VT_MSM_SPECIFIED && st != VT_MSM_SCHEDULED &&
	    st != VT_MSM_ONGOING) {
		snprintf(errbuf, errlen, "measurement %lld is %s: its probes "
			 "cannot change any more", msm_id, vt_msm_status_name(st));
		rc = VT_EINVAL;
	}
out:
	PQclear(res);
	return rc;
}

int vt_msm_participate_add(PGconn *db, long long msm_id,
			   const struct vt_msm_spec *s, long long *req_id,
			   char *errbuf, size_t errlen)
{
	int rc;

	if ((rc = msm_running(db, msm_id, errbuf, errlen)) < 0)
		return rc;
	rc = insert_spec(db, msm_id, "add", s->type, s->value, s->requested,
			 s->include, s->exclude, req_id, errbuf, errlen);
	if (rc == 0)
		vt_pg_try(db, "NOTIFY vantage_sched");
	return rc;
}

int vt_msm_participate_remove(PGconn *db, long long msm_id, const char *ids,
			      long long *req_id, char *errbuf, size_t errlen)
{
	char list[VT_SPEC_VALUE_MAX];
	int rc;

	if (vt_msm_id_list(ids, list, sizeof list) < 0) {
		snprintf(errbuf, errlen, "not a list of probe ids: %s", ids);
		return VT_EINVAL;
	}
	if ((rc = msm_running(db, msm_id, errbuf, errlen)) < 0)
		return rc;
	rc = insert_spec(db, msm_id, "remove", "probes", list, 0, "{}", "{}",
			 req_id, errbuf, errlen);
	if (rc == 0)
		vt_pg_try(db, "NOTIFY vantage_sched");
	return rc;
}
