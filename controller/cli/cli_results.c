/* cli_results.c - `vantage results ID [--probe N] [--start T] [--stop T]
 * [--api URL]`: the stored results of a measurement, one JSON per line, in
 * time order; from the database, or through vantage-api when --api or
 * $VANTAGE_API_URL gives its URL (hot and archived days as one stream). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"
#include "controller/cli/cli.h"

static int is_number(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 19;
}

int cli_results(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "probe", required_argument, NULL, 'p' },
		{ "start", required_argument, NULL, 's' },
		{ "stop", required_argument, NULL, 'e' },
		{ "api", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	const char *api = getenv("VANTAGE_API_URL");
	const char *p[4] = { NULL, NULL, NULL, NULL };
	char err[512];
	PGresult *res;
	PGconn *db;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char **slot = c == 'p' ? &p[1] : c == 's' ? &p[2] : &p[3];

		if (c == '?')
			return 2;
		if (c == 'a') {
			api = optarg;
			continue;
		}
		if (c == 'p' && strspn(optarg, "0123456789,") == strlen(optarg) &&
		    strchr(optarg, ',')) {
			p[1] = optarg;
			continue;
		}
		if (!is_number(optarg)) {
			cli_error("results: --%s wants a number",
				  c == 'p' ? "probe" : c == 's' ? "start" : "stop");
			return 2;
		}
		*slot = optarg;
	}
	if (optind + 1 != argc || !is_number(argv[optind])) {
		cli_error("results: usage: vantage results MSM_ID [--probe N]"
			  " [--start T] [--stop T]");
		return 2;
	}
	p[0] = argv[optind];
	if (api && *api) {
		char pathq[4096];

		snprintf(pathq, sizeof pathq, "api/v2/measurements/%s/results/"
			 "?format=txt%s%s%s%s%s%s", p[0], p[1] ? "&probe_ids=" : "",
			 p[1] ? p[1] : "", p[2] ? "&start=" : "", p[2] ? p[2] : "",
			 p[3] ? "&stop=" : "", p[3] ? p[3] : "");
		return cli_api_get(api, pathq);
	}
	if (p[1] && strchr(p[1], ',')) {
		cli_error("results: several probes need the API (--api URL)");
		return 2;
	}
	if (!(db = cli_db(ctx)))
		return 1;
	/* Single-row mode streams: the first lines print before the last is read. */
	if (!PQsendQueryParams(db,
			       "SELECT result FROM results WHERE msm_id = $1::bigint"
			       " AND ($2::integer IS NULL OR prb_id = $2::integer)"
			       " AND ($3::bigint IS NULL OR ts >= $3::bigint)"
			       " AND ($4::bigint IS NULL OR ts <= $4::bigint)"
			       " ORDER BY ts, prb_id", 4, NULL, p, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(db)) {
		cli_error("results: %s", PQerrorMessage(db));
		goto out;
	}
	rc = 0;
	while ((res = PQgetResult(db))) {
		ExecStatusType st = PQresultStatus(res);

		if (st == PGRES_SINGLE_TUPLE) {
			fwrite(PQgetvalue(res, 0, 0), 1, (size_t)PQgetlength(res, 0, 0),
			       stdout);
			fputc('\n', stdout);
		} else if (st != PGRES_TUPLES_OK) {
			snprintf(err, sizeof err, "%s", PQresultErrorMessage(res));
			cli_error("results: %s", err);
			rc = 1;
		}
		PQclear(res);
	}
out:
	PQfinish(db);
	return rc;
}
