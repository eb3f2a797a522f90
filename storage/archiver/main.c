/* vantage-archiver - archives every day past the late window into the
 * object store, verifies it and expires hot rows after the safety margin.
 * See docs/vantage-archiver.md. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/opt.h"
#include "common/optconf.h"
#include "common/pg.h"
#include "common/observe.h"
#include "storage/archiver/arcmetrics.h"
#include "storage/archive.h"
#include "storage/objstore.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: vantage-archiver [--db CONNINFO] [--store URL] [--day YYYY-MM-DD]\n"
"                        [--now YYYY-MM-DD[THH:MM:SSZ]|UNIX] [--dry-run]\n"
"                        [--late-days N] [--margin-days N] [--threads N]\n"
"                        [--log-level err|warn|info|debug] [--metrics-file PATH]\n\n"
"Archives each day older than the late window (14 days): one bzip2 object\n"
"per measurement-day (one per day for one-offs) in the store, indexed in\n"
"PostgreSQL, read back and checked; hot rows go after a further margin\n"
"(14 days).  Safe to rerun at any time.\n\n"
"  --db CONNINFO    libpq connection string (default $VANTAGE_DB)\n"
"  --store URL      file:///folder, s3://bucket/prefix (default\n"
"                   $VANTAGE_ARCHIVE)\n"
"  --day D          only this day\n"
"  --now T          act as if it were this time\n"
"  --dry-run        say what would be done, change nothing\n"
"  --metrics-file PATH  write this run's Prometheus metrics to PATH (a\n"
"                   .prom file for node_exporter's textfile collector),\n"
"                   replaced atomically at the end of each run\n"
	VT_OPTCONF_HELP("archiver"));
}

/* Tests stop the archiver at a named point: VANTAGE_ARCHIVER_CRASH_AT=
 * after-put|after-index|during-verify|during-expiry|after-expiry
 * (optionally ":N" to stop at the N-th time the point is reached). */
struct crash {
	char name[64];
	long left;
};

static void on_event(void *arg, const char *point, const char *msg)
{
	struct crash *c = arg;

	if (!strcmp(point, "info")) {
		vt_info("%s", msg);
		return;
	}
	vt_debug("%s: %s", point, msg);
	if (c->name[0] && !strcmp(c->name, point) && --c->left <= 0) {
		fprintf(stderr, "vantage-archiver: stopping at %s (%s) as asked\n",
			point, msg);
		_exit(137);
	}
}

