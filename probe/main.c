/* vantage-probe - the probe: SSH link to the controller, command service,
 * result upload (probe/link/), and the measurement engine (--run). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/log.h"
#include "probe/link/link.h"
#include "probe/link/sshc.h"
#include "probe/measure/run.h"
#include "probe/spool.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
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
"commands (crontabs go to DIR/crons/) and uploads DIR/data/out.\n"
"\n"
"  --spool DIR          spool directory (crons/, data/new/, data/out/, status/)\n"
"  --reg-host HOST      registration server\n"
"  --reg-port N         its port\n"
"  --reg-hostkey FILE   its public host key (an OpenSSH .pub line), pinned\n"
"  --key FILE           probe key (default DIR/id_ed25519; an ed25519 key is\n"
"                       made on first start, with FILE.pub beside it)\n"
"  --config FILE        'key = value' file with the same keys as the options\n"
"                       (spool, reg_host, reg_port, reg_hostkey, key, log_level,\n"
"                       backoff_min_ms, backoff_max_ms, upload_poll_ms; '-'\n"
"                       or '_' alike)\n"
"  --log-level L        err, warn, info (default) or debug\n"
"  --once               register, connect, upload what is spooled, and exit\n"
"  --backoff-min-ms N   first reconnect delay cap (default 1000)\n"
"  --backoff-max-ms N   largest reconnect delay cap (default 300000)\n"
"  --upload-poll-ms N   how often data/out is looked at (default 3000)\n"
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
	{ "config",         required_argument, NULL, 'c' },
	{ "once",           no_argument,       NULL, '1' },
	{ "help",           no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int conf_long(const struct vt_conf *c, const char *key, long def,
		     long min, long max, long *out)
{
	if (vt_conf_int(c, key, def, min, max, out) < 0) {
		fprintf(stderr, "vantage-probe: %s: not a number in %ld..%ld\n",
			key, min, max);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vt_link_conf lc;
	struct vt_conf *cli = NULL, *file = NULL;
	struct vt_spool *sp = NULL;
	struct vt_link *link = NULL;
	ssh_key key = NULL;
	const char *config = NULL, *v;
	char keypath[PATH_MAX], err[512];
	long port;
	int c, idx, created, rc = 2, lvl;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--run") == 0)
			return vt_probe_run_main(argc, argv);
	memset(&lc, 0, sizeof lc);
	cli = vt_conf_new();
	if (!cli)
		return 1;
	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		char name[64];

		switch (c) {
		case 0:
			snprintf(name, sizeof name, "%s", opts[idx].name);
			for (char *p = name; *p; p++)
				if (*p == '-')
					*p = '_';
			if (vt_conf_set(cli, name, optarg) < 0)
				goto out;
			break;
		case 'c': config = optarg; break;
		case '1': lc.once = 1; break;
		case 'h': usage(stdout); rc = 0; goto out;
		default: usage(stderr); goto out;
		}
	}
	if (optind < argc) {
		usage(stderr);
		goto out;
	}
	if (config) {
		if (vt_conf_load(config, &file, err, sizeof err) < 0) {
			fprintf(stderr, "vantage-probe: %s\n", err);
			goto out;
		}
		/* the command line overrides the file */
		for (size_t i = 0; opts[i].name; i++) {
			char name[64];

			snprintf(name, sizeof name, "%s", opts[i].name);
			for (char *p = name; *p; p++)
				if (*p == '-')
					*p = '_';
			v = vt_conf_get(file, name, NULL);
			if (!v)     /* "reg-host = ..." works too */
				v = vt_conf_get(file, opts[i].name, NULL);
			if (v && !vt_conf_get(cli, name, NULL) &&
			    vt_conf_set(cli, name, v) < 0)
				goto out;
		}
	}
	lvl = vt_log_level_parse(vt_conf_get(cli, "log_level", "info"));
	if (lvl < 0) {
		fprintf(stderr, "vantage-probe: bad --log-level\n");
		goto out;
	}
	vt_log_init("vantage-probe", (enum vt_log_level)lvl);
	v = vt_conf_get(cli, "spool", NULL);
	lc.reg_host = vt_conf_get(cli, "reg_host", NULL);
	if (!v || !lc.reg_host || !vt_conf_get(cli, "reg_port", NULL) ||
	    !vt_conf_get(cli, "reg_hostkey", NULL)) {
		fprintf(stderr, "vantage-probe: --spool, --reg-host, --reg-port and "
			"--reg-hostkey are required (see --help)\n");
		goto out;
	}
	if (conf_long(cli, "reg_port", 0, 1, 65535, &port) < 0 ||
	    conf_long(cli, "backoff_min_ms", 1000, 1, 3600000, &lc.backoff_min_ms) < 0 ||
	    conf_long(cli, "backoff_max_ms", 300000, 1, 86400000, &lc.backoff_max_ms) < 0 ||
	    conf_long(cli, "upload_poll_ms", 3000, 100, 3600000, &lc.upload_poll_ms) < 0)
		goto out;
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
	if (v)
		snprintf(keypath, sizeof keypath, "%s", v);
	else if (vt_spool_path(sp, "id_ed25519", keypath, sizeof keypath) < 0)
		goto out;
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
	if ((rc = vt_link_new(&lc, key, sp, &stop_flag, &link)) < 0) {
		vt_err("link: %s", vt_strerror(rc));
		rc = 1;
		goto out;
	}
	rc = vt_link_run(link);
	if (rc < 0)
		vt_err("%s", vt_strerror(rc));
	rc = rc < 0 ? 1 : 0;
out:
	vt_link_free(link);
	ssh_key_free(key);
	vt_spool_free(sp);
	vt_conf_free(cli);
	vt_conf_free(file);
	return rc;
}
