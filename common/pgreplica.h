/* pgreplica.h - reading from a PostgreSQL streaming replica: how stale it is.
 *
 * Staleness is measured as an upper bound on how old the newest write is
 * that the replica may be missing:
 * - the primary's WAL position (pg_current_wal_lsn) is read first, then the
 *   replica's replay position: when the replica has replayed that far, it
 *   holds every transaction committed before the first statement, and its
 *   staleness is 0 (an idle primary never makes a caught-up replica look
 *   old, which a bare pg_last_xact_replay_timestamp() would);
 * - otherwise it holds everything up to its last replayed commit, and the
 *   staleness is the time since that commit (clock_timestamp() -
 *   pg_last_xact_replay_timestamp(), so primary and replica clocks must
 *   agree, as NTP keeps them), or unknown (VT_PG_LAG_UNKNOWN) when the
 *   replica has not replayed a commit since it started.
 * docs/scaling.md, "Read replicas". */
#ifndef VT_PGREPLICA_H
#define VT_PGREPLICA_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "err.h"

#define VT_PG_LAG_UNKNOWN 1e9

/* Where the two stand, read in this order: the primary's WAL position,
 * then the replica's replay position and the age of its last replayed
 * commit (seconds, VT_PG_LAG_UNKNOWN when it has replayed none). */
struct vt_pg_replica_pos {
	uint64_t primary_lsn, replay_lsn;
	double commit_age_s;
};
/* VT_EINVAL when replica is not in recovery, VT_EDB when a statement
 * failed. */
int vt_pg_replica_pos(PGconn *primary, PGconn *replica,
		      struct vt_pg_replica_pos *pos, char *errbuf,
		      size_t errlen) VT_WUR;

/* The staleness of replica against primary in *lag_s (seconds, >= 0).
 * VT_EINVAL when replica is not in recovery (not a replica, or promoted:
 * it must not serve reads any more), VT_EDB when a statement failed; the
 * reason is in errbuf. */
int vt_pg_replica_lag(PGconn *primary, PGconn *replica, double *lag_s,
		      char *errbuf, size_t errlen) VT_WUR;

/* A replica's replay position is at least lsn ("X/Y", "" for none): *ok
 * set, and its position written to out (at least 32 bytes).  For a reader
 * that must never see the replica go back in time between two statements
 * (a conninfo naming several hosts may reach another replica). */
int vt_pg_replica_since(PGconn *replica, const char *lsn, int *ok, char *out,
			size_t outlen, char *errbuf, size_t errlen) VT_WUR;

#endif
