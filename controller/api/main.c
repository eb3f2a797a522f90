/* vantage-api - the researcher API (RIPE Atlas API v2) over HTTP and HTTPS. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/observe.h"
#include "common/opt.h"
#include "common/optconf.h"
#include "controller/api/api.h"
#include "controller/api/stream.h"
#include "storage/planner.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vantage-api [--db CONNINFO] [--http ADDR:PORT]\n"
		"                   [--https ADDR:PORT --tls-cert FILE --tls-key FILE]\n"
		"                   [--threads N] [--db-conns N] [--max-conns N]\n"
		"                   [--conn-timeout S] [--stmt-timeout MS]\n"
		"                   [--store URL] [--cache-ms MS] [--log-level LEVEL]\n"
		"                   [--db-read CONNINFO] [--db-read-max-lag SECONDS]\n"
		"                   [--stream ADDR:PORT] [--stream-tls ADDR:PORT]\n"
		"                   [--stream-clients N] [--stream-subs N]\n"
		"                   [--stream-queue N] [--stream-queue-bytes BYTES]\n"
		"                   [--stream-msg-max BYTES] [--stream-idle S]\n"
		"                   [--stream-backlog S] [--stream-nice N]\n"
		"                   [--metrics ADDR:PORT]\n"
		"                   [--config FILE] [--check-config] [--log-format F]\n\n"
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
		"  --db-read CONNINFO    a streaming replica for reads (GET); default\n"
		"                        $VANTAGE_DB_READ; writes and keys stay on --db\n"
		"  --db-read-max-lag SECONDS\n"
		"                        reads go to the primary while the replica may\n"
		"                        miss writes older than this (default 30)\n"
		"  --stream ADDR:PORT    live result stream, WebSocket (ws://ADDR:PORT/stream/)\n"
		"  --stream-tls ADDR:PORT  the same over TLS (wss://), with --tls-cert/--tls-key\n"
		"  --stream-clients N    open stream connections (default 1024)\n"
		"  --stream-subs N       subscriptions per connection (default 64)\n"
		"  --stream-queue N      messages queued for one client before it is\n"
		"                        dropped (default 10000)\n"
		"  --stream-queue-bytes BYTES  bytes queued for one client (default 16777216)\n"
		"  --stream-msg-max BYTES  longest client message (default 4096)\n"
		"  --stream-idle S       a client silent this long (not even a pong to the\n"
		"                        server's ping) is closed (default 300)\n"
		"  --stream-backlog S    sendBacklog: results stored in the last S seconds\n"
		"                        (default 300)\n"
		"  --stream-nice N       nice value of the stream's thread, so that workers\n"
		"                        and PostgreSQL on the same CPUs go first\n"
		"                        (default 10, 0: as the process)\n"
		"  --metrics ADDR:PORT   serve Prometheus metrics on GET /metrics there, a\n"
		"                        listener of its own (never the API's ports)\n"
		VT_OPTCONF_HELP("api") "\n"
		"The database is --db CONNINFO or $VANTAGE_DB.  See docs/vantage-api.md.\n");
}

static volatile sig_atomic_t stop, reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		stop = 1;
}

/* SIGHUP: the log level from the file, and the HTTPS certificate (the
 * files named at start); the rest, and the stream's wss:// certificate,
 * need a restart. */
static void reload_all(const struct option *opts, int argc, char **argv,
		       struct vt_api *api, char *err, size_t errlen)
{
	static const char *const keys[] = { "log-level", NULL };

	if (vt_optconf_reread("vantage-api", VT_CONF_DIR "/api.conf", opts, "h",
			      keys, argc, argv, NULL, NULL, err, errlen) < 0)
		vt_err("reload refused, nothing changed: %s", err);
	else
		vt_info("reloaded %s", err);
	if (vt_api_reload(api, err, errlen) < 0)
		vt_err("reload refused, the old certificate stays: %s", err);
	else if (*err)
		vt_info("reloaded the TLS certificate: %s", err);
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
		{ "db-read", required_argument, NULL, 'r' },
		{ "db-read-max-lag", required_argument, NULL, 'L' },
		{ "stream", required_argument, NULL, 1 },
		{ "stream-tls", required_argument, NULL, 2 },
		{ "stream-clients", required_argument, NULL, 3 },
		{ "stream-subs", required_argument, NULL, 4 },
		{ "stream-queue", required_argument, NULL, 5 },
		{ "stream-queue-bytes", required_argument, NULL, 6 },
		{ "stream-msg-max", required_argument, NULL, 7 },
		{ "stream-idle", required_argument, NULL, 8 },
		{ "stream-backlog", required_argument, NULL, 9 },
		{ "stream-nice", required_argument, NULL, 10 },
		{ "metrics", required_argument, NULL, 'M' },
		VT_OPTCONF_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct vt_api_conf conf;
	struct vt_api *api = NULL;
	struct vt_stream_conf sc;
	struct vt_stream *stream = NULL;
	const char *db = NULL, *metrics = NULL;
	struct vt_observe *ob = NULL;
	int c, idx = 0, level = VT_LOG_INFO, bad = 0;
	char err[512] = "";
	sigset_t set;
	static struct vt_optconf *oc;   /* lives as long as the process */

