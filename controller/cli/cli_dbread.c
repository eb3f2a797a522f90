/* cli_dbread.c - the connection of the read commands: a streaming replica
 * (--db-read / $VANTAGE_DB_READ) while it keeps up with the primary, else
 * the primary (--db).  The staleness is common/pgreplica.h's; every
 * fallback is said on stderr, the answer is then the primary's. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/pg.h"
#include "common/pgreplica.h"
#include "controller/cli/cli.h"

PGconn *cli_db_read(struct cli_ctx *ctx)
{
	PGconn *primary, *replica = NULL;
	struct vt_pg_replica_pos pos;
	char err[512], lsn[40];
	double lag;
	int rc;

	ctx->on_replica = 0;
	if (!(primary = cli_db(ctx)) || !ctx->db_read)
		return primary;
	if (vt_pg_connect(ctx->db_read, &replica, err, sizeof err) < 0) {
		err[strcspn(err, "\n")] = '\0';
		cli_error("the read replica cannot be reached (%s): reading from"
			  " the primary", err);
		return primary;
	}
	rc = vt_pg_replica_pos(primary, replica, &pos, err, sizeof err);
	lag = pos.replay_lsn >= pos.primary_lsn ? 0 : pos.commit_age_s;
	/* WAL without a commit (autovacuum, a checkpoint) keeps a healthy
	 * replica a moment behind while its last commit may be old: give it a
	 * second to reach the position read from the primary.  Then it holds
	 * everything written before that read, at most a second ago. */
	snprintf(lsn, sizeof lsn, "%" PRIX64 "/%" PRIX64, pos.primary_lsn >> 32,
		 pos.primary_lsn & 0xffffffffu);
	for (int i = 0; rc == 0 && lag > ctx->db_read_max_lag_s && i < 10; i++) {
		struct timespec ts = { 0, 100000000L };
		int ok = 0;
		char at[32];

		nanosleep(&ts, NULL);
		if ((rc = vt_pg_replica_since(replica, lsn, &ok, at, sizeof at, err,
					      sizeof err)) == 0 && ok)
			lag = (i + 1) / 10.0;
	}
	if (rc < 0 || lag > ctx->db_read_max_lag_s) {
		err[strcspn(err, "\n")] = '\0';
		if (rc < 0)
			cli_error("the read replica: %s: reading from the primary", err);
		else
			cli_error("the read replica may miss writes of the last %s"
				  " (--db-read-max-lag %d): reading from the primary",
				  lag >= VT_PG_LAG_UNKNOWN ? "unknown time" : "seconds",
				  ctx->db_read_max_lag_s);
		PQfinish(replica);
		return primary;
	}
	PQfinish(primary);
	ctx->on_replica = 1;
	return replica;
}

int cli_db_read_again(struct cli_ctx *ctx, PGconn **db)
{
	PGconn *c;

	if (!ctx->on_replica)
		return 0;
	if (!(c = cli_db(ctx)))
		return 0;
	PQfinish(*db);
	*db = c;
	ctx->on_replica = 0;
	return 1;
}
