/* cli_results.c - `vantage results ID [--probe N] [--start T] [--stop T]`:
 * the stored results of a measurement, one JSON per line, in time order. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/opt.h"
#include "common/pg.h"
#include "controller/cli/cli.h"

/* A non-negative whole number (flag names it in the error). */
static int is_number(const char *flag, const char *s)
{
	char err[128];
	long long v;

	if (vt_opt_num(flag, s, 0, INT64_MAX, &v, err, sizeof err) < 0) {
		cli_error("results: %s", err);
		return 0;
	}
	return 1;
}

int cli_results(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "probe", required_argument, NULL, 'p' },
		{ "start", required_argument, NULL, 's' },
		{ "stop", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 }
	};
	const char *p[4] = { NULL, NULL, NULL, NULL };
	char err[512];
	PGresult *res;
	PGconn *db;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char **slot = c == 'p' ? &p[1] : c == 's' ? &p[2] : &p[3];

		if (c == '?')
			return 2;
		if (!is_number(c == 'p' ? "--probe" : c == 's' ? "--start" :
			       "--stop", optarg))
			return 2;
		*slot = optarg;
	}
	if (optind + 1 != argc || !is_number("MSM_ID", argv[optind])) {
		cli_error("results: usage: vantage results MSM_ID [--probe N]"
			  " [--start T] [--stop T]");
		return 2;
	}
	p[0] = argv[optind];
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
