/* sched.c - one scheduler pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"
#include "controller/scheduler/msm.h"
#include "controller/scheduler/sched.h"

/* Advisory lock key of the pass ("VTSCHED"). */
#define PASS_LOCK "5653544348454400"

/* Runs sql with params; the first column of the first row (a count) is
 * added to *n when n is not NULL. */
static int count_sql(PGconn *db, long *n, char *errbuf, size_t errlen,
		     const char *sql, int np, const char *const *p)
{
	PGresult *res = NULL;
	int rc = vt_pg_exec(db, &res, errbuf, errlen, sql, np, p);

	if (rc == 0 && n && PQntuples(res) > 0 && PQnfields(res) > 0)
		*n += atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

int vt_sched_select(PGconn *db, long long req_id, int want, int notify,
		    int *added, char *errbuf, size_t errlen)
{
	char id[24], lim[16];
	const char *p[2] = { id, lim };
	PGresult *res = NULL;
	int rc;

	*added = 0;
	if (want <= 0)
		return 0;
	snprintf(id, sizeof id, "%lld", req_id);
	snprintf(lim, sizeof lim, "%d", want);
	rc = vt_pg_exec(db, &res, errbuf, errlen,
		"WITH r AS (SELECT * FROM participation_requests WHERE id = $1),"
		" cand AS ("
		"  SELECT p.id, coalesce(s.connected, false) AS conn,"
		"   coalesce(p.asn_v4, p.asn_v6, 0) AS asn,"
		"   coalesce(p.country_code, '') AS cc"
		"  FROM r, probes p LEFT JOIN probe_sessions s ON s.probe_id = p.id"
		"  WHERE p.status <> 3"
		"   AND (p.tags || p.system_tags) @> r.tags_include"
		"   AND NOT ((p.tags || p.system_tags) && r.tags_exclude)"
		"   AND NOT EXISTS (SELECT 1 FROM assignments a"
		"    WHERE a.msm_id = r.msm_id AND a.probe_id = p.id"
		"    AND (a.removed IS NULL OR a.removed >= r.created))"
		"   AND vt_spec_match(p, r.type, r.value)),"
		" ranked AS ("
		"  SELECT id, conn,"
		"   row_number() OVER (PARTITION BY conn, asn ORDER BY id) AS ra,"
		"   row_number() OVER (PARTITION BY conn, cc ORDER BY id) AS rc"
		"  FROM cand)"
		" INSERT INTO assignments (msm_id, probe_id, request_id)"
		" SELECT r.msm_id, k.id, r.id FROM ranked k, r"
		" ORDER BY k.conn DESC, k.ra, k.rc, k.id"
		" LIMIT $2"
		" ON CONFLICT (msm_id, probe_id) DO UPDATE SET removed = NULL,"
		"  added = now(), request_id = EXCLUDED.request_id,"
		"  delivered = NULL"
		" RETURNING probe_id", 2, p);
	if (rc < 0)
		goto out;
	*added = PQntuples(res);
	for (int i = 0; notify && i < *added; i++) {
		const char *np[1] = { PQgetvalue(res, i, 0) };

		if ((rc = vt_pg_exec(db, NULL, errbuf, errlen,
				     "SELECT pg_notify('vantage_crontab', $1)", 1,
				     np)) < 0)
			goto out;
	}
	rc = vt_pg_exec(db, NULL, errbuf, errlen,
			"UPDATE participation_requests SET applied = now()"
			" WHERE id = $1 AND applied IS NULL", 1, p);
out:
	PQclear(res);
	return rc;
}

/* Participation requests that remove probes, and probes abandoned. */
static int removals(PGconn *db, struct vt_sched_stats *st, char *errbuf,
		    size_t errlen)
{
	int rc;

	if ((rc = vt_pg_cmd(db, "BEGIN", errbuf, errlen)) < 0)
		return rc;
	rc = count_sql(db, &st->unassigned, errbuf, errlen,
		"WITH r AS (UPDATE participation_requests SET applied = now()"
		"  WHERE action = 'remove' AND applied IS NULL"
		"  RETURNING id, msm_id, value),"
		" a AS (UPDATE assignments a SET removed = now() FROM r"
		"  WHERE a.msm_id = r.msm_id AND a.removed IS NULL"
		"  AND a.probe_id = ANY (string_to_array(r.value, ',')::integer[])"
		"  RETURNING a.probe_id, a.request_id),"
		" d AS (UPDATE participation_requests q"
		"  SET requested = greatest(q.requested - c.n, 0)"
		"  FROM (SELECT request_id, count(*) AS n FROM a"
		"        WHERE request_id IS NOT NULL GROUP BY request_id) c"
		"  WHERE q.id = c.request_id RETURNING 1)"
		" SELECT count(pg_notify('vantage_crontab', a.probe_id::text)),"
		"  (SELECT count(*) FROM d) FROM a", 0, NULL);
	if (rc == 0)
		rc = count_sql(db, &st->unassigned, errbuf, errlen,
			"WITH a AS (UPDATE assignments a SET removed = now()"
			"  FROM probes p, measurements m"
			"  WHERE p.id = a.probe_id AND p.status = 3"
			"  AND m.id = a.msm_id AND m.status IN (0, 1, 2)"
			"  AND a.removed IS NULL RETURNING a.probe_id)"
			" SELECT count(pg_notify('vantage_crontab', probe_id::text))"
			" FROM a", 0, NULL);
	if (rc == 0)
		rc = vt_pg_cmd(db, "COMMIT", errbuf, errlen);
	if (rc < 0)
		vt_pg_try(db, "ROLLBACK");
	return rc;
}

/* Fills the add requests of one measurement; for a Specified one also
 * moves its status on.  One transaction. */
static int fill_msm(PGconn *db, long long msm_id, int status, long long now,
		    struct vt_sched_stats *st, char *errbuf, size_t errlen)
{
	char id[24], t[24];
	const char *p[2] = { id, t };
	PGresult *res = NULL;
	int rc, total = 0;

	snprintf(id, sizeof id, "%lld", msm_id);
	snprintf(t, sizeof t, "%lld", now);
	if ((rc = vt_pg_cmd(db, "BEGIN", errbuf, errlen)) < 0)
		return rc;
	rc = vt_pg_exec(db, &res, errbuf, errlen,
		"SELECT q.id, q.requested - (SELECT count(*) FROM assignments a"
		"  WHERE a.request_id = q.id AND a.removed IS NULL)"
		" FROM participation_requests q JOIN measurements m ON m.id = q.msm_id"
		" WHERE q.msm_id = $1 AND q.action = 'add'"
		" AND (NOT m.is_oneoff OR q.applied IS NULL)"
		" ORDER BY q.id FOR UPDATE OF q", 1, p);
	if (rc < 0)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		int added;

		rc = vt_sched_select(db, atoll(PQgetvalue(res, i, 0)),
				     atoi(PQgetvalue(res, i, 1)),
				     status != VT_MSM_SPECIFIED, &added, errbuf,
				     errlen);
		if (rc < 0)
			goto out;
		st->assigned += added;
		total += added;
	}
	if (status == VT_MSM_SPECIFIED) {
		long n = 0;

		rc = count_sql(db, &n, errbuf, errlen,
			"WITH m AS (UPDATE measurements SET status_since = now(),"
			"  status = CASE WHEN EXISTS (SELECT 1 FROM assignments a"
			"    WHERE a.msm_id = id AND a.removed IS NULL)"
			"   THEN CASE WHEN start_time <= $2 THEN 2 ELSE 1 END"
			"   ELSE 6 END"
			"  WHERE id = $1 AND status = 0 RETURNING id, status)"
			" SELECT (SELECT status FROM m),"
			"  (SELECT count(pg_notify('vantage_crontab', a.probe_id::text))"
			"   FROM assignments a, m WHERE a.msm_id = m.id"
			"   AND a.removed IS NULL)", 2, p);
		if (rc < 0)
			goto out;
		if (n == VT_MSM_NO_PROBES)
			st->no_probes++;
		else
			st->scheduled++;
	}
	(void)total;
	rc = vt_pg_cmd(db, "COMMIT", errbuf, errlen);
out:
	PQclear(res);
	if (rc < 0)
		vt_pg_try(db, "ROLLBACK");
	return rc;
}

