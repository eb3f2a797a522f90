/* cli_db.c - `vantage db migrate`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/pg.h"
#include "controller/cli/cli.h"

int cli_db_migrate(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 }
	};
	char dir[4096], err[1024];
	int c, applied = 0, r;
	PGconn *db;

	snprintf(dir, sizeof dir, "%s/storage/migrations", ctx->top);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'D')
			snprintf(dir, sizeof dir, "%s", optarg);
		else
			return 2;
	}
	if (!(db = cli_db(ctx)))
		return 1;
	r = vt_pg_migrate(db, dir, &applied, err, sizeof err);
	PQfinish(db);
	if (r < 0) {
		cli_error("migrate: %s", err);
		return 1;
	}
	printf("%d migration%s applied\n", applied, applied == 1 ? "" : "s");
	return 0;
}
