/* cli_gateway.c - `vantage gateway list|drain|undrain`: the gateways that
 * registration balances probes over, and draining one on purpose
 * (controller/gateway/drain.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/opt.h"
#include "common/pg.h"
#include "controller/cli/cli.h"

#define DRAIN_RATE_DEFAULT 10
#define DRAIN_RATE_MAX     10000

int cli_gateway_list(struct cli_ctx *ctx, int argc, char **argv)
{
	PGresult *res = NULL;
	char err[512];
	PGconn *db;

	(void)argv;
	if (argc != 1) {
		cli_error("gateway list: takes no arguments");
		return 2;
	}
	if (!(db = cli_db(ctx)))
		return 1;
	/* State: live (heartbeat within 6 s, as registration reads it),
	 * stopped, or gone (heartbeat too old). */
	if (vt_pg_exec(db, &res, err, sizeof err,
		       "SELECT g.name, g.ctrl_host || ':' || g.ctrl_port ||"
		       " coalesce(',' || g.rsa_ctrl_port, ''),"
		       " coalesce(g.capacity, g.max_sessions),"
		       " coalesce(l.live, 0), coalesce(l.pending, 0),"
		       " CASE WHEN g.stopped IS NOT NULL THEN 'stopped'"
		       "  WHEN g.heartbeat < now() - interval '6 seconds' THEN 'gone'"
		       "  ELSE 'live' END,"
		       " CASE WHEN g.draining IS NULL THEN '-'"
		       "  ELSE g.drain_rate || '/s' END"
		       " FROM gateways g LEFT JOIN gateway_load l ON l.gateway = g.name"
		       " ORDER BY g.name", 0, NULL) < 0) {
		cli_error("gateway list: %s", err);
		PQfinish(db);
		return 1;
	}
	printf("%-20s %-32s %9s %8s %8s %-8s %s\n", "NAME", "ADDRESS", "CAPACITY",
	       "LIVE", "PENDING", "STATE", "DRAINING");
	for (int i = 0; i < PQntuples(res); i++)
		printf("%-20s %-32s %9s %8s %8s %-8s %s\n", PQgetvalue(res, i, 0),
		       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
		       PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
		       PQgetvalue(res, i, 5), PQgetvalue(res, i, 6));
	PQclear(res);
	PQfinish(db);
	return 0;
}

/* Sets or clears the gateway's draining flag; rate 0: undrain. */
static int set_drain(struct cli_ctx *ctx, const char *cmd, const char *name,
		     int rate)
{
	char r[16], err[512];
	const char *p[2] = { name, r };
	PGresult *res = NULL;
	PGconn *db;
	int rc;

	snprintf(r, sizeof r, "%d", rate);
	if (!(db = cli_db(ctx)))
		return 1;
	rc = vt_pg_exec(db, &res, err, sizeof err, rate > 0
			? "UPDATE gateways SET draining = coalesce(draining, now()),"
			  " drain_rate = $2::integer WHERE name = $1 RETURNING name"
			: "UPDATE gateways SET draining = NULL WHERE name = $1"
			  " AND $2::integer = 0 RETURNING name", 2, p);
	if (rc < 0) {
		cli_error("gateway %s: %s", cmd, err);
		PQfinish(db);
		return 1;
	}
	rc = PQntuples(res) == 1 ? 0 : 1;
	if (rc)
		cli_error("gateway %s: no gateway named '%s' (vantage gateway list)",
			  cmd, name);
	else if (rate > 0)
		printf("%s: draining, %d probes/s at most\n", name, rate);
	else
		printf("%s: not draining\n", name);
	PQclear(res);
	PQfinish(db);
	return rc;
}

int cli_gateway_drain(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	int c, rate = DRAIN_RATE_DEFAULT;
	char err[256], num[32];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': {
			/* N or N/s */
			size_t n = strlen(optarg);

			snprintf(num, sizeof num, "%s", optarg);
			if (n > 2 && n < sizeof num && !strcmp(num + n - 2, "/s"))
				num[n - 2] = '\0';
			if (vt_opt_int("--rate", num, 1, DRAIN_RATE_MAX, &rate, err,
				       sizeof err) < 0) {
				cli_error("gateway drain: %s (probes a second, N or N/s)",
					  err);
				return 2;
			}
			break;
		}
		default:
			return 2;
		}
	}
	if (optind != argc - 1 || !*argv[optind]) {
		cli_error("gateway drain: want NAME [--rate N/s]");
		return 2;
	}
	return set_drain(ctx, "drain", argv[optind], rate);
}

int cli_gateway_undrain(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc != 2 || !*argv[1]) {
		cli_error("gateway undrain: want NAME");
		return 2;
	}
	return set_drain(ctx, "undrain", argv[1], 0);
}
