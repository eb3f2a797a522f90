/* vantage-scheduler - turns measurements into per-probe crontab lines. */
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/opt.h"
#include "common/optconf.h"
#include "common/pg.h"
#include "common/sigpoll.h"
#include "common/vtime.h"
#include "controller/scheduler/crontab.h"
#include "controller/scheduler/retain.h"
#include "controller/scheduler/sched.h"
#include "controller/scheduler/smetrics.h"

static volatile sig_atomic_t stopping, reloading;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reloading = 1;
	else
		stopping = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vantage-scheduler [--db CONNINFO] [--once] [--interval S]\n"
		"                         [--works-every S] [--push-history-days N]\n"
		"                         [--metrics ADDR:PORT]\n"
		"                         [--log-level err|warn|info|debug]\n"
		"       vantage-scheduler [--db CONNINFO] --batch PROBE_ID [--ack]\n"
		"                         [--now UNIX]\n\n"
		"Chooses probes for measurements (probe specs, tags, participation\n"
		"requests, anchor meshes), moves measurement status (Specified,\n"
		"Scheduled, Ongoing, Stopped, No suitable probes) and keeps probes'\n"
		"system tags true.  Each probe whose crontab changes is NOTIFYed on\n"
		"channel vantage_crontab for the gateway to push.  A pass runs every\n"
		"--interval seconds and whenever vantage_sched is NOTIFYed.\n\n"
		"  --db CONNINFO   libpq connection string (default: $VANTAGE_DB)\n"
		"  --once          run one pass, print what it did, exit\n"
		"  --interval S    seconds between passes (default 10)\n"
		"  --works-every S seconds between looks at `latest` for the\n"
		"                  families probes achieve results over (system-\n"
		"                  ipv4-works, -ipv6-works; default 300; --once: always)\n"
		"  --push-history-days N  keep the history of command pushes\n"
		"                  (probe_pushes: ended pushes, not each probe's\n"
		"                  newest) N days; older goes every 10 minutes\n"
		"                  (default 30; --once: in its pass)\n"
		"  --batch ID      print the command batch the gateway would push to\n"
		"                  probe ID (CRONTAB/CRONLINE/ONEOFF lines) and exit\n"
		"  --ack           with --batch: record its one-offs as delivered\n"
		"  --now UNIX      with --batch or --once: the time to use\n"
		"  --metrics ADDR:PORT  serve Prometheus metrics on GET /metrics\n"
		"                  there (docs/operations.md, \"What to watch\")\n"
		VT_OPTCONF_HELP("scheduler"));
}

static int print_batch(PGconn *db, long probe, long long now, int ack)
{
	struct vt_dlg_batch *b = vt_dlg_batch_new();
	struct vt_buf out;
	char err[512];
	int rc, n = 0;

	vt_buf_init(&out, 0);
	if (!b) {
		vt_err("out of memory");
		return 1;
	}
	rc = vt_sched_probe_batch(db, probe, now, b, err, sizeof err);
	if (rc == 0)
		rc = vt_sched_oneoffs_add(db, probe, ack ? VT_SCHED_ACK : 0,
					  VT_SCHED_ONEOFFS_MAX, b, &n, err,
					  sizeof err);
	if (rc == 0)
		rc = vt_dlg_batch_format(b, &out);
	if (rc < 0) {
		vt_err("batch: %s", rc == VT_EDB ? err : vt_strerror(rc));
		goto out;
	}
	fwrite(out.data, 1, out.len, stdout);
out:
	vt_buf_free(&out);
	vt_dlg_batch_free(b);
	return rc < 0 ? 1 : 0;
}

/* Waits for a NOTIFY on vantage_sched, a signal, or ms milliseconds. */
static void wait_for_work(PGconn *db, int ms)
{
	struct pollfd pfd = { .fd = PQsocket(db), .events = POLLIN };
	PGnotify *n;

	if (pfd.fd >= 0 && vt_sigpoll(&pfd, 1, ms, &stopping, &reloading) > 0)
		PQconsumeInput(db);
	while ((n = PQnotifies(db)))
		PQfreemem(n);
}

