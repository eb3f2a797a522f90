/* pstatus.c - probe_status upserts (see pstatus.h). */
#include "controller/worker/pstatus.h"

#include <stdio.h>
#include <string.h>

#include "common/pg.h"
#include "controller/worker/sqlerr.h"

#define PARAM_MAX (64u << 20)

int wk_pstatus_store(PGconn *db, const struct wk_pstatus *s, int n,
		     char *errbuf, size_t errlen)
{
	struct vt_pg_array a[6];
	const char *p[6];
	int r = VT_ENOMEM;

	for (int i = 0; i < 6; i++)
		vt_pg_array_init(&a[i], PARAM_MAX);
	for (int i = 0; i < n; i++) {
		const struct vt_status *st = s[i].st;

		if (vt_pg_array_ll(&a[0], s[i].probe) < 0 ||
		    vt_pg_array_ll(&a[1], st->kind) < 0 ||
		    vt_pg_array_ll(&a[2], st->time) < 0 ||
		    vt_pg_array_ll(&a[3], st->uptime) < 0 ||
		    vt_pg_array_str(&a[4], st->v4, strlen(st->v4)) < 0 ||
		    vt_pg_array_str(&a[5], st->v6, strlen(st->v6)) < 0)
			goto out;
	}
	for (int i = 0; i < 6; i++)
		if (!(p[i] = vt_pg_array_done(&a[i])))
			goto out;
	r = wk_pg_result(db, PQexecParams(db,
		"WITH s AS (SELECT * FROM unnest($1::integer[], $2::integer[],"
		"  $3::bigint[], $4::bigint[], $5::text[], $6::text[])"
		"  AS s(p, k, t, up, v4, v6)"
		"  WHERE EXISTS (SELECT 1 FROM probes WHERE id = s.p)),"
		" g AS (SELECT p,"
		"  (array_agg(up ORDER BY t DESC) FILTER (WHERE k = 1))[1] AS up,"
		"  max(t) FILTER (WHERE k = 1) AS up_at,"
		"  (array_agg(v4 ORDER BY t DESC) FILTER (WHERE k = 2))[1] AS v4,"
		"  (array_agg(v6 ORDER BY t DESC) FILTER (WHERE k = 2))[1] AS v6,"
		"  max(t) FILTER (WHERE k = 2) AS if_at,"
		"  max(t) FILTER (WHERE k = 0) AS o_at,"
		"  count(*) FILTER (WHERE k = 0) AS o_n"
		"  FROM s GROUP BY p ORDER BY p)"
		" INSERT INTO probe_status AS x (probe_id, uptime, uptime_at,"
		"  iface_v4, iface_v6, iface_at, other_at, other_count)"
		" SELECT p, up, up_at, nullif(v4, '')::inet, nullif(v6, '')::inet,"
		"  if_at, o_at, o_n FROM g"
		" ON CONFLICT (probe_id) DO UPDATE SET"
		"  uptime = CASE WHEN excluded.uptime_at > coalesce(x.uptime_at, 0)"
		"   THEN excluded.uptime ELSE x.uptime END,"
		"  uptime_at = greatest(x.uptime_at, excluded.uptime_at),"
		"  iface_v4 = CASE WHEN excluded.iface_at > coalesce(x.iface_at, 0)"
		"   THEN excluded.iface_v4 ELSE x.iface_v4 END,"
		"  iface_v6 = CASE WHEN excluded.iface_at > coalesce(x.iface_at, 0)"
		"   THEN excluded.iface_v6 ELSE x.iface_v6 END,"
		"  iface_at = greatest(x.iface_at, excluded.iface_at),"
		"  other_at = greatest(x.other_at, excluded.other_at),"
		"  other_count = x.other_count + excluded.other_count",
		6, NULL, p, NULL, NULL, 0), NULL, errbuf, errlen);
out:
	for (int i = 0; i < 6; i++)
		vt_pg_array_free(&a[i]);
	return r;
}