	vt_plan_tune_malloc();
	vt_api_conf_defaults(&conf);
	vt_stream_conf_defaults(&sc);
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
		case 't': bad |= vt_opt_int("--threads", optarg, 1, 64,
					  &conf.threads, err, sizeof err) < 0; break;
		case 'p': bad |= vt_opt_int("--db-conns", optarg, 1, 256,
					  &conf.db_conns, err, sizeof err) < 0; break;
		case 'm': bad |= vt_opt_int("--max-conns", optarg, 1, 100000,
					  &conf.max_conns, err, sizeof err) < 0; break;
		case 'o': bad |= vt_opt_int("--conn-timeout", optarg, 1, 3600,
					  &conf.conn_timeout_s, err, sizeof err) < 0; break;
		case 's': bad |= vt_opt_int("--stmt-timeout", optarg, 100, 3600000,
					  &conf.stmt_ms, err, sizeof err) < 0; break;
		case 'a': conf.objstore = optarg; break;
		case 'C': bad |= vt_opt_int("--cache-ms", optarg, 0, 3600000,
					  &conf.cache_ms, err, sizeof err) < 0; break;
		case 'r':
			if (vt_opt_value("--db-read", optarg, err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			conf.db_read = optarg;
			break;
		case 'L':
			if (vt_opt_int("--db-read-max-lag", optarg, 0, 86400,
				       &conf.db_read_max_lag_s, err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			break;
		case 'M':
			metrics = optarg;
			bad |= vt_opt_value("--metrics", optarg, err, sizeof err) < 0;
			break;
		case 'l':
			if ((level = vt_log_level_parse(optarg)) < 0)
				bad = 1;
			break;
		case 1: sc.plain = optarg; break;
		case 2: sc.tls = optarg; break;
		case 3: bad |= vt_opt_int("--stream-clients", optarg, 1, 100000,
					  &sc.max_clients, err, sizeof err) < 0; break;
		case 4: bad |= vt_opt_int("--stream-subs", optarg, 1, 10000,
					  &sc.max_subs, err, sizeof err) < 0; break;
		case 5: bad |= vt_opt_int("--stream-queue", optarg, 2, 10000000,
					  &sc.queue_msgs, err, sizeof err) < 0; break;
		case 6: bad |= vt_opt_long("--stream-queue-bytes", optarg, 1024,
					   1L << 34, &sc.queue_bytes, err, sizeof err) < 0; break;
		case 7: bad |= vt_opt_int("--stream-msg-max", optarg, 64, 1 << 20,
					  &sc.msg_max, err, sizeof err) < 0; break;
		case 8: bad |= vt_opt_int("--stream-idle", optarg, 2, 86400,
					  &sc.idle_s, err, sizeof err) < 0; break;
		case 9: bad |= vt_opt_int("--stream-backlog", optarg, 0, 86400,
					  &sc.backlog_s, err, sizeof err) < 0; break;
		case 10: bad |= vt_opt_int("--stream-nice", optarg, 0, 19,
					   &sc.nice, err, sizeof err) < 0; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (bad && err[0])
			return vt_optconf_fail(oc, "%s", err);
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
	if (!conf.db_read && getenv("VANTAGE_DB_READ") && *getenv("VANTAGE_DB_READ"))
		conf.db_read = getenv("VANTAGE_DB_READ");
	if (vt_optconf_checked(oc))
		return 0;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	/* Blocked in every thread started from here on: the loop below
	 * takes them in sigsuspend, race-free. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (vt_observe_start("api", conf.http ? conf.http : conf.https, metrics,
			     conf.db, 10, &ob, err, sizeof err) < 0) {
		vt_err("%s", err);
		return 1;
	}
	conf.metrics = ob->m;
	if (vt_api_start(&conf, &api, err, sizeof err) < 0) {
		vt_err("%s", err);
		vt_observe_stop(ob);
		return 1;
	}
	vt_info("serving%s%s%s%s%s", conf.http ? " http on " : "",
		conf.http ? conf.http : "", conf.https ? " https on " : "",
		conf.https ? conf.https : "",
		conf.db_read ? "; reads on a replica when it keeps up" : "");
	if (sc.plain || sc.tls) {
		sc.db = conf.db;
		sc.tls_cert = conf.tls_cert;
		sc.tls_key = conf.tls_key;
		sc.stmt_ms = conf.stmt_ms;
		if (vt_stream_start(&sc, &stream, err, sizeof err) < 0) {
			vt_err("%s", err);
			vt_api_stop(api);
			vt_observe_stop(ob);
			return 1;
		}
		vt_info("stream on%s%s%s%s (ports %d %d)", sc.plain ? " ws " : "",
			sc.plain ? sc.plain : "", sc.tls ? " wss " : "",
			sc.tls ? sc.tls : "", vt_stream_port(stream, 0),
			vt_stream_port(stream, 1));
	}
	sigemptyset(&set);
	while (!stop) {
		sigsuspend(&set);
		if (reload) {
			reload = 0;
			reload_all(opts, argc, argv, api, err, sizeof err);
		}
	}
	vt_info("stopping");
	vt_stream_stop(stream);
	vt_api_stop(api);
	vt_observe_stop(ob);
	return 0;
}
