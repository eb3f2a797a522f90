/* cli_status.c - `vantage status`: the one screen an operator reads first.
 *
 * Everything comes from the database: the gateways table (each gateway's
 * heartbeat and KEEP sessions), the daemons table (every daemon's
 * heartbeat, migration 016), result_queue, measurements and the archive's
 * index.  It is gathered into one JSON document (--json prints it), from
 * which the text screen is drawn: what needs attention first (CRIT, then
 * WARN), then one section per part of the system. */
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/opt.h"
#include "common/pg.h"
#include "controller/cli/cli.h"
#include "storage/archive.h"
#include "storage/arcstate.h"

/* Thresholds (docs/operations.md, "What to watch"). */
#define QUEUE_WARN_S      60        /* oldest queued result */
#define QUEUE_CRIT_S      300
#define PASS_WARN_S       300       /* scheduler's last pass */
#define ARCHIVE_WARN_S    86400     /* a day past the window not archived */
#define ARCHIVE_CRIT_S    (3 * 86400)
#define GATEWAY_FULL_PCT  90
#define GATEWAY_LIVE_S    6         /* as the gateway's GW_LIVE_S */
#define QUEUE_COUNT_CAP   "10000000"

/* Exit statuses (monitoring-plugin convention; docs/operations.md). */
enum { STATUS_OK = 0, STATUS_WARN = 1, STATUS_CRIT = 2, STATUS_UNKNOWN = 3 };

struct st {
	PGconn *db;
	json_t *doc, *attention;
	char    err[512];
};

