/* retain.c - the push history's retention (see retain.h). */
#include "controller/scheduler/retain.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/pg.h"

int vt_sched_prune_pushes(PGconn *db, long long now, long long keep_s,
			  long max_rows, long *deleted, char *errbuf,
			  size_t errlen)
{
	char before[32], limit[32];
	const char *p[2] = { before, limit };
	long total = 0;
	int rc = VT_OK;

	snprintf(before, sizeof before, "%lld", now - keep_s);
	for (;;) {
		long want = VT_PUSH_PRUNE_BATCH, n;
		PGresult *res = NULL;

		if (max_rows > 0 && max_rows - total < want)
			want = max_rows - total;
		if (want <= 0)
			break;
		snprintf(limit, sizeof limit, "%ld", want);
		/* Oldest first (the primary key's order); a push is history
		 * when it ended, and kept while it is its probe's newest of
		 * its kind. */
		rc = vt_pg_exec(db, &res, errbuf, errlen,
			"WITH gone AS (DELETE FROM probe_pushes WHERE id IN ("
			" SELECT o.id FROM probe_pushes o"
			" WHERE o.status IN ('ok', 'failed', 'expired')"
			" AND coalesce(o.finished, o.created) < to_timestamp($1::bigint)"
			" AND EXISTS (SELECT 1 FROM probe_pushes n"
			"  WHERE n.probe_id = o.probe_id AND n.kind = o.kind"
			"  AND n.id > o.id)"
			" ORDER BY o.id LIMIT $2::integer) RETURNING 1)"
			" SELECT count(*) FROM gone", 2, p);
		if (rc < 0)
			break;
		n = atol(PQgetvalue(res, 0, 0));
		PQclear(res);
		total += n;
		if (n < want)
			break;
	}
	if (deleted)
		*deleted = total;
	return rc;
}