/* Measurements to fill: Specified ones (not mesh), and running periodic
 * ones whose add requests are short of probes or new. */
static int selection(PGconn *db, long long now, struct vt_sched_stats *st,
		     char *errbuf, size_t errlen)
{
	char t[24];
	const char *p[1] = { t };
	PGresult *res = NULL;
	int rc;

	snprintf(t, sizeof t, "%lld", now);
	rc = vt_pg_exec(db, &res, errbuf, errlen,
		"SELECT m.id, m.status FROM measurements m"
		" WHERE (m.status = 0 AND m.mesh_anchor IS NULL)"
		" OR (m.status IN (1, 2) AND (m.stop_time IS NULL OR m.stop_time > $1)"
		"  AND EXISTS (SELECT 1 FROM participation_requests q"
		"   WHERE q.msm_id = m.id AND q.action = 'add'"
		"   AND (q.applied IS NULL OR (NOT m.is_oneoff AND q.requested >"
		"    (SELECT count(*) FROM assignments a WHERE a.request_id = q.id"
		"     AND a.removed IS NULL)))))"
		" ORDER BY m.id", 1, p);
	if (rc < 0)
		return rc;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++)
		rc = fill_msm(db, atoll(PQgetvalue(res, i, 0)),
			      atoi(PQgetvalue(res, i, 1)), now, st, errbuf, errlen);
	PQclear(res);
	return rc;
}

