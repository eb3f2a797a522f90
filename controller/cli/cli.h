/* cli.h - the `vantage` command-line tool: one function per command.
 *
 * Each command gets argc/argv starting at its own name (argv[0] is the
 * command, e.g. "add" for `vantage probe add`) and the database conninfo
 * (from --db or VANTAGE_DB, may be NULL).  It returns the process exit
 * status: 0 success, 1 failure, 2 usage error.  Commands print their own
 * errors to stderr as "vantage: ...". */
#ifndef VT_CLI_H
#define VT_CLI_H

#include <libpq-fe.h>

struct cli_ctx {
	const char *db;          /* conninfo, or NULL */
	const char *top;         /* the checkout (for storage/migrations) */
	const char *db_read;     /* a streaming replica (--db-read), or NULL */
	int db_read_max_lag_s;   /* --db-read-max-lag */
	int on_replica;          /* cli_db_read chose the replica */
};

typedef int (*cli_fn)(struct cli_ctx *ctx, int argc, char **argv);

struct cli_cmd {
	const char *group;       /* "probe", "db", ... */
	const char *name;        /* "add", "list", ...; NULL: the group alone */
	cli_fn fn;
	const char *usage;       /* one line: arguments */
	const char *help;        /* one line: what it does */
};

/* Connects to the database or prints why not; returns NULL on failure. */
PGconn *cli_db(struct cli_ctx *ctx);
/* The connection of a read command: the replica (ctx->db_read) when it may
 * miss no write older than ctx->db_read_max_lag_s, else the primary (a
 * note on stderr says why); cli_dbread.c. */
PGconn *cli_db_read(struct cli_ctx *ctx);
/* When *db is the replica: replaces it by the primary and returns 1 (for a
 * read that found nothing there, or failed before printing anything). */
int cli_db_read_again(struct cli_ctx *ctx, PGconn **db);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cli_db_migrate(struct cli_ctx *ctx, int argc, char **argv);
int cli_probe_add(struct cli_ctx *ctx, int argc, char **argv);
int cli_probe_list(struct cli_ctx *ctx, int argc, char **argv);
int cli_probe_push(struct cli_ctx *ctx, int argc, char **argv);
int cli_archive_get(struct cli_ctx *ctx, int argc, char **argv);
int cli_results(struct cli_ctx *ctx, int argc, char **argv);
int cli_msm_create(struct cli_ctx *ctx, int argc, char **argv);
int cli_msm_stop(struct cli_ctx *ctx, int argc, char **argv);
int cli_msm_list(struct cli_ctx *ctx, int argc, char **argv);
int cli_msm_show(struct cli_ctx *ctx, int argc, char **argv);
int cli_msm_participate(struct cli_ctx *ctx, int argc, char **argv);
int cli_probe_tags(struct cli_ctx *ctx, int argc, char **argv);
int cli_key_add(struct cli_ctx *ctx, int argc, char **argv);
int cli_key_list(struct cli_ctx *ctx, int argc, char **argv);
int cli_key_revoke(struct cli_ctx *ctx, int argc, char **argv);
int cli_latest(struct cli_ctx *ctx, int argc, char **argv);
/* GETs API base + pathq and writes the body to stdout; prints a refusal's
 * detail.  The key comes from $VANTAGE_API_KEY, a CA file from
 * $VANTAGE_API_CA.  Returns an exit status. */
int cli_api_get(const char *base, const char *pathq);
/* The same into body (capped by its max) instead of stdout. */
struct vt_buf;
int cli_api_get_buf(const char *base, const char *pathq, struct vt_buf *body);
int cli_gateway_list(struct cli_ctx *ctx, int argc, char **argv);
int cli_gateway_drain(struct cli_ctx *ctx, int argc, char **argv);
int cli_gateway_undrain(struct cli_ctx *ctx, int argc, char **argv);
int cli_catchment(struct cli_ctx *ctx, int argc, char **argv);
int cli_status(struct cli_ctx *ctx, int argc, char **argv);

#endif
