/* vantage - the operator and researcher command-line tool. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/opt.h"
#include "common/pg.h"
#include "controller/cli/cli.h"
#include "storage/planner.h"

static const struct cli_cmd commands[] = {
	{ "db", "migrate", cli_db_migrate, "[--dir DIR]",
	  "apply the schema migrations that are not applied yet" },
	{ "probe", "add", cli_probe_add,
	  "--pubkey FILE [--tags a,b] [--anchor] [--virtual] [--country CC] "
	  "[--asn N] [--location LAT,LON] [--description TEXT]",
	  "register a probe by its SSH public key; prints its id" },
	{ "probe", "list", cli_probe_list, "", "list the probes" },
	{ "probe", "tags", cli_probe_tags, "ID [--add a,b] [--remove c,d]",
	  "change a probe's user tags; prints its user and system tags" },
	{ "msm", "create", cli_msm_create, "FILE",
	  "create measurements from the JSON body of POST measurements/ ('-': "
	  "stdin); prints the new ids, one per definition" },
	{ "msm", "stop", cli_msm_stop, "ID", "stop a measurement now" },
	{ "msm", "list", cli_msm_list, "", "list the measurements" },
	{ "msm", "show", cli_msm_show, "ID",
	  "print a measurement as the API's JSON object, with its probes" },
	{ "msm", "participate", cli_msm_participate,
	  "ID --add SPEC.json | --remove 1,2,3",
	  "add probes by a probe spec, or remove probes; prints the request id" },
	{ "probe", "push", cli_probe_push, "ID FILE [--timeout SECONDS]",
	  "deliver a CRONTAB/CRONLINE/ONEOFF batch through the probe's gateway" },
	{ "archive", "get", cli_archive_get,
	  "MSM --day YYYY-MM-DD [--probe N] [--start T --stop T] [--store URL]",
	  "print a measurement-day's results from the cold archive" },
	{ "results", NULL, cli_results,
	  "MSM_ID [--probe N[,M]] [--start T] [--stop T] [--api URL]",
	  "print stored results, one JSON per line, in time order (through the "
	  "API when --api or $VANTAGE_API_URL is set)" },
	{ "latest", NULL, cli_latest, "MSM_ID [--probe N[,M]] [--api URL]",
	  "print each probe's newest result, one JSON per line, through the API "
	  "(--api or $VANTAGE_API_URL)" },
	{ "catchment", NULL, cli_catchment,
	  "MSM_ID [--start T] [--stop T] [--probe N[,M]] [--ping MSM] [--json] "
	  "[--api URL]",
	  "which anycast site answers each probe of a DNS measurement (CHAOS "
	  "id.server, hostname.bind or NSID): the per-site table and every change "
	  "of site (through the API when --api or $VANTAGE_API_URL is set)" },
	{ "key", "add", cli_key_add,
	  "--label LABEL [--grant results,create,stop,tags,participation]",
	  "make a researcher API key; prints it (only this once)" },
	{ "key", "list", cli_key_list, "", "list the API keys (never the keys)" },
	{ "key", "revoke", cli_key_revoke, "ID|LABEL", "revoke an API key" },
	{ "gateway", "list", cli_gateway_list, "",
	  "list the gateways: name, controller address, capacity, live sessions, "
	  "probes sent there not yet connected, state, draining" },
	{ "gateway", "drain", cli_gateway_drain, "NAME [--rate N/s]",
	  "move the gateway's probes to the others, N a second at most (default "
	  "10), by writing on their KEEP; registration no longer chooses it" },
	{ "gateway", "undrain", cli_gateway_undrain, "NAME",
	  "end a drain: registration chooses the gateway again" },
	{ "status", NULL, cli_status, "[--json] [--late-days N]",
	  "what runs and what needs attention (CRIT, WARN) first: gateways and "
	  "their sessions, the queue, workers, the scheduler's last pass, the "
	  "archiver's last day, the API's instances; exits as a monitoring "
	  "plugin does: 0 nothing needs attention, 1 WARN only, 2 CRIT, 3 the "
	  "status could not be read (database, flags)" },
};

/* The exit status of a usage error: 2, but 3 ("unknown") for `status`,
 * which monitoring runs and reads as a plugin's exit status. */
