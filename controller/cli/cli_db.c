/* cli_db.c - `vantage db migrate`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/pg.h"
#include "controller/cli/cli.h"

/* The migrations folder, first found of: --dir (handled by the caller),
 * $VANTAGE_MIGRATIONS, the checkout's storage/migrations (the binary runs
 * from bin/), and the installed share/vantage/migrations beside the
 * binary's bin/ (`make install`, any PREFIX or DESTDIR). */
static void migrations_dir(const struct cli_ctx *ctx, char *dir, size_t len)
{
	const char *env = getenv("VANTAGE_MIGRATIONS");
	char exe[2048], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(dir, len, "%s", env);
		return;
	}
	snprintf(dir, len, "%s/storage/migrations", ctx->top);
	if (access(dir, R_OK) == 0)
		return;
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	if (!(slash = strrchr(exe, '/')))
		return;
	*slash = '\0';                  /* PREFIX/bin */
	if ((slash = strrchr(exe, '/')))
		*slash = '\0';          /* PREFIX */
	snprintf(dir, len, "%s/share/vantage/migrations", exe);
}

int cli_db_migrate(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 }
	};
	char dir[4096], err[1024];
	int c, applied = 0, r;
	PGconn *db;

	migrations_dir(ctx, dir, sizeof dir);
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