static void attend(struct st *s, const char *level, const char *what,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void attend(struct st *s, const char *level, const char *what,
		   const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_array_append_new(s->attention, json_pack("{s:s, s:s, s:s}", "level",
			      level, "what", what, "message", msg));
}

/* "3s", "4m10s", "2h5m", "3d4h" */
static const char *ago(double sec, char *buf, size_t len)
{
	long long v = sec < 0 ? 0 : (long long)sec;

	if (v < 60)
		snprintf(buf, len, "%llds", v);
	else if (v < 3600)
		snprintf(buf, len, "%lldm%02llds", v / 60, v % 60);
	else if (v < 86400)
		snprintf(buf, len, "%lldh%02lldm", v / 3600, v % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", v / 86400, v % 86400 / 3600);
	return buf;
}

static int query(struct st *s, PGresult **res, const char *sql)
{
	return vt_pg_exec(s->db, res, s->err, sizeof s->err, sql, 0, NULL);
}

static double num(PGresult *r, int row, int col)
{
	return atof(PQgetvalue(r, row, col));
}

/* Every daemon row of the last day (or not stopped), by kind. */
static int read_daemons(struct st *s)
{
	static const char *const kinds[] = { "gateway", "worker", "scheduler",
					     "api", "archiver", "probe" };
	json_t *by = json_object();
	PGresult *r = NULL;
	int rc;

	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		json_object_set_new(by, kinds[i], json_array());
	json_object_set_new(s->doc, "daemons", by);
	rc = query(s, &r,
		"SELECT kind, name, host, pid, extract(epoch FROM started)::bigint,"
		" extract(epoch FROM now() - last_seen),"
		" CASE WHEN stopped IS NOT NULL THEN 'stopped'"
		"  WHEN now() - last_seen > 3 * interval_s * interval '1 s'"
		"   + interval '10 s' THEN 'silent' ELSE 'running' END,"
		" extract(epoch FROM now() - started), COALESCE(metrics, ''),"
		" info::text, interval_s FROM daemons"
		" WHERE stopped IS NULL OR stopped > now() - interval '1 day'"
		" ORDER BY kind, started");
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		json_t *arr = json_object_get(by, PQgetvalue(r, i, 0));
		json_t *info = json_loads(PQgetvalue(r, i, 9), 0, NULL);

		if (!arr)
			continue;
		json_array_append_new(arr, json_pack(
			"{s:s, s:s, s:i, s:I, s:f, s:s, s:f, s:s, s:o, s:i}",
			"name", PQgetvalue(r, i, 1), "host", PQgetvalue(r, i, 2),
			"pid", atoi(PQgetvalue(r, i, 3)),
			"started", (json_int_t)atoll(PQgetvalue(r, i, 4)),
			"seen_ago_s", num(r, i, 5), "state", PQgetvalue(r, i, 6),
			"up_s", num(r, i, 7), "metrics", PQgetvalue(r, i, 8),
			"info", info ? info : json_object(),
			"interval_s", atoi(PQgetvalue(r, i, 10))));
	}
	PQclear(r);
	return rc;
}

/* The instances of kind in state "running"; warns of silent ones. */
static int running(struct st *s, const char *kind)
{
	json_t *arr = json_object_get(json_object_get(s->doc, "daemons"), kind);
	size_t i;
	json_t *d;
	int n = 0;
	char a[32];

	json_array_foreach(arr, i, d) {
		const char *state = json_string_value(json_object_get(d, "state"));

		if (!strcmp(state, "running"))
			n++;
		else if (!strcmp(state, "silent"))
			attend(s, "WARN", kind, "%s %s on %s (pid %d) silent for %s: "
			       "died or lost the database?", kind,
			       json_string_value(json_object_get(d, "name")),
			       json_string_value(json_object_get(d, "host")),
			       (int)json_integer_value(json_object_get(d, "pid")),
			       ago(json_real_value(json_object_get(d, "seen_ago_s")),
				   a, sizeof a));
	}
	return n;
}

static int read_gateways(struct st *s)
{
	json_t *arr = json_array(), *probes;
	PGresult *r = NULL;
	int rc, live = 0;

	json_object_set_new(s->doc, "gateways", arr);
	rc = query(s, &r,
		"SELECT name, ctrl_host || ':' || ctrl_port, sessions, max_sessions,"
		" extract(epoch FROM now() - heartbeat), extract(epoch FROM now() -"
		" started) FROM gateways ORDER BY name");
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		int alive = num(r, i, 4) <= GATEWAY_LIVE_S;
		int ses = atoi(PQgetvalue(r, i, 2)), max = atoi(PQgetvalue(r, i, 3));

		if (!alive && num(r, i, 4) > 86400)
			continue;   /* long gone: not shown */
		live += alive;
		json_array_append_new(arr, json_pack(
			"{s:s, s:s, s:i, s:i, s:f, s:f, s:b}",
			"name", PQgetvalue(r, i, 0), "ctrl", PQgetvalue(r, i, 1),
			"sessions", ses, "max_sessions", max,
			"heartbeat_ago_s", num(r, i, 4), "up_s", num(r, i, 5),
			"alive", alive));
		if (alive && max > 0 && ses * 100 >= max * GATEWAY_FULL_PCT)
			attend(s, "WARN", "gateway", "gateway %s holds %d of %d "
			       "sessions", PQgetvalue(r, i, 0), ses, max);
		else if (!alive)
			attend(s, "WARN", "gateway", "gateway %s: no heartbeat for "
			       "%.0f s (stopped or dead; its probes reconnect "
			       "elsewhere)", PQgetvalue(r, i, 0), num(r, i, 4));
	}
	PQclear(r);
	r = NULL;
	if (rc == 0)
		rc = query(s, &r, "SELECT (SELECT count(*) FROM probes),"
			   " (SELECT count(*) FROM probe_sessions WHERE connected)");
	if (rc == 0) {
		probes = json_pack("{s:I, s:I}", "registered",
				   (json_int_t)atoll(PQgetvalue(r, 0, 0)), "connected",
				   (json_int_t)atoll(PQgetvalue(r, 0, 1)));
		json_object_set_new(s->doc, "probes", probes);
		if (!live)
			attend(s, "CRIT", "gateway", "no gateway alive: probes cannot "
			       "connect or upload");
	}
	PQclear(r);
	return rc;
}

