/* cli_dbread.c - the connection of the read commands: a streaming replica
 * (--db-read / $VANTAGE_DB_READ) while it keeps up with the primary, else
 * the primary (--db).  The staleness is common/pgreplica.h's; every
 * fallback is said on stderr, the answer is then the primary's. */
#include <stdio.h>
#include <string.h>

#include "common/pg.h"
#include "common/pgreplica.h"
#include "controller/cli/cli.h"

PGconn *cli_db_read(struct cli_ctx *ctx)
{
	PGconn *primary, *replica = NULL;
	char err[512];
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
	rc = vt_pg_replica_lag(primary, replica, &lag, err, sizeof err);
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