static int usage_status(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (argv[i][0] != '-')
			return strcmp(argv[i], "status") ? 2 : 3;
	return 2;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vantage [--db CONNINFO] [--db-read CONNINFO]\n"
		   "               [--db-read-max-lag SECONDS] COMMAND [ARGS]\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %s %s %s\n      %s\n", commands[i].group,
			commands[i].name ? commands[i].name : "",
			commands[i].usage, commands[i].help);
	fprintf(f, "\nThe database is --db CONNINFO or $VANTAGE_DB (a libpq "
		   "connection string).\n"
		   "The read commands (results, msm list/show, probe list, catchment,\n"
		   "archive get) read on a streaming replica, --db-read CONNINFO or\n"
		   "$VANTAGE_DB_READ, while it may miss no write older than\n"
		   "--db-read-max-lag SECONDS (default 30), else on the primary.\n");
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vantage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

PGconn *cli_db(struct cli_ctx *ctx)
{
	char err[512];
	PGconn *c;

	if (vt_pg_connect(ctx->db, &c, err, sizeof err) < 0) {
		cli_error("database: %s", err);
		return NULL;
	}
	return c;
}

static char *find_top(const char *argv0)
{
	/* The checkout is the folder above bin/ (or build-asan/bin/). */
	char path[4096], *p;
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);

	(void)argv0;
	if (n <= 0)
		return strdup(".");
	path[n] = '\0';
	for (int up = 0; up < 3; up++) {
		char probe[4200];

		if (!(p = strrchr(path, '/')))
			break;
		*p = '\0';
		snprintf(probe, sizeof probe, "%s/storage/migrations", path);
		if (access(probe, R_OK) == 0)
			return strdup(path);
	}
	return strdup(".");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli_ctx ctx = { 0 };
	const char *db = NULL, *db_read = NULL, *max_lag = NULL;
	char *top, err[128];
	int c, rc, bad;

	vt_plan_tune_malloc();
	/* --db, --db-read and --db-read-max-lag may stand anywhere on the
	 * line: take them out first. */
	for (int i = 1, j = 1; i <= argc; i++) {
		static const char *const names[3] = { "--db", "--db-read",
						      "--db-read-max-lag" };
		const char **vals[3] = { &db, &db_read, &max_lag };
		int taken = 0;

		for (int k = 0; k < 3 && i < argc && !taken; k++) {
			size_t n = strlen(names[k]);

			if (!strcmp(argv[i], names[k])) {
				*vals[k] = i + 1 < argc ? argv[++i] : "";
				taken = 1;
			} else if (!strncmp(argv[i], names[k], n) && argv[i][n] == '=') {
				*vals[k] = argv[i] + n + 1;
				taken = 1;
			}
		}
		if (taken)
			continue;
		argv[j++] = argv[i];
		if (i == argc)
			argc = j - 1;
	}
	bad = usage_status(argc, argv);
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return bad;
		}
	}
	if ((db && vt_opt_value("--db", db, err, sizeof err) < 0) ||
	    (db_read && vt_opt_value("--db-read", db_read, err, sizeof err) < 0)) {
		cli_error("%s (a libpq connection string)", err);
		return bad;
	}
	ctx.db_read_max_lag_s = 30;
	if (max_lag && vt_opt_int("--db-read-max-lag", max_lag, 0, 86400,
				  &ctx.db_read_max_lag_s, err, sizeof err) < 0) {
		cli_error("%s", err);
		return bad;
	}
	if (!db_read && getenv("VANTAGE_DB_READ") && *getenv("VANTAGE_DB_READ"))
		db_read = getenv("VANTAGE_DB_READ");
	ctx.db_read = db_read;
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	ctx.db = vt_conf_db(db);
	top = find_top(argv[0]);
	ctx.top = top;
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
		const struct cli_cmd *cmd = &commands[i];

		if (strcmp(argv[optind], cmd->group))
			continue;
		if (cmd->name && (optind + 1 >= argc ||
				  strcmp(argv[optind + 1], cmd->name)))
			continue;
		{
			int sub = cmd->name ? optind + 1 : optind;

			if (sub + 1 < argc && (!strcmp(argv[sub + 1], "--help") ||
					       !strcmp(argv[sub + 1], "-h"))) {
				printf("usage: vantage %s%s%s %s\n  %s\n", cmd->group,
				       cmd->name ? " " : "", cmd->name ? cmd->name : "",
				       cmd->usage, cmd->help);
				free(top);
				return 0;
			}
			optind = 0; /* reset getopt for the command */
			rc = cmd->fn(&ctx, argc - sub, argv + sub);
		}
		free(top);
		return rc;
	}
	cli_error("unknown command '%s%s%s' (see vantage --help)", argv[optind],
		  optind + 1 < argc ? " " : "",
		  optind + 1 < argc ? argv[optind + 1] : "");
	free(top);
	return 2;
}
