/* arcstate.c - where the archive stands (see arcstate.h). */
#include "storage/arcstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"
#include "storage/archive.h"

int vt_arc_state_read(PGconn *db, int64_t now, int late_days,
		      struct vt_arc_state *out, char *errbuf, size_t errlen)
{
	char cutoff[16];
	const char *p[1] = { cutoff };
	PGresult *res = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	vt_arc_day_fmt(now / 86400 - late_days, cutoff, sizeof cutoff);
	rc = vt_pg_exec(db, &res, errbuf, errlen,
		"SELECT (SELECT max(day)::text FROM archive_objects"
		"  WHERE verified IS NOT NULL),"
		" d.day::text, extract(epoch FROM d.day)::bigint,"
		" (SELECT count(*) FROM archive_objects WHERE expired IS NULL),"
		" (SELECT COALESCE(sum(size), 0) FROM archive_objects"
		"  WHERE expired IS NULL)"
		" FROM (SELECT min(day) AS day FROM (SELECT DISTINCT day FROM"
		"  results WHERE day < $1::date) r WHERE NOT EXISTS (SELECT 1 FROM"
		"  archive_objects a WHERE a.day = r.day AND a.verified IS NOT NULL))"
		" d", 1, p);
	if (rc < 0)
		return rc;
	snprintf(out->last_day, sizeof out->last_day, "%s", PQgetvalue(res, 0, 0));
	snprintf(out->oldest_due, sizeof out->oldest_due, "%s",
		 PQgetvalue(res, 0, 1));
	/* a day is due once the late window after its end has passed */
	if (out->oldest_due[0])
		out->overdue_s = now - (atoll(PQgetvalue(res, 0, 2)) +
					(int64_t)(late_days + 1) * 86400);
	if (out->overdue_s < 0)
		out->overdue_s = 0;
	out->objects = atoll(PQgetvalue(res, 0, 3));
	out->bytes = atoll(PQgetvalue(res, 0, 4));
	PQclear(res);
	return VT_OK;
}
