/* vantage-gateway - the probes' SSH gateway: registration and controller
 * roles, virtual forwards, the result sink and command pushes. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/observe.h"
#include "common/opt.h"
#include "common/optconf.h"
#include "controller/gateway/gateway.h"


static void usage(FILE *f)
{
	fputs(
"NAME\n"
"    vantage-gateway - SSH gateway for Vantage probes (libssh, one process)\n"
"\n"
"SYNOPSIS\n"
"    vantage-gateway --db CONNINFO --listen ADDR --reg-port N --ctrl-port N\n"
"                    [--rsa-reg-port N] [--rsa-ctrl-port N]\n"
"                    --ctrl-host HOST --host-keys DIR --name NAME\n"
"                    [--max-sessions N] [--max-handshakes N]\n"
"                    [--capacity N] [--threads N]\n"
"                    [--login-grace SECONDS]\n"
"                    [--keepalive SECONDS] [--rereg SECONDS]\n"
"                    [--db-timeout SECONDS] [--sink-gather MS]\n"
"                    [--max-per-probe N]\n"
"                    [--max-auth-tries N] [--channel-timeout SECONDS]\n"
"                    [--idle-timeout SECONDS] [--metrics ADDR:PORT]\n"
"                    [--log-level debug|info|warn|err] [--help]\n"
"\n"
"DESCRIPTION\n"
"    Serves the RIPE Atlas probe protocol over SSH: exec INIT on a\n"
"    registration port answers PROBE_ID, the clock, a controller chosen by\n"
"    load among the live gateways and its host key: for a probe with an RSA\n"
"    key (a stock RIPE Atlas probe) the RSA-only controller port and the\n"
"    ssh-rsa key, for a probe with an ed25519 key (Vantage's own) the\n"
"    controller port and the ed25519 key.  exec INIT on a\n"
"    controller port answers REMOTE_PORT and a fresh SESSION_ID; exec KEEP\n"
"    holds the session silently.  tcpip-forward is accepted without\n"
"    listening; direct-tcpip to 127.0.0.1:8080 is the in-process result\n"
"    sink (OK only once the results are committed to result_queue); every\n"
"    other channel, forward, shell, pty or subsystem is refused.  Pushes\n"
"    recorded by `vantage probe push` are delivered over forwarded-tcpip.\n"
"\n"
"OPTIONS\n"
"    --db CONNINFO        PostgreSQL connection string (else $VANTAGE_DB)\n"
"    --listen ADDR        address of both listening sockets (127.0.0.1)\n"
"    --reg-port N         registration role port, ed25519 and RSA host\n"
"                         keys, for Vantage's own probes (0: none)\n"
"    --ctrl-port N        controller role port, ed25519 and RSA host keys,\n"
"                         for Vantage's own probes\n"
"    --rsa-reg-port N     registration role port offering the RSA host key\n"
"                         alone, for stock probes (443 in production; 0:\n"
"                         none).  A stock probe pins plain `host ssh-rsa`\n"
"                         lines, which its OpenSSH honours on ports other\n"
"                         than 22 only when nothing but RSA is offered\n"
"    --rsa-ctrl-port N    controller role port offering the RSA host key\n"
"                         alone, for stock probes (0: none; they are then\n"
"                         sent to --ctrl-port, which works on port 22 only)\n"
"    --ctrl-host HOST     host name or address probes are sent to (ADDR);\n"
"                         \"V4,V6\" gives one address per family\n"
"    --host-keys DIR      ssh_host_ed25519_key and ssh_host_rsa_key (made\n"
"                         on first start when missing, RSA of 2048 bits).\n"
"                         An RSA key a stock probe cannot take (over 512\n"
"                         base64 characters, as RSA-3072 is, or under 1024\n"
"                         bits) is refused at start\n"
"    --name NAME          this gateway's row in the gateways table\n"
"    --max-sessions N     connections held at most; more are closed at\n"
"                         once, before any key exchange (default 20000)\n"
"    --max-handshakes N   connections in the handshake (accepted, not\n"
"                         authenticated yet) at most (default 256 per loop\n"
"                         thread); the limit in force adapts below it: the\n"
"                         handshakes completed in the last second times 3 s\n"
"                         (at least 16 per loop thread), so each admitted one\n"
"                         ends within seconds; the next ones wait in the\n"
"                         kernel's listen backlog (as deep as the limit) and\n"
"                         cost nothing, a reconnect storm served first come,\n"
"                         first served\n"
"    --capacity N         this gateway's weight when registration balances\n"
"                         probes over the gateways: each probe is sent to\n"
"                         the live, not draining gateway with the fewest\n"
"                         live sessions (and choices not yet connected)\n"
"                         per capacity (default: --max-sessions)\n"
"    --threads N          loop threads holding the sessions, 1..256\n"
"                         (default: VANTAGE_GW_THREADS, else one per\n"
"                         core)\n"
"    --login-grace S      seconds a connection has to authenticate\n"
"                         (pre-auth timeout, default 30)\n"
"    --max-per-probe N    authenticated connections one probe may hold;\n"
"                         more are refused at authentication (default 8)\n"
"    --max-auth-tries N   failed authentication attempts before the\n"
"                         connection is dropped (default 6)\n"
"    --channel-timeout S  seconds a channel has for its exec, a\n"
"                         registration INIT for its stdin, an upload for\n"
"                         its request (408 after) (default 30)\n"
"    --idle-timeout S     seconds a connection without KEEP may hold no\n"
"                         channel before it is closed (default 60)\n"
"    --keepalive S        keepalive interval when idle; a peer silent for\n"
"                         three intervals is dropped (default 60)\n"
"    --rereg S            REREGISTER told to probes (default 3240: a stock\n"
"                         probe retries its cached controller until it\n"
"                         expires, so the probes of a gateway gone for good\n"
"                         are on another one within an hour)\n"
"    --db-timeout S       seconds an upload's COMMIT may take before the\n"
"                         probe is answered 503 (default 30); the database\n"
"                         work runs on its own threads, never on the loop\n"
"    --sink-gather MS     while one upload group commits, the uploads that\n"
"                         arrive wait up to MS to be stored together in the\n"
"                         next (default 20; 0: never)\n"
"    --metrics ADDR:PORT  serve Prometheus metrics on GET /metrics there\n"
"                         (docs/operations.md, \"What to watch\")\n"
"    --log-level L        debug, info, warn or err (default info)\n"
VT_OPTCONF_HELP("gateway")
"    --help               this text\n"
"\n"
"DRAINING\n"
"    `vantage gateway drain NAME` makes this gateway send its probes\n"
"    elsewhere, at the rate given there: it writes on their KEEP, which\n"
"    makes a probe register again, and registration no longer chooses it.\n"
"    `vantage gateway undrain NAME` ends it.  Read every second.\n"
"\n"
"SIGNALS\n"
"    SIGTERM, SIGINT      leave registration's list at once, close every\n"
"                         session and exit.  A gateway that dies leaves it\n"
"                         when its heartbeat (every 2 s) is 6 s old\n"
"    SIGHUP               reload the probe key cache now and the log level\n"
"                         from the configuration file (the other keys need\n"
"                         a restart); a bad file is refused, nothing changes\n", f);
}

/* The only things the handlers touch; the loop watches them. */
static volatile sig_atomic_t stop_flag, reload_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reload_flag = 1;
}