static int read_queue(struct st *s)
{
	PGresult *r = NULL;
	double depth, age;
	int rc, workers;
	char a[32];

	rc = query(s, &r, "SELECT (SELECT count(*) FROM (SELECT 1 FROM result_queue"
		   " LIMIT " QUEUE_COUNT_CAP ") q), COALESCE(extract(epoch FROM"
		   " now() - (SELECT received FROM result_queue ORDER BY id"
		   " LIMIT 1)), 0)");
	if (rc < 0)
		goto out;
	depth = num(r, 0, 0);
	age = num(r, 0, 1) > 0 ? num(r, 0, 1) : 0;
	json_object_set_new(s->doc, "queue", json_pack("{s:f, s:f}", "depth", depth,
			    "oldest_s", age));
	workers = running(s, "worker");
	if (!workers && depth > 0)
		attend(s, "CRIT", "worker", "no worker running: %.0f results "
		       "queued, oldest %s", depth, ago(age, a, sizeof a));
	else if (!workers)
		attend(s, "WARN", "worker", "no worker running: uploaded results "
		       "will wait in the queue");
	else if (age >= QUEUE_CRIT_S || age >= QUEUE_WARN_S)
		attend(s, age >= QUEUE_CRIT_S ? "CRIT" : "WARN", "queue",
		       "oldest queued result waits for %s (%.0f queued, %d "
		       "workers): workers fall behind", ago(age, a, sizeof a),
		       depth, workers);
out:
	PQclear(r);
	return rc;
}

static int read_scheduler(struct st *s)
{
	json_t *arr = json_object_get(json_object_get(s->doc, "daemons"),
				      "scheduler"), *d, *by = json_object();
	double last = 0, failed = 0, now = (double)time(NULL);
	PGresult *r = NULL;
	size_t i;
	int rc, n;
	char a[32];

	json_array_foreach(arr, i, d) {
		json_t *info = json_object_get(d, "info");
		double p = json_number_value(json_object_get(info, "last_pass")),
		       f = json_number_value(json_object_get(info, "last_failed_pass"));

		if (p > last)
			last = p;
		if (f > failed)
			failed = f;
	}
	rc = query(s, &r, "SELECT status, count(*) FROM measurements GROUP BY 1"
		   " ORDER BY 1");
	for (int k = 0; rc == 0 && k < PQntuples(r); k++)
		json_object_set_new(by, PQgetvalue(r, k, 0),
				    json_integer(atoll(PQgetvalue(r, k, 1))));
	json_object_set_new(s->doc, "scheduler", json_pack("{s:f, s:f, s:o}",
			    "last_pass", last, "last_failed_pass", failed,
			    "measurements_by_status", by));
	PQclear(r);
	n = running(s, "scheduler");
	if (!n)
		attend(s, "CRIT", "scheduler", "no scheduler running: new and "
		       "changed measurements are not scheduled");
	else if (last && now - last > PASS_WARN_S)
		attend(s, "WARN", "scheduler", "last scheduling pass %s ago",
		       ago(now - last, a, sizeof a));
	if (failed > last)
		attend(s, "WARN", "scheduler", "the last pass failed (%s ago): see "
		       "the scheduler's log", ago(now - failed, a, sizeof a));
	return rc;
}

