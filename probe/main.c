/* vantage-probe - the probe: SSH link to the controller, command service,
 * result upload (probe/link/), crontab scheduler (probe/sched.h) and the
 * measurement engine (probe/measure/, also --run).  The pushed httppost
 * job of the scheduler asks the link to upload (vt_link_upload_now). */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/optconf.h"
#include "probe/link/link.h"
#include "probe/link/sshc.h"
#include "probe/measure/measure.h"
#include "probe/measure/run.h"
#include "probe/sched.h"
#include "probe/spool.h"

static volatile sig_atomic_t stop_flag, reload_flag;
static uid_t chown_uid;
static gid_t chown_gid;
static int main_argc;       /* for a reload: the flags still override */
static char **main_argv;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_flag = 1;
	else
		stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: vantage-probe --spool DIR --reg-host HOST --reg-port N --reg-hostkey FILE\n"
"                     [--key FILE] [--config FILE] [--log-level L] [--once]\n"
"       vantage-probe --run 'COMMAND LINE'\n"
"\n"
"Registers with the controller, holds the KEEP session, serves the controller's\n"
"commands (crontabs go to DIR/crons/), runs them, and uploads DIR/data/out when\n"
"the pushed httppost job says so.\n"
"\n"
"  --spool DIR          spool directory (crons/, data/new/, data/out/, status/)\n"
"  --reg-host HOST      registration server\n"
"  --reg-port N         its port\n"
"  --reg-hostkey FILE   its public host key (an OpenSSH .pub line), pinned\n"
"  --key FILE           probe key (default DIR/id_ed25519; an ed25519 key is\n"
"                       made on first start, with FILE.pub beside it)\n"
"  --log-level L        err, warn, info (default) or debug\n"
"  --once               move data/new to data/out, register, connect, upload\n"
"                       what is spooled, and exit\n"
"  --backoff-min-ms N   first reconnect delay cap (default 1000)\n"
"  --backoff-max-ms N   largest reconnect delay cap (default 300000)\n"
"  --rereg-after S      KEEP (or controller INIT) failing 8 times in a row and\n"
"                       for S seconds sends the probe back to registration\n"
"                       (default 600)\n"
"  --upload-poll-ms N   also upload data/out every N ms on its own (default 0:\n"
"                       only when the pushed httppost job runs)\n"
"  --upload-fallback S  no condmv / httppost job for S seconds: move and upload\n"
"                       on its own (default 600)\n"
"  --allow-private      measure loopback, private, link-local and ULA targets\n"
"                       too (for labs; config: allow_private = yes)\n"
"  --user USER          after opening raw sockets, run as USER keeping only\n"
"                       CAP_NET_RAW (default nobody when started as root;\n"
"                       'root' keeps root); the spool is handed to USER\n"
VT_OPTCONF_HELP("probe")
"  --run 'CMD'          run one measurement command line and print its result\n"
"  --help               this text\n");
}

