/* mesh.c - anchor mesh measurements: every anchor is measured (ping and
 * traceroute, per address family it has an address in) by all the other
 * anchors.  A mesh measurement's mesh_anchor names the anchor measured. */
#include <stdio.h>
#include <stdlib.h>

#include "common/pg.h"
#include "controller/scheduler/sched.h"

/* The live anchors and their addresses: the one the probe reports, else
 * the one its session comes from. */
#define ANCHORS \
	"anch AS (SELECT p.id," \
	"  host(coalesce(p.address_v4, CASE WHEN family(s.from_addr) = 4" \
	"   THEN s.from_addr END)) AS v4," \
	"  host(coalesce(p.address_v6, CASE WHEN family(s.from_addr) = 6" \
	"   THEN s.from_addr END)) AS v6" \
	"  FROM probes p LEFT JOIN probe_sessions s ON s.probe_id = p.id" \
	"  WHERE p.is_anchor AND p.status <> 3)"

static long add_count(PGresult *res)
{
	return PQntuples(res) > 0 ? atol(PQgetvalue(res, 0, 0)) : 0;
}

int vt_sched_mesh(PGconn *db, long long now, struct vt_sched_stats *st,
		  char *errbuf, size_t errlen)
{
	char t[24];
	const char *p[1] = { t };
	PGresult *res = NULL;
	int rc;

	snprintf(t, sizeof t, "%lld", now);
	if ((rc = vt_pg_cmd(db, "BEGIN", errbuf, errlen)) < 0)
		return rc;
	/* 1. Stop the meshes of anchors gone (or whose address changed). */
	rc = vt_pg_exec(db, &res, errbuf, errlen,
		"WITH " ANCHORS ","
		" m AS (UPDATE measurements m SET status = 4, status_since = now(),"
		"  stop_time = least(coalesce(stop_time, $1), $1)"
		"  WHERE mesh_anchor IS NOT NULL AND status IN (0, 1, 2, 6)"
		"  AND NOT EXISTS (SELECT 1 FROM anch x WHERE x.id = m.mesh_anchor"
		"   AND m.target = CASE m.af WHEN 4 THEN x.v4 ELSE x.v6 END)"
		"  RETURNING id)"
		" SELECT (SELECT count(*) FROM m),"
		"  (SELECT count(pg_notify('vantage_crontab', a.probe_id::text))"
		"   FROM assignments a, m WHERE a.msm_id = m.id AND a.removed IS NULL)",
		1, p);
	if (rc < 0)
		goto out;
	st->stopped += add_count(res);
	PQclear(res);
	res = NULL;
	/* 2. Probes that are no longer anchors leave the meshes. */
	rc = vt_pg_exec(db, &res, errbuf, errlen,
		"WITH a AS (UPDATE assignments a SET removed = now()"
		"  FROM measurements m WHERE m.id = a.msm_id"
		"  AND m.mesh_anchor IS NOT NULL AND m.status IN (0, 1, 2)"
		"  AND a.removed IS NULL AND NOT EXISTS (SELECT 1 FROM probes p"
		"   WHERE p.id = a.probe_id AND p.is_anchor AND p.status <> 3)"
		"  RETURNING a.probe_id)"
		" SELECT count(pg_notify('vantage_crontab', probe_id::text)) FROM a",
		0, NULL);
	if (rc < 0)
		goto out;
	st->unassigned += add_count(res);
	PQclear(res);
	res = NULL;
	/* 3. A ping and a traceroute towards each anchor address. */
	rc = vt_pg_exec(db, &res, errbuf, errlen,
		"WITH " ANCHORS ","
		" w AS (SELECT x.id, f.af, k.type, k.iv,"
		"  CASE f.af WHEN 4 THEN x.v4 ELSE x.v6 END AS target"
		"  FROM anch x, (VALUES (4), (6)) f(af),"
		"  (VALUES ('ping', 240), ('traceroute', 900)) k(type, iv)),"
		" d AS (SELECT w.*, format("
		"  'Anchoring Mesh Measurement: %s IPv%s for anchor %s', initcap(w.type), w.af, w.id) AS descr FROM w"
		"  WHERE w.target IS NOT NULL AND NOT EXISTS (SELECT 1"
		"   FROM measurements m WHERE m.mesh_anchor = w.id AND m.af = w.af"
		"   AND m.type = w.type AND m.status IN (0, 1, 2, 6))),"
		" i AS (INSERT INTO measurements (type, af, target, description,"
		"  interval, spread, start_time, status, definition, mesh_anchor,"
		"  tags)"
		"  SELECT d.type, d.af, d.target, d.descr, d.iv, d.iv / 2, $1, 0,"
		"   jsonb_build_object('type', d.type, 'af', d.af, 'target', d.target,"
		"    'description', d.descr, 'interval', d.iv, 'spread', d.iv / 2,"
		"    'is_public', true, 'tags', '[\"anchoring\", \"mesh\"]'::jsonb)"
		"   || CASE d.type WHEN 'traceroute' THEN"
		"    '{\"protocol\": \"ICMP\", \"paris\": 16}'::jsonb"
		"    ELSE '{\"packets\": 3, \"size\": 48}'::jsonb END,"
		"   d.id, '{anchoring,mesh}'"
		"  FROM d RETURNING id)"
		" SELECT count(*) FROM i", 1, p);
	if (rc < 0)
		goto out;
	st->mesh_created += add_count(res);
	PQclear(res);
	res = NULL;
	if ((rc = vt_pg_cmd(db, "UPDATE measurements SET group_id = id"
			    " WHERE mesh_anchor IS NOT NULL AND group_id IS NULL",
			    errbuf, errlen)) < 0)
		goto out;
	/* 4. Every other anchor able to reach the family runs them. */
	rc = vt_pg_exec(db, &res, errbuf, errlen,
		"WITH a AS (INSERT INTO assignments (msm_id, probe_id)"
		"  SELECT m.id, p.id FROM measurements m JOIN probes p"
		"   ON p.is_anchor AND p.status <> 3 AND p.id <> m.mesh_anchor"
		"   AND p.system_tags @> ARRAY['system-ipv' || m.af || '-capable']"
		"  WHERE m.mesh_anchor IS NOT NULL AND m.status IN (0, 1, 2)"
		"  AND NOT EXISTS (SELECT 1 FROM assignments x WHERE x.msm_id = m.id"
		"   AND x.probe_id = p.id AND x.removed IS NULL)"
		"  ON CONFLICT (msm_id, probe_id) DO UPDATE SET removed = NULL,"
		"   added = now(), delivered = NULL"
		"  RETURNING probe_id)"
		" SELECT count(pg_notify('vantage_crontab', probe_id::text)) FROM a",
		0, NULL);
	if (rc < 0)
		goto out;
	st->assigned += add_count(res);
	PQclear(res);
	res = NULL;
	/* 5. Meshes with runners are scheduled; requested follows the mesh. */
	rc = vt_pg_exec(db, &res, errbuf, errlen,
		"WITH c AS (SELECT m.id, (SELECT count(*) FROM assignments a"
		"   WHERE a.msm_id = m.id AND a.removed IS NULL) AS n"
		"  FROM measurements m"
		"  WHERE m.mesh_anchor IS NOT NULL AND m.status IN (0, 1, 2)),"
		" u AS (UPDATE measurements m SET probes_requested = c.n,"
		"  status = CASE WHEN m.status = 0 AND c.n > 0 THEN"
		"   CASE WHEN m.start_time <= $1 THEN 2 ELSE 1 END ELSE m.status END,"
		"  status_since = CASE WHEN m.status = 0 AND c.n > 0 THEN now()"
		"   ELSE m.status_since END"
		"  FROM c WHERE c.id = m.id AND (m.probes_requested <> c.n"
		"   OR (m.status = 0 AND c.n > 0))"
		"  RETURNING m.status)"
		" SELECT count(*) FROM u", 1, p);
	if (rc < 0)
		goto out;
	PQclear(res);
	res = NULL;
	rc = vt_pg_cmd(db, "COMMIT", errbuf, errlen);
out:
	PQclear(res);
	if (rc < 0)
		vt_pg_try(db, "ROLLBACK");
	return rc;
}