static int read_archiver(struct st *s, int late_days)
{
	struct vt_arc_state as;
	json_t *arr = json_object_get(json_object_get(s->doc, "daemons"),
				      "archiver"), *lastrun = NULL;
	size_t i;
	json_t *d;
	int rc;
	char a[32];

	rc = vt_arc_state_read(s->db, (int64_t)time(NULL), late_days, &as, s->err,
			       sizeof s->err);
	if (rc < 0)
		return rc;
	json_array_foreach(arr, i, d)
		lastrun = d;   /* ordered by start: the newest last */
	json_object_set_new(s->doc, "archiver", json_pack(
		"{s:s?, s:s?, s:I, s:I, s:I, s:O?}",
		"last_day", as.last_day[0] ? as.last_day : NULL,
		"oldest_due", as.oldest_due[0] ? as.oldest_due : NULL,
		"overdue_s", (json_int_t)as.overdue_s,
		"objects", (json_int_t)as.objects, "bytes", (json_int_t)as.bytes,
		"last_run", lastrun));
	if (as.overdue_s >= ARCHIVE_WARN_S)
		attend(s, as.overdue_s >= ARCHIVE_CRIT_S ? "CRIT" : "WARN",
		       "archiver", "%s is past the %d-day late window and not "
		       "archived for %s: is the archiver's timer running?",
		       as.oldest_due, late_days, ago((double)as.overdue_s, a,
						     sizeof a));
	if (lastrun && json_is_integer(json_object_get(json_object_get(lastrun,
				"info"), "ok")) &&
	    !json_integer_value(json_object_get(json_object_get(lastrun, "info"),
						"ok")))
		attend(s, "WARN", "archiver", "the last archiver run failed: see "
		       "its log");
	return 0;
}

static int gather(struct st *s, int late_days)
{
	int rc;

	if ((rc = read_daemons(s)) < 0 || (rc = read_gateways(s)) < 0 ||
	    (rc = read_queue(s)) < 0 || (rc = read_scheduler(s)) < 0 ||
	    (rc = read_archiver(s, late_days)) < 0)
		return rc;
	(void)running(s, "archiver");   /* a run that died shows as silent */
	if (!running(s, "api"))
		attend(s, "WARN", "api", "no API instance running: researchers "
		       "cannot read results");
	return 0;
}

/* ---- the text screen ---------------------------------------------------- */

static const char *str(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "";
}