/* Options: each one is also a config key (dashes become underscores). */
static const struct option opts[] = {
	{ "spool",          required_argument, NULL, 0 },
	{ "reg-host",       required_argument, NULL, 0 },
	{ "reg-port",       required_argument, NULL, 0 },
	{ "reg-hostkey",    required_argument, NULL, 0 },
	{ "key",            required_argument, NULL, 0 },
	{ "log-level",      required_argument, NULL, 0 },
	{ "backoff-min-ms", required_argument, NULL, 0 },
	{ "backoff-max-ms", required_argument, NULL, 0 },
	{ "upload-poll-ms", required_argument, NULL, 0 },
	{ "upload-fallback", required_argument, NULL, 0 },
	{ "rereg-after",    required_argument, NULL, 0 },
	{ "user",           required_argument, NULL, 0 },
	{ "allow-private",  no_argument,       NULL, 'p' },
	VT_OPTCONF_OPTIONS,
	{ "once",           no_argument,       NULL, '1' },
	{ "help",           no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Where each setting came from ("file:line" or the program's name). */
static struct vt_conf *where;

static int conf_long(const struct vt_conf *c, const char *key, long def,
		     long min, long max, long *out)
{
	if (vt_conf_int(c, key, def, min, max, out) < 0) {
		fprintf(stderr, "%s: %s: not a number in %ld..%ld\n",
			vt_conf_get(where, key, "vantage-probe"), key, min, max);
		return -1;
	}
	return 0;
}

/* SIGHUP, on the measuring side's loop: the log level from the file;
 * every other key needs a restart (the link and the scheduler take
 * theirs at start). */
static void reload(void)
{
	static const char *const keys[] = { "log-level", NULL };
	char err[512];

	if (vt_optconf_reread("vantage-probe", VT_CONF_DIR "/probe.conf", opts,
			      "", keys, main_argc, main_argv, NULL, NULL, err,
			      sizeof err) < 0)
		vt_err("reload refused, nothing changed: %s", err);
	else
		vt_info("reloaded %s", err);
}

/* The measuring side: its own event loop in a second thread, running the
 * crontab scheduler and the measurement engine.  It shares nothing with the
 * link but the spool's files (PROTOCOL.md: the probe measures on its own
 * clock, also while disconnected). */
struct measure_side {
	struct vt_loop *loop;
	struct vt_measure_ctx *mctx;
	struct vt_sched *sched;
	pthread_t thread;
	int running;
};

static void reload(void);

static void stop_check(struct vt_loop *loop, void *arg)
{
	if (stop_flag) {
		vt_loop_stop(loop);
		return;
	}
	if (reload_flag) {
		reload_flag = 0;
		reload();
	}
	if (vt_loop_timer(loop, 200, stop_check, arg, NULL) < 0)
		vt_loop_stop(loop);
}

static void *measure_thread(void *arg)
{
	struct measure_side *m = arg;
	int r = vt_loop_run(m->loop);

	if (r < 0)
		vt_err("measurement loop: %s", vt_strerror(r));
	stop_flag = 1;      /* without measurements the probe stops as a whole */
	return NULL;
}

static int chown_one(const char *path, const struct stat *st, int flag,
		     struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (lchown(path, chown_uid, chown_gid) < 0)
		vt_warn("chown %s: %s", path, strerror(errno));
	return 0;
}

/* The httppost job: called on the measurement thread. */
static void ask_upload(void *arg)
{
	vt_link_upload_now(arg);
}

static int measure_start(struct measure_side *m, struct vt_spool *sp,
			 int allow_private, const char *user, const char *spool,
			 long fallback_s, struct vt_link *link)
{
	struct vt_measure_opts mo = { .allow_private = allow_private };
	struct vt_sched_opts so = {
		.fallback_ms = fallback_s * 1000, .upload = ask_upload,
		.upload_arg = link,
	};
	int r;

	if ((r = vt_loop_new(&m->loop)) < 0 ||
	    (r = vt_measure_ctx_new(m->loop, &mo, &m->mctx)) < 0) {
		vt_err("measurement engine: %s", vt_strerror(r));
		return r < 0 ? r : VT_EIO;
	}
	if (getuid() == 0 && strcmp(user, "root")) {
		struct passwd *pw = getpwnam(user);

		if (!pw) {
			vt_err("--user %s: no such user", user);
			return VT_ENOTFOUND;
		}
		/* The spool belongs to the user the probe runs as. */
		chown_uid = pw->pw_uid;
		chown_gid = pw->pw_gid;
		nftw(spool, chown_one, 16, FTW_PHYS);
		if ((r = vt_measure_drop_root(user)) < 0) {
			vt_err("dropping root for %s: %s", user, vt_strerror(r));
			return r;
		}
		vt_info("running as %s with CAP_NET_RAW only", user);
	}
	if ((r = vt_sched_new_opts(m->loop, m->mctx, sp, &so, &m->sched)) < 0 ||
	    (r = vt_loop_timer(m->loop, 200, stop_check, m, NULL)) < 0) {
		vt_err("scheduler: %s", vt_strerror(r));
		return r;
	}
	if (pthread_create(&m->thread, NULL, measure_thread, m) != 0) {
		vt_err("cannot start the measurement thread");
		return VT_EIO;
	}
	m->running = 1;
	return VT_OK;
}

static void measure_stop(struct measure_side *m)
{
	stop_flag = 1;
	if (m->running) {
		pthread_join(m->thread, NULL);
		if (vt_sched_flush(m->sched) < 0)
			vt_warn("could not move every result to data/out");
	}
	if (m->sched) {
		struct vt_sched_stats st;

		vt_sched_get_stats(m->sched, &st);
		vt_info("measurements: %ld run(s), %ld one-off(s), %ld result(s) "
			"written, %ld late, %ld busy, %ld failed, %ld write error(s)",
			st.runs, st.oneoffs, st.results, st.late, st.busy,
			st.failed, st.write_errors);
		vt_info("upload jobs: %ld condmv, %ld httppost, %ld fallback "
			"upload(s), %ld file(s) moved", st.condmv_runs,
			st.httppost_runs, st.fallback_uploads, st.moved);
	}
	/* The engine first: it drops running measurements without callbacks. */
	vt_measure_ctx_free(m->mctx);
	vt_sched_free(m->sched);
	vt_loop_free(m->loop);
}

int main(int argc, char **argv)
{
	struct vt_link_conf lc;
	struct vt_conf *cli = NULL;
	struct vt_spool *sp = NULL;
	struct vt_link *link = NULL;
	struct measure_side m = { 0 };
	ssh_key key = NULL;
	const char *v;
	static struct vt_optconf *oc;   /* lives as long as the process */
	char keypath[PATH_MAX], err[512];
	long port, fallback_s;
	int c, idx, created, rc = 2, lvl;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--run") == 0)
			return vt_probe_run_main(argc, argv);
	memset(&lc, 0, sizeof lc);
	cli = vt_conf_new();
	where = vt_conf_new();
	if (!cli || !where)
		return 1;
	if (vt_optconf_new("vantage-probe", VT_CONF_DIR "/probe.conf", opts, "",
			   argc, argv, &oc, err, sizeof err) < 0) {
		rc = vt_optconf_fail(oc, "%s", err);
		goto out;
	}
	while ((c = vt_optconf_next(oc, &idx)) != -1) {
		char name[64];

		switch (c) {
		case 0:
			snprintf(name, sizeof name, "%s", opts[idx].name);
			for (char *p = name; *p; p++)
				if (*p == '-')
					*p = '_';
			if (vt_conf_set(cli, name, optarg) < 0 ||
			    vt_conf_set(where, name, vt_optconf_at(oc)) < 0)
				goto out;
			break;
		case 'p':
			if (vt_conf_set(cli, "allow_private", "yes") < 0)
				goto out;
			break;
		case '1': lc.once = 1; break;
		case 'h': usage(stdout); rc = 0; goto out;
		default: usage(stderr); goto out;
		}
	}
	if (optind < argc) {
		usage(stderr);
		goto out;
	}
	lvl = vt_log_level_parse(vt_conf_get(cli, "log_level", "info"));
	if (lvl < 0) {
		fprintf(stderr, "%s: --log-level: '%s' is not err, warn, info "
			"or debug\n", vt_conf_get(where, "log_level", "vantage-probe"),
			vt_conf_get(cli, "log_level", ""));
		rc = vt_optconf_checking(oc) ? 1 : 2;
		goto out;
	}
	vt_log_init("vantage-probe", (enum vt_log_level)lvl);
	v = vt_conf_get(cli, "spool", NULL);
	lc.reg_host = vt_conf_get(cli, "reg_host", NULL);
	if (!v || !lc.reg_host || !vt_conf_get(cli, "reg_port", NULL) ||
	    !vt_conf_get(cli, "reg_hostkey", NULL)) {
		rc = vt_optconf_fail(oc, "--spool, --reg-host, --reg-port and "
				     "--reg-hostkey are required (see --help)");
		goto out;
	}
	if (conf_long(cli, "reg_port", 0, 1, 65535, &port) < 0 ||
	    conf_long(cli, "backoff_min_ms", 1000, 1, 3600000, &lc.backoff_min_ms) < 0 ||
	    conf_long(cli, "backoff_max_ms", 300000, 1, 86400000, &lc.backoff_max_ms) < 0 ||
	    conf_long(cli, "upload_poll_ms", 0, 0, 3600000, &lc.upload_poll_ms) < 0 ||
	    conf_long(cli, "upload_fallback", 600, 1, 86400, &fallback_s) < 0 ||
	    conf_long(cli, "rereg_after", 600, 1, 30 * 86400, &lc.rereg_after_s) < 0) {
		rc = vt_optconf_checking(oc) ? 1 : 2;
		goto out;
	}
	if (vt_optconf_checked(oc)) {
		rc = 0;
		goto out;
	}
	if (lc.upload_poll_ms > 0 && lc.upload_poll_ms < 100)
		lc.upload_poll_ms = 100;
	lc.reg_port = (int)port;
	if ((rc = vt_spool_open(v, &sp)) < 0) {
		fprintf(stderr, "vantage-probe: spool %s: %s\n", v, vt_strerror(rc));
		rc = 1;
		goto out;
	}
	rc = vt_sshc_read_pubkey(vt_conf_get(cli, "reg_hostkey", ""),
				 lc.reg_key_type, sizeof lc.reg_key_type,
				 lc.reg_key, sizeof lc.reg_key);
	if (rc < 0) {
		fprintf(stderr, "vantage-probe: --reg-hostkey %s: %s\n",
			vt_conf_get(cli, "reg_hostkey", ""), vt_strerror(rc));
		rc = 1;
		goto out;
	}
	v = vt_conf_get(cli, "key", NULL);
	if ((v && (size_t)snprintf(keypath, sizeof keypath, "%s", v) >=
		  sizeof keypath) ||
	    (!v && vt_spool_path(sp, "id_ed25519", keypath, sizeof keypath) < 0)) {
		fprintf(stderr, "vantage-probe: key path %.80s...: %s\n",
			v ? v : vt_spool_root(sp), vt_strerror(VT_ETOOBIG));
		rc = 1;
		goto out;
	}
	rc = vt_sshc_key_load_or_make(keypath, &key, &created);
	if (rc < 0) {
		fprintf(stderr, "vantage-probe: key %s: %s\n", keypath,
			vt_strerror(rc));
		rc = 1;
		goto out;
	}
	if (created) {
		printf("vantage-probe: new probe key %s.pub; register it with\n"
		       "  vantage probe add --pubkey %s.pub\n", keypath, keypath);
		fflush(stdout);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	main_argc = argc;
	main_argv = argv;
	signal(SIGHUP, lc.once ? SIG_IGN : on_signal);
	if ((rc = vt_link_new(&lc, key, sp, &stop_flag, &link)) < 0) {
		vt_err("link: %s", vt_strerror(rc));
		rc = 1;
		goto out;
	}
	if (lc.once) {
		/* what the measurements left in data/new goes too */
		if ((rc = vt_sched_flush_spool(sp)) < 0)
			vt_warn("cannot move data/new to data/out: %s",
				vt_strerror(rc));
		else if (rc > 0)
			vt_info("moved %d file(s) from data/new to data/out", rc);
	} else {
		v = vt_conf_get(cli, "allow_private", "no");
		if (measure_start(&m, sp, !strcmp(v, "yes"),
				  vt_conf_get(cli, "user", getuid() ? "root" : "nobody"),
				  vt_conf_get(cli, "spool", "."), fallback_s,
				  link) < 0) {
			rc = 1;
			goto out;
		}
	}
	rc = vt_link_run(link);
	if (rc < 0)
		vt_err("%s", vt_strerror(rc));
	rc = rc < 0 ? 1 : 0;
out:
	measure_stop(&m);
	vt_link_free(link);
	ssh_key_free(key);
	vt_spool_free(sp);
	vt_conf_free(cli);
	vt_conf_free(where);
	return rc;
}