/* A one-off stays Ongoing after a probe took its command until that
 * probe's result is stored or this many seconds have passed, so that a
 * client polling for its results (Blaeu waits while it is Ongoing) sees it
 * running. */
#define ONEOFF_GRACE_S "300"

/* Scheduled -> Ongoing at the start time; -> Stopped at the stop time, and
 * one-offs once every probe has its command and its result (or
 * ONEOFF_GRACE_S after the delivery, or a day after the start). */
static int times(PGconn *db, long long now, struct vt_sched_stats *st,
		 char *errbuf, size_t errlen)
{
	char t[24];
	const char *p[1] = { t };
	int rc;

	snprintf(t, sizeof t, "%lld", now);
	if ((rc = count_sql(db, &st->started, errbuf, errlen,
			    "WITH m AS (UPDATE measurements SET status = 2,"
			    " status_since = now() WHERE status = 1"
			    " AND start_time <= $1 RETURNING 1)"
			    " SELECT count(*) FROM m", 1, p)) < 0)
		return rc;
	return count_sql(db, &st->stopped, errbuf, errlen,
		"WITH m AS (UPDATE measurements SET status = 4, status_since = now()"
		"  WHERE status IN (1, 2) AND ("
		"   (NOT is_oneoff AND stop_time <= $1)"
		"   OR (is_oneoff AND (start_time + 86400 <= $1"
		"    OR NOT EXISTS (SELECT 1 FROM assignments a WHERE a.msm_id = id"
		"     AND a.removed IS NULL AND (a.delivered IS NULL"
		"      OR (a.delivered > to_timestamp($1) - make_interval(secs => "
		ONEOFF_GRACE_S ")"
		"       AND NOT EXISTS (SELECT 1 FROM latest l WHERE l.msm_id = a.msm_id"
		"        AND l.prb_id = a.probe_id)))))))"
		"  RETURNING id, is_oneoff),"
		" n AS (SELECT count(pg_notify('vantage_crontab', a.probe_id::text))"
		"  FROM assignments a, m WHERE a.msm_id = m.id AND NOT m.is_oneoff"
		"  AND a.removed IS NULL)"
		" SELECT (SELECT count(*) FROM m), (SELECT * FROM n)", 1, p);
}

int vt_sched_works(PGconn *db, long long now, struct vt_sched_stats *st,
		   char *errbuf, size_t errlen)
{
	char t[24];
	const char *p[1] = { t };
	int rc;

	snprintf(t, sizeof t, "%lld", now);
	rc = count_sql(db, &st->works, errbuf, errlen,
		       "SELECT vt_refresh_works($1)", 1, p);
	if (rc < 0)
		return rc;
	return count_sql(db, &st->addrs, errbuf, errlen,
			 "SELECT vt_refresh_reported_addrs($1)", 1, p);
}

int vt_sched_pass(PGconn *db, long long now, struct vt_sched_stats *st,
		  char *errbuf, size_t errlen)
{
	PGresult *res = NULL;
	int rc, got;

	rc = vt_pg_exec(db, &res, errbuf, errlen,
			"SELECT pg_try_advisory_lock(" PASS_LOCK ")", 0, NULL);
	if (rc < 0)
		return rc;
	got = !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	if (!got)
		return VT_EAGAIN;
	if ((rc = count_sql(db, &st->tags_changed, errbuf, errlen,
			    "SELECT vt_refresh_system_tags()", 0, NULL)) < 0)
		goto out;
	if ((rc = removals(db, st, errbuf, errlen)) < 0)
		goto out;
	if ((rc = selection(db, now, st, errbuf, errlen)) < 0)
		goto out;
	if ((rc = vt_sched_mesh(db, now, st, errbuf, errlen)) < 0)
		goto out;
	rc = times(db, now, st, errbuf, errlen);
out:
	vt_pg_try(db, "SELECT pg_advisory_unlock(" PASS_LOCK ")");
	return rc;
}
