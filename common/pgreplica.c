/* pgreplica.c - the staleness of a streaming replica (pgreplica.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"
#include "common/pgreplica.h"

static uint64_t lsn_parse(const char *s)
{
	char *end;
	unsigned long long hi = strtoull(s, &end, 16), lo = 0;

	if (*end == '/')
		lo = strtoull(end + 1, NULL, 16);
	return (uint64_t)hi << 32 | (uint64_t)(lo & 0xffffffffULL);
}

int vt_pg_replica_pos(PGconn *primary, PGconn *replica,
		      struct vt_pg_replica_pos *pos, char *errbuf, size_t errlen)
{
	PGresult *res = NULL;
	int rc;

	memset(pos, 0, sizeof *pos);
	pos->commit_age_s = VT_PG_LAG_UNKNOWN;
	if ((rc = vt_pg_exec(primary, &res, errbuf, errlen,
			     "SELECT pg_current_wal_lsn()::text", 0, NULL)) < 0)
		return rc;
	pos->primary_lsn = lsn_parse(PQgetvalue(res, 0, 0));
	PQclear(res);
	if ((rc = vt_pg_exec(replica, &res, errbuf, errlen,
			     "SELECT pg_is_in_recovery(),"
			     " coalesce(pg_last_wal_replay_lsn()::text, '0/0'),"
			     " extract(epoch FROM clock_timestamp() -"
			     "  pg_last_xact_replay_timestamp())", 0, NULL)) < 0)
		return rc;
	if (strcmp(PQgetvalue(res, 0, 0), "t")) {
		snprintf(errbuf, errlen, "not a replica (not in recovery)");
		rc = VT_EINVAL;
	} else {
		pos->replay_lsn = lsn_parse(PQgetvalue(res, 0, 1));
		if (!PQgetisnull(res, 0, 2)) {
			pos->commit_age_s = strtod(PQgetvalue(res, 0, 2), NULL);
			if (pos->commit_age_s < 0)
				pos->commit_age_s = 0;
		}
	}
	PQclear(res);
	return rc;
}

int vt_pg_replica_lag(PGconn *primary, PGconn *replica, double *lag_s,
		      char *errbuf, size_t errlen)
{
	struct vt_pg_replica_pos pos;
	int rc;

	*lag_s = VT_PG_LAG_UNKNOWN;
	if ((rc = vt_pg_replica_pos(primary, replica, &pos, errbuf, errlen)) < 0)
		return rc;
	*lag_s = pos.replay_lsn >= pos.primary_lsn ? 0 : pos.commit_age_s;
	return 0;
}

int vt_pg_replica_since(PGconn *replica, const char *lsn, int *ok, char *out,
			size_t outlen, char *errbuf, size_t errlen)
{
	const char *p[1] = { lsn && *lsn ? lsn : "0/0" };
	PGresult *res = NULL;
	int rc;

	*ok = 0;
	if ((rc = vt_pg_exec(replica, &res, errbuf, errlen,
			     "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn,"
			     " false), coalesce(pg_last_wal_replay_lsn()::text, '')",
			     1, p)) < 0)
		return rc;
	*ok = !strcmp(PQgetvalue(res, 0, 0), "t");
	if (*ok)
		snprintf(out, outlen, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	return 0;
}