static const struct option *reload_opts;
static int reload_argc;
static char **reload_argv;

/* SIGHUP, in the loop (gw_conf.reload): the log level from the file. */
static void reload(void)
{
	static const char *const keys[] = { "log-level", NULL };
	char err[512];

	if (vt_optconf_reread("vantage-gateway", VT_CONF_DIR "/gateway.conf",
			      reload_opts, "h", keys, reload_argc, reload_argv,
			      NULL, NULL, err, sizeof err) < 0)
		vt_err("reload refused, nothing changed: %s", err);
	else
		vt_info("reloaded %s; reloading the probe key cache", err);
}

/* libssh's own lines (--log-level debug) as lines of the log (one shape,
 * json too), never straight to stderr. */
static void log_libssh(int prio, const char *function, const char *buffer,
		    void *userdata)
{
	(void)prio;
	(void)userdata;
	vt_debug("libssh: %s: %s", function, buffer);
}

static int num(const char *s, long min, long max, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "reg-port", required_argument, NULL, 'r' },
		{ "ctrl-port", required_argument, NULL, 'c' },
		{ "rsa-reg-port", required_argument, NULL, 'x' },
		{ "rsa-ctrl-port", required_argument, NULL, 'y' },
		{ "ctrl-host", required_argument, NULL, 'H' },
		{ "host-keys", required_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' },
		{ "max-sessions", required_argument, NULL, 'm' },
		{ "capacity", required_argument, NULL, 'K' },
		{ "max-handshakes", required_argument, NULL, 'S' },
		{ "threads", required_argument, NULL, 't' },
		{ "login-grace", required_argument, NULL, 'g' },
		{ "keepalive", required_argument, NULL, 'a' },
		{ "rereg", required_argument, NULL, 'R' },
		{ "db-timeout", required_argument, NULL, 'T' },
		{ "sink-gather", required_argument, NULL, 'G' },
		{ "max-per-probe", required_argument, NULL, 'P' },
		{ "max-auth-tries", required_argument, NULL, 'A' },
		{ "channel-timeout", required_argument, NULL, 'C' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "metrics", required_argument, NULL, 'M' },
		VT_OPTCONF_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct gw_conf conf = {
		.listen = "127.0.0.1", .max_sessions = 20000, .login_grace = 30,
		.keepalive = 60, .rereg = GW_REREG_DEFAULT, .max_per_probe = GW_MAX_PER_PROBE,
		.max_auth_tries = GW_MAX_AUTH_TRIES, .chan_timeout = GW_CHAN_TIMEOUT,
		.idle_timeout = GW_IDLE_TIMEOUT
	};
	const char *db = NULL, *metrics = NULL;
	struct vt_observe *ob = NULL;
	int c, idx = 0, level = VT_LOG_INFO, rc;
	char err[512];
	long v;
	struct sigaction sa;
	struct gw *gw = NULL;
	static struct vt_optconf *oc;   /* lives as long as the process */

	if (vt_optconf_new("vantage-gateway", VT_CONF_DIR "/gateway.conf", opts,
			   "h", argc, argv, &oc, err, sizeof err) < 0)
		return vt_optconf_fail(oc, "%s", err);
	/* The environment's thread count; --threads (flag or file) wins. */
	if (getenv("VANTAGE_GW_THREADS") && *getenv("VANTAGE_GW_THREADS") &&
	    vt_opt_int("VANTAGE_GW_THREADS", getenv("VANTAGE_GW_THREADS"), 1, 256,
		       &conf.threads, err, sizeof err) < 0)
		return vt_optconf_fail(oc, "%s", err);
	while ((c = vt_optconf_next(oc, &idx)) != -1) {
		v = 0;
		switch (c) {
		case 'd': db = optarg; break;
		case 'l': conf.listen = optarg; break;
		case 'H': conf.ctrl_host = optarg; break;
		case 'k': conf.host_keys = optarg; break;
		case 'n': conf.name = optarg; break;
		case 'M':
			if (vt_opt_value("--metrics", optarg, err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			metrics = optarg;
			break;
		case 'r': case 'c': case 'm': case 'g': case 'a': case 'R': case 'T':
		case 'P': case 'A': case 'C': case 'I': case 'x': case 'y': case 'K':
			if (num(optarg, c == 'r' || c == 'x' || c == 'y' ? 0 : 1,
				c == 'm' || c == 'K' ? 10000000 :
				c == 'R' ? 28L * 86400 : 65535, &v) < 0)
				return vt_optconf_fail(oc, "--%s: bad number '%s'",
						       opts[idx].name, optarg);
			if (c == 'r') conf.reg_port = (int)v;
			if (c == 'c') conf.ctrl_port = (int)v;
			if (c == 'x') conf.rsa_reg_port = (int)v;
			if (c == 'y') conf.rsa_ctrl_port = (int)v;
			if (c == 'm') conf.max_sessions = (int)v;
			if (c == 'K') conf.capacity = (int)v;
			if (c == 'g') conf.login_grace = (int)v;
			if (c == 'a') conf.keepalive = (int)v;
			if (c == 'R') conf.rereg = v;
			if (c == 'T') conf.db_timeout = (int)v;
			if (c == 'P') conf.max_per_probe = (int)v;
			if (c == 'A') conf.max_auth_tries = (int)v;
			if (c == 'C') conf.chan_timeout = (int)v;
			if (c == 'I') conf.idle_timeout = (int)v;
			break;
		case 'S':
			if (vt_opt_int("--max-handshakes", optarg, 1, 10000000,
				       &conf.max_handshakes, err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			break;
		case 'G':
			if (vt_opt_int("--sink-gather", optarg, 0, 60000,
				       &conf.sink_gather, err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			if (!conf.sink_gather)
				conf.sink_gather = -1;   /* never */
			break;
		case 't':
			if (vt_opt_int("--threads", optarg, 1, 256, &conf.threads,
				       err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			break;
		case 'L':
			if ((level = vt_log_level_parse(optarg)) < 0)
				return vt_optconf_fail(oc, "bad log level '%s'", optarg);
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	conf.db = vt_conf_db(db);
	if (!conf.ctrl_host)
		conf.ctrl_host = conf.listen;
	if (optind != argc || !conf.db || !conf.ctrl_port || !conf.host_keys ||
	    !conf.name)
		return vt_optconf_fail(oc, "--db (or VANTAGE_DB), --ctrl-port, "
				       "--host-keys and --name are required (see --help)");
	if (vt_optconf_checked(oc))
		return 0;
	conf.verbose = level >= VT_LOG_DEBUG;
	conf.stop_flag = &stop_flag;
	conf.reload_flag = &reload_flag;
	conf.reload = reload;
	reload_opts = opts;
	reload_argc = argc;
	reload_argv = argv;
	vt_log_init("vantage-gateway", (enum vt_log_level)level);
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	if (vt_observe_start("gateway", conf.name, metrics, conf.db, 10, &ob, err,
			     sizeof err) < 0) {
		vt_err("%s", err);
		return 1;
	}
	conf.metrics = ob->m;
	ssh_init();
	ssh_set_log_callback(log_libssh);
	if ((rc = gw_new(&conf, &gw, err, sizeof err)) < 0) {
		vt_err("%s", err);
		ssh_finalize();
		vt_observe_stop(ob);
		return 1;
	}
	vt_info("%s: on %s registration %d, controller %d, RSA-only (stock "
		"probes) registration %d, controller %d; at most %d sessions, "
		"%d loop threads, at most %d in the handshake", conf.name, conf.listen, conf.reg_port,
		conf.ctrl_port, conf.rsa_reg_port, conf.rsa_ctrl_port,
		gw_max_sessions(gw), gw_threads(gw), gw_max_handshakes(gw));
	if (!stop_flag)
		rc = gw_run(gw);
	vt_info("stopping");
	gw_free(gw);
	ssh_finalize();
	vt_observe_stop(ob);
	return rc < 0 ? 1 : 0;
}