static void log_stats(const struct vt_sched_stats *s, int always)
{
	if (!always && !s->tags_changed && !s->assigned && !s->unassigned &&
	    !s->scheduled && !s->no_probes && !s->started && !s->stopped &&
	    !s->mesh_created && !s->works && !s->addrs)
		return;
	vt_info("pass: %ld tags changed, %ld assigned, %ld unassigned, "
		"%ld scheduled, %ld no suitable probes, %ld started, %ld stopped, "
		"%ld mesh created, %ld probes with newer successful results, "
		"%ld probes with a new reported address",
		s->tags_changed, s->assigned, s->unassigned, s->scheduled,
		s->no_probes, s->started, s->stopped, s->mesh_created, s->works,
		s->addrs);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "once", no_argument, NULL, '1' },
		{ "interval", required_argument, NULL, 'i' },
		{ "works-every", required_argument, NULL, 'w' },
		{ "push-history-days", required_argument, NULL, 'P' },
		{ "batch", required_argument, NULL, 'b' },
		{ "ack", no_argument, NULL, 'a' },
		{ "now", required_argument, NULL, 'n' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "log-level", required_argument, NULL, 'l' },
		VT_OPTCONF_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbarg = NULL, *conninfo, *metrics = NULL;
	struct vt_observe *ob = NULL;
	struct sc_metrics *sm = NULL;
	int c, once = 0, ack = 0, level = VT_LOG_INFO, interval = 10, rc = 0;
	int works_every = 300, failed = 0, push_days = VT_PUSH_HISTORY_DAYS;
	int64_t works_at = 0, pruned_at = 0;
	long batch = 0;
	long long now = 0;
	PGconn *db = NULL;
	char err[512];
	static struct vt_optconf *oc;   /* lives as long as the process */

	if (vt_optconf_new("vantage-scheduler", VT_CONF_DIR "/scheduler.conf",
			   opts, "h", argc, argv, &oc, err, sizeof err) < 0)
		return vt_optconf_fail(oc, "%s", err);
	while ((c = vt_optconf_next(oc, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 'd':
			dbarg = optarg;
			bad = vt_opt_value("--db", optarg, err, sizeof err);
			break;
		case '1': once = 1; break;
		case 'i':
			bad = vt_opt_int("--interval", optarg, 1, 86400, &interval,
					 err, sizeof err);
			break;
		case 'w':
			bad = vt_opt_int("--works-every", optarg, 1, 86400 * 7,
					 &works_every, err, sizeof err);
			break;
		case 'P':
			bad = vt_opt_int("--push-history-days", optarg, 1, 3650,
					 &push_days, err, sizeof err);
			break;
		case 'b':
			bad = vt_opt_long("--batch", optarg, 1, 2147483647L, &batch,
					  err, sizeof err);
			break;
		case 'a': ack = 1; break;
		case 'M':
			metrics = optarg;
			bad = vt_opt_value("--metrics", optarg, err, sizeof err);
			break;
		case 'n':
			bad = vt_opt_num("--now", optarg, 1, 253402300799LL, &now,
					 err, sizeof err);
			break;
		case 'l':
			if ((level = vt_log_level_parse(optarg)) < 0)
				return vt_optconf_fail(oc, "bad --log-level");
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (bad)
			return vt_optconf_fail(oc, "%s", err);
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	vt_log_init("vantage-scheduler", (enum vt_log_level)level);
	if (!(conninfo = vt_conf_db(dbarg)))
		return vt_optconf_fail(oc, "no database: give --db CONNINFO or "
				       "set VANTAGE_DB");
	if (vt_optconf_checked(oc))
		return 0;
	if (batch > 0) {
		if (vt_pg_connect(conninfo, &db, err, sizeof err) < 0) {
			vt_err("database: %s", err);
			return 1;
		}
		rc = print_batch(db, batch, now ? now : vt_now_ms() / 1000, ack);
		PQfinish(db);
		return rc;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (vt_observe_start("scheduler", NULL, metrics, once ? NULL : conninfo,
			     interval < 10 ? interval : 10, &ob, err, sizeof err) < 0 ||
	    sc_metrics_new(ob, &sm) < 0) {
		vt_err("%s", err);
		vt_observe_stop(ob);
		return 1;
	}
	if (!once)
		vt_info("scheduling every %d s and on NOTIFY vantage_sched", interval);
	while (!stopping) {
		struct vt_sched_stats st = { 0 };
		int64_t t0;

		if (reloading) {   /* SIGHUP: the log level only */
			static const char *const keys[] = { "log-level", NULL };

			reloading = 0;
			if (vt_optconf_reread("vantage-scheduler", VT_CONF_DIR
					      "/scheduler.conf", opts, "h", keys,
					      argc, argv, NULL, NULL, err,
					      sizeof err) < 0)
				vt_err("reload refused, nothing changed: %s", err);
			else
				vt_info("reloaded %s", err);
		}
		if (!db || vt_pg_broken(db)) {
			PQfinish(db);
			db = NULL;
			if (vt_pg_connect(conninfo, &db, err, sizeof err) < 0 ||
			    vt_pg_cmd(db, "LISTEN vantage_sched", err, sizeof err) < 0) {
				vt_err("database: %s", err);
				if (once) {
					failed = 1;
					break;
				}
				PQfinish(db);
				db = NULL;
				sleep(2);
				continue;
			}
		}
		t0 = vt_mono_ms();
		if (once || !works_at || t0 - works_at >= works_every * 1000LL) {
			works_at = t0;
			rc = vt_sched_works(db, now && once ? now : vt_now_ms() / 1000,
					    &st, err, sizeof err);
			if (rc < 0) {
				vt_err("works: %s", rc == VT_EDB ? err : vt_strerror(rc));
				failed = 1;
			}
		}
		if (once || !pruned_at ||
		    t0 - pruned_at >= VT_PUSH_PRUNE_EVERY_S * 1000LL) {
			long gone = 0;

			pruned_at = t0;
			/* a large backlog goes over several runs */
			rc = vt_sched_prune_pushes(db, now && once ? now :
						   vt_now_ms() / 1000,
						   push_days * 86400LL,
						   100L * VT_PUSH_PRUNE_BATCH, &gone,
						   err, sizeof err);
			if (rc < 0) {
				vt_err("push history: %s", err);
				failed = 1;
			} else if (gone || once) {
				vt_info("push history: %ld push(es) older than %d "
					"days deleted", gone, push_days);
			}
		}
		rc = vt_sched_pass(db, now && once ? now : vt_now_ms() / 1000, &st,
				   err, sizeof err);
		if (rc < 0 && rc != VT_EAGAIN)
			failed = 1;
		sc_metrics_pass(sm, db, rc, &st, (vt_mono_ms() - t0) / 1000.0);
		if (rc == VT_EAGAIN) {
			vt_debug("another scheduler is running a pass");
		} else if (rc < 0) {
			vt_err("pass: %s", rc == VT_EDB ? err : vt_strerror(rc));
		} else {
			log_stats(&st, once);
			vt_debug("pass took %lld ms", (long long)(vt_mono_ms() - t0));
		}
		if (once)
			break;
		failed = 0;
		wait_for_work(db, interval * 1000);
	}
	PQfinish(db);
	sc_metrics_free(sm);
	vt_observe_stop(ob);
	/* --once: the pass (and its look at `latest`) must have run */
	return once && failed ? 1 : 0;
}