static int parse_now(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	const char *end;
	char *e;
	long long v;

	errno = 0;
	v = strtoll(s, &e, 10);
	if (*s && !*e) {
		/* Seconds since the epoch, from 1970 to the year 9999. */
		if (errno || v < 0 || v > 253402300799LL)
			return -1;
		*out = v;
		return 0;
	}
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) &&
	    (!*end || !strcmp(end, "Z"))) {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	memset(&tm, 0, sizeof tm);
	if ((end = strptime(s, "%Y-%m-%d", &tm)) && !*end) {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "store", required_argument, NULL, 's' },
		{ "day", required_argument, NULL, 'D' },
		{ "now", required_argument, NULL, 'n' },
		{ "dry-run", no_argument, NULL, 'N' },
		{ "late-days", required_argument, NULL, 'l' },
		{ "margin-days", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "metrics-file", required_argument, NULL, 'M' },
		{ "log-level", required_argument, NULL, 'L' },
		VT_OPTCONF_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct vt_arc_opts o;
	struct vt_arc_stats stats;
	struct vt_objstore *st = NULL;
	struct crash crash = { "", 1 };
	const char *db = NULL, *store = getenv("VANTAGE_ARCHIVE"), *env;
	const char *mfile = NULL;
	struct vt_observe *ob = NULL;
	char err[1024];
	PGconn *c = NULL;
	int ch, r, level = VT_LOG_INFO, rc = 1;
	static struct vt_optconf *oc;   /* lives as long as the process */

	vt_arc_opts_init(&o);
	if (vt_optconf_new("vantage-archiver", VT_CONF_DIR "/archiver.conf",
			   opts, "h", argc, argv, &oc, err, sizeof err) < 0)
		return vt_optconf_fail(oc, "%s", err);
	while ((ch = vt_optconf_next(oc, NULL)) != -1) {
		int bad = 0;

		switch (ch) {
		case 'd':
			db = optarg;
			bad = vt_opt_value("--db", optarg, err, sizeof err);
			break;
		case 's': store = optarg; break;
		case 'D': o.day = optarg; break;
		case 'n':
			if (parse_now(optarg, &o.now) < 0)
				return vt_optconf_fail(oc, "bad --now '%s'", optarg);
			break;
		case 'N': o.dry_run = 1; break;
		case 'M':
			mfile = optarg;
			bad = vt_opt_value("--metrics-file", optarg, err, sizeof err);
			break;
		case 'l':
			bad = vt_opt_int("--late-days", optarg, 0, 3650,
					 &o.late_days, err, sizeof err);
			break;
		case 'm':
			bad = vt_opt_int("--margin-days", optarg, 0, 3650,
					 &o.margin_days, err, sizeof err);
			break;
		case 't':
			bad = vt_opt_int("--threads", optarg, 1, 16, &o.threads,
					 err, sizeof err);
			break;
		case 'L':
			if ((level = vt_log_level_parse(optarg)) < 0)
				return vt_optconf_fail(oc, "bad --log-level '%s'",
						       optarg);
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (bad)
			return vt_optconf_fail(oc, "%s", err);
	}
	if (optind != argc || o.late_days < 0 || o.margin_days < 0 ||
	    o.threads < 1 || o.threads > 16) {
		usage(stderr);
		return 2;
	}
	vt_log_init("vantage-archiver", level);
	if (!store || !*store)
		return vt_optconf_fail(oc, "no object store: give --store URL or "
				       "set VANTAGE_ARCHIVE");
	if ((env = getenv("VANTAGE_ARCHIVER_CRASH_AT")) && *env) {
		const char *colon = strchr(env, ':');

		snprintf(crash.name, sizeof crash.name, "%.*s",
			 colon ? (int)(colon - env) : (int)strlen(env), env);
		if (colon)
			crash.left = atol(colon + 1);
	}
	o.event = on_event;
	o.arg = &crash;
	if (!vt_conf_db(db))
		return vt_optconf_fail(oc, "no database: give --db CONNINFO or "
				       "set VANTAGE_DB");
	if (vt_optconf_checked(oc))
		return 0;
	if (vt_pg_connect(vt_conf_db(db), &c, err, sizeof err) < 0) {
		vt_err("database: %s", err);
		goto out;
	}
	if (vt_objstore_open(store, &st, err, sizeof err) < 0) {
		vt_err("store: %s", err);
		goto out;
	}
	if (!o.dry_run && vt_observe_start("archiver", NULL, NULL, vt_conf_db(db),
					   60, &ob, err, sizeof err) < 0)
		vt_warn("%s", err);
	memset(&stats, 0, sizeof stats);
	r = vt_archive_run(c, st, &o, &stats, err, sizeof err);
	arc_observe(ob ? ob->beat : NULL, mfile, c, &o, &stats, r);
	vt_info("%d day(s): %d object(s) written, %d verified, %d expired, "
		"%lld results archived (%lld -> %lld bytes), %lld hot rows "
		"expired, %d partition(s) dropped%s", stats.days,
		stats.objects_written, stats.objects_verified,
		stats.objects_expired, (long long)stats.results_archived,
		(long long)stats.raw_bytes, (long long)stats.stored_bytes,
		(long long)stats.rows_expired, stats.partitions_dropped,
		o.dry_run ? " (dry run)" : "");
	if (r < 0) {
		vt_err("%s (%s)", err, vt_strerror(r));
		goto out;
	}
	rc = 0;
out:
	vt_observe_stop(ob);
	vt_objstore_free(st);
	if (c)
		PQfinish(c);
	return rc;
}