static double dbl(const json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* The instances of a kind, one line each (stopped ones left out unless
 * all is set). */
static void instances(const json_t *doc, const char *kind, int all)
{
	json_t *arr = json_object_get(json_object_get(doc, "daemons"), kind), *d;
	size_t i;
	char a[32], b[32];

	json_array_foreach(arr, i, d) {
		if (!all && !strcmp(str(d, "state"), "stopped"))
			continue;
		printf("  %-24s %s pid %-7d %-8s up %-8s seen %s ago%s%s\n",
		       str(d, "name"), str(d, "host"),
		       (int)json_integer_value(json_object_get(d, "pid")),
		       str(d, "state"), ago(dbl(d, "up_s"), a, sizeof a),
		       ago(dbl(d, "seen_ago_s"), b, sizeof b),
		       *str(d, "metrics") ? "  metrics " : "", str(d, "metrics"));
	}
}

static void print_text(const json_t *doc)
{
	const json_t *att = json_object_get(doc, "attention"), *e, *g;
	const json_t *q = json_object_get(doc, "queue"),
		     *sc = json_object_get(doc, "scheduler"),
		     *ar = json_object_get(doc, "archiver"),
		     *pr = json_object_get(doc, "probes");
	double now = (double)time(NULL);
	const char *key;
	json_t *v;
	size_t i;
	char a[32], b[32], when[32];
	time_t t = (time_t)now;

	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	printf("Vantage status at %s\n\n", when);
	printf("ATTENTION%s\n", json_array_size(att) ? "" : ": nothing");
	for (int pass = 0; pass < 2; pass++)
		json_array_foreach(att, i, e)
			if (!strcmp(str(e, "level"), pass ? "WARN" : "CRIT"))
				printf("  %-4s  %-9s %s\n", str(e, "level"),
				       str(e, "what"), str(e, "message"));

	printf("\nGATEWAYS   probes: %lld connected of %lld registered\n",
	       (long long)json_integer_value(json_object_get(pr, "connected")),
	       (long long)json_integer_value(json_object_get(pr, "registered")));
	json_array_foreach(json_object_get(doc, "gateways"), i, g)
		printf("  %-24s %-22s %s  %d/%d sessions  heartbeat %s ago  up %s\n",
		       str(g, "name"), str(g, "ctrl"),
		       json_is_true(json_object_get(g, "alive")) ? "alive" : "DOWN ",
		       (int)json_integer_value(json_object_get(g, "sessions")),
		       (int)json_integer_value(json_object_get(g, "max_sessions")),
		       ago(dbl(g, "heartbeat_ago_s"), a, sizeof a),
		       ago(dbl(g, "up_s"), b, sizeof b));

	printf("\nQUEUE      %.0f results queued, oldest %s\n", dbl(q, "depth"),
	       ago(dbl(q, "oldest_s"), a, sizeof a));
	printf("\nWORKERS\n");
	instances(doc, "worker", 0);

	printf("\nSCHEDULER  last pass %s", dbl(sc, "last_pass") > 0 ?
	       ago(now - dbl(sc, "last_pass"), a, sizeof a) : "never");
	printf("%s; measurements:", dbl(sc, "last_pass") > 0 ? " ago" : "");
	json_object_foreach(json_object_get(sc, "measurements_by_status"), key, v)
		printf(" %s=%lld", key, (long long)json_integer_value(v));
	printf("\n");
	instances(doc, "scheduler", 0);

	printf("\nARCHIVER   last day archived %s; %lld objects, %lld bytes; ",
	       *str(ar, "last_day") ? str(ar, "last_day") : "none",
	       (long long)json_integer_value(json_object_get(ar, "objects")),
	       (long long)json_integer_value(json_object_get(ar, "bytes")));
	if (*str(ar, "oldest_due"))
		printf("%s due since %s\n", str(ar, "oldest_due"),
		       ago(dbl(ar, "overdue_s"), a, sizeof a));
	else
		printf("nothing due\n");
	if (json_is_object(g = json_object_get(ar, "last_run")))
		printf("  last run %s ago on %s (%s)\n",
		       ago(now - (double)json_integer_value(json_object_get(g,
				"started")), a, sizeof a), str(g, "host"),
		       json_integer_value(json_object_get(json_object_get(g, "info"),
							  "ok")) ? "ok" : "failed");

	printf("\nAPI\n");
	instances(doc, "api", 0);
}

/* The exit status, as monitoring plugins give it (Nagios, Icinga,
 * Sensu): 0 nothing needs attention, 1 WARN entries only, 2 a CRIT
 * entry. */
static int worst(const json_t *attention)
{
	const json_t *e;
	size_t i;
	int rc = STATUS_OK;

	json_array_foreach(attention, i, e) {
		const char *l = json_string_value(json_object_get(e, "level"));

		if (l && !strcmp(l, "CRIT"))
			return STATUS_CRIT;
		if (l && !strcmp(l, "WARN"))
			rc = STATUS_WARN;
	}
	return rc;
}

int cli_status(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "late-days", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct st s = { 0 };
	int c, json = 0, late = VT_ARC_LATE_DAYS, rc = STATUS_UNKNOWN;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'l':
			if (vt_opt_int("--late-days", optarg, 0, 3650, &late, s.err,
				       sizeof s.err) < 0) {
				cli_error("status: %s", s.err);
				return STATUS_UNKNOWN;
			}
			break;
		default: return STATUS_UNKNOWN;
		}
	}
	if (optind != argc) {
		cli_error("status: no arguments wanted");
		return STATUS_UNKNOWN;
	}
	if (!(s.db = cli_db(ctx)))
		return STATUS_UNKNOWN;
	s.doc = json_object();
	s.attention = json_array();
	json_object_set_new(s.doc, "time", json_integer((json_int_t)time(NULL)));
	json_object_set(s.doc, "attention", s.attention);
	if (gather(&s, late) < 0) {
		cli_error("status: %s", s.err);
		goto out;
	}
	if (json) {
		json_dumpf(s.doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
	} else {
		print_text(s.doc);
	}
	fflush(stdout);
	rc = worst(s.attention);
out:
	json_decref(s.attention);
	json_decref(s.doc);
	PQfinish(s.db);
	return rc;
}
