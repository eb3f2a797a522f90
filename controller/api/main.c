/* vantage-api - the researcher API (RIPE Atlas API v2) over HTTP and HTTPS. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/optconf.h"
#include "controller/api/api.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vantage-api [--db CONNINFO] [--http ADDR:PORT]\n"
		"                   [--https ADDR:PORT --tls-cert FILE --tls-key FILE]\n"
		"                   [--threads N] [--db-conns N] [--max-conns N]\n"
		"                   [--conn-timeout S] [--stmt-timeout MS]\n"
		"                   [--store URL] [--cache-ms MS] [--log-level LEVEL]\n\n"
		"Serves the RIPE Atlas API v2 (/api/v2/...) for Vantage: measurements,\n"
		"their results and latest results, probes and anchors; creating and\n"
		"stopping measurements with API keys (vantage key add).\n\n"
		"  --http ADDR:PORT      plain HTTP listener (127.0.0.1:8000, [::1]:8000, :8000)\n"
		"  --https ADDR:PORT     HTTPS listener (needs --tls-cert and --tls-key, PEM)\n"
		"  --threads N           threads per listener (default 8)\n"
		"  --db-conns N          PostgreSQL connections (default 8)\n"
		"  --max-conns N         open client connections per listener (default 1024)\n"
		"  --conn-timeout S      idle client connection timeout (default 30)\n"
		"  --stmt-timeout MS     PostgreSQL statement timeout (default 10000)\n"
		"  --store URL           archive object store (file://DIR, s3://..., http://...)\n"
		"  --cache-ms MS         anonymous GETs of objects and lists answered from\n"
		"                        memory for this long (default 1000, 0: never)\n"
		"  --log-level LEVEL     err, warn, info (default: one line per request), debug\n"
		VT_OPTCONF_HELP("api") "\n"
		"The database is --db CONNINFO or $VANTAGE_DB.  See docs/vantage-api.md.\n");
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int int_arg(const char *s, int min, int max, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "http", required_argument, NULL, 'H' },
		{ "https", required_argument, NULL, 'S' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "threads", required_argument, NULL, 't' },
		{ "db-conns", required_argument, NULL, 'p' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "conn-timeout", required_argument, NULL, 'o' },
		{ "stmt-timeout", required_argument, NULL, 's' },
		{ "store", required_argument, NULL, 'a' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "cache-ms", required_argument, NULL, 'C' },
		VT_OPTCONF_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct vt_api_conf conf;
	struct vt_api *api = NULL;
	const char *db = NULL;
	int c, idx = 0, level = VT_LOG_INFO, bad = 0;
	char err[512];
	sigset_t set;
	static struct vt_optconf *oc;   /* lives as long as the process */

	vt_api_conf_defaults(&conf);
	if (vt_optconf_new("vantage-api", VT_CONF_DIR "/api.conf", opts, "h",
			   argc, argv, &oc, err, sizeof err) < 0)
		return vt_optconf_fail(oc, "%s", err);
	while ((c = vt_optconf_next(oc, &idx)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'H': conf.http = optarg; break;
		case 'S': conf.https = optarg; break;
		case 'c': conf.tls_cert = optarg; break;
		case 'k': conf.tls_key = optarg; break;
		case 't': bad |= int_arg(optarg, 1, 64, &conf.threads); break;
		case 'p': bad |= int_arg(optarg, 1, 256, &conf.db_conns); break;
		case 'm': bad |= int_arg(optarg, 1, 100000, &conf.max_conns); break;
		case 'o': bad |= int_arg(optarg, 1, 3600, &conf.conn_timeout_s); break;
		case 's': bad |= int_arg(optarg, 100, 3600000, &conf.stmt_ms); break;
		case 'a': conf.objstore = optarg; break;
		case 'C': bad |= int_arg(optarg, 0, 3600000, &conf.cache_ms); break;
		case 'l':
			if ((level = vt_log_level_parse(optarg)) < 0)
				bad = 1;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (bad)
			return vt_optconf_fail(oc, "--%s: bad value '%s'",
					       opts[idx].name, optarg);
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	vt_log_init("vantage-api", (enum vt_log_level)level);
	conf.db = vt_conf_db(db);
	if (!conf.db)
		return vt_optconf_fail(oc, "no database (--db or VANTAGE_DB)");
	if (vt_optconf_checked(oc))
		return 0;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (vt_api_start(&conf, &api, err, sizeof err) < 0) {
		vt_err("%s", err);
		return 1;
	}
	vt_info("serving%s%s%s%s", conf.http ? " http on " : "",
		conf.http ? conf.http : "", conf.https ? " https on " : "",
		conf.https ? conf.https : "");
	sigemptyset(&set);
	while (!stop)
		sigsuspend(&set);
	vt_info("stopping");
	vt_api_stop(api);
	return 0;
}
