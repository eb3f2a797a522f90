/* vantage-worker - moves results from the queue into storage. */
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/opt.h"
#include "common/optconf.h"
#include "common/pg.h"
#include "common/sigpoll.h"
#include "common/vtime.h"
#include "controller/worker/seat.h"
#include "controller/worker/sqlerr.h"
#include "controller/worker/wake.h"
#include "controller/worker/wkpipe.h"
#include "controller/worker/wmetrics.h"
#include "controller/worker/worker.h"

/* poked: a SIGHUP or SIGUSR1 came since the main loop last looked at
 * reloading and stats_due; the idle waits end on it (vt_sigpoll), so
 * that neither waits for the next NOTIFY or --poll-ms. */
static volatile sig_atomic_t stopping, reloading, stats_due, poked;

/* Failed batches in a row: --once gives up after ONCE_TRIES of them (the
 * waits between them, 1 + 2 + 4 + 8 s, cover a restart of the database
 * or a lock held a while), a worker that stays keeps trying, waiting
 * 1, 2, 4, 8, 16 s, then RETRY_MAX_S.  An error that cannot heal (an
 * undefined object) ends --once at its first try. */
#define ONCE_TRIES  5
#define RETRY_MAX_S 30

/* The wait after the nth failure in a row: 1, 2, 4, 8, 16, then
 * RETRY_MAX_S. */
static int retry_wait_s(int n)
{
	return n < 6 ? 1 << (n - 1) : RETRY_MAX_S;
}

#define MIGRATE_HINT "the database lacks what the worker needs: vantage db migrate?"

/* Logs the failure of what (a batch, the connection) with err, the
 * fails-th in a row: retried in wait_s seconds, or given up (wait_s < 0).
 * An error that lasts (wk_pg_err_lasting) is logged as an error with what
 * to do about it; one that may heal as a warning while it is retried. */
static void failed_log(const char *what, const char *err, int fails,
		       int lasting, int wait_s)
{
	const char *tries = fails == 1 ? "try" : "tries";

	if (wait_s < 0)
		vt_err("%s: %s; giving up after %d %s%s", what, err, fails,
		       tries, lasting ? " (" MIGRATE_HINT ")" :
		       fails > 1 ? " in a row" : "");
	else
		vt_log(lasting ? VT_LOG_ERR : VT_LOG_WARN,
		       "%s: %s; retrying in %d s (try %d%s)", what, err, wait_s,
		       fails, lasting ? "; " MIGRATE_HINT : "");
}

/* (Re)opens *c on the database --db (db_arg) or the configuration names;
 * VT_OK, or VT_EDB with the reason in err.  (The queue's NOTIFY comes on
 * the channel of the worker's wake slot, wake.h.) */
static int db_open(const char *db_arg, PGconn **c, char *err, size_t errlen)
{
	PQfinish(*c);
	*c = NULL;
	if (vt_pg_connect(vt_conf_db(db_arg), c, err, errlen) < 0)
		return VT_EDB;
	/* Long results (traceroutes) are compressed on insert, twice
	 * (results, latest): lz4 costs a fraction of pglz's CPU.  A server
	 * built without it keeps pglz. */
	vt_pg_try(*c, "SET default_toast_compression = lz4");
	return VT_OK;
}

/* 1 when result_queue holds no row (a failed look counts as not empty:
 * the next step finds the error). */
static int queue_empty(PGconn *db)
{
	PGresult *res = NULL;
	char err[256];
	int empty;

	if (vt_pg_exec(db, &res, err, sizeof err,
		       "SELECT NOT EXISTS (SELECT 1 FROM result_queue)", 0,
		       NULL) < 0)
		return 0;
	empty = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return empty;
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reloading = poked = 1;
	else if (sig == SIGUSR1)
		stats_due = poked = 1;
	else
		stopping = 1;
}

/* The --stats line: st so far, the waits for a seat, and the process's
 * CPU. */
static void stats_print(const struct vt_worker_stats *st,
			const struct wk_seat *seat)
{
	struct rusage ru = { 0 };
	char line[1024];

	getrusage(RUSAGE_SELF, &ru);
	vt_worker_stats_format(st, line, sizeof line);
	printf("vantage-worker stats: %s; seat %lld, seats %ld, yields %ld;"
	       " cpu %lld\n", line, (long long)seat->waited_ms, seat->taken,
	       seat->given,
	       (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000);
	fflush(stdout);
}

/* What a SIGHUP re-reads (besides log-level): a fresh copy, applied
 * only when the whole file is good. */
struct reload {
	int batch, poll_ms;
};

static int reload_check(void *arg, const char *key, const char *val,
			char *why, size_t len)
{
	struct reload *r = arg;

	if (!strcmp(key, "batch"))
		return vt_opt_int("--batch", val, 1, 100000, &r->batch, why, len);
	return vt_opt_int("--poll-ms", val, 1, 86400000, &r->poll_ms, why, len);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vantage-worker [--db CONNINFO] [--batch N] [--batch-bytes N]\n"
		"                      [--active N] [--seat-ms MS] [--pipeline 0|1]\n"
		"                      [--poll-ms MS]\n"
		"                      [--once] [--stats]\n"
		"                      [--metrics ADDR:PORT]\n"
		"                      [--log-level err|warn|info|debug]\n\n"
		"Claims batches of uploaded results from result_queue (one claim\n"
		"at a time, so several workers may run), enriches them, stores them\n"
		"in results and latest, and keeps what cannot be accepted in rejected\n"
		"with the reason.  The same result uploaded twice is stored once.\n"
		"A probe's own status lines (uptime, interface addresses) go to\n"
		"probe_status.  Woken by NOTIFY vantage_queue_SLOT, which a queue\n"
		"insert sends to one waiting worker.\n\n"
		"  --db CONNINFO     libpq connection string (default: $VANTAGE_DB)\n"
		"  --batch N         queue rows per transaction (default 1000)\n"
		"  --batch-bytes N   and bytes of their lines (default 67108864)\n"
		"  --active N        at most N workers of the database work at once\n"
		"                    (each holds a seat; the others stand in line)\n"
		"                    and at most N have their backend work (claim,\n"
		"                    store) at once (default: the cores of this\n"
		"                    machine; 0: no limit)\n"
		"  --seat-ms MS      give the seat up after holding it MS when\n"
		"                    another worker stands in line (default 30000)\n"
		"  --pipeline 0|1    1 (default): claim, parse and enrich the next\n"
		"                    batch on a second connection while a thread\n"
		"                    stores the previous one (each batch still one\n"
		"                    transaction), on a spare turn only (one free\n"
		"                    and no worker waiting; else after the store);\n"
		"                    0: one batch at a time\n"
		"  --poll-ms MS      look at the queue without a NOTIFY every MS\n"
		"                    milliseconds (default 1000)\n"
		"  --once            drain the queue, then exit; in line for a seat,\n"
		"                    exit once the queue is empty (status 1 after\n"
		"                    five failed batches in a row, or one that\n"
		"                    cannot heal: a missing table or sequence)\n"
		"  --stats           at exit, print on stdout the batches taken and\n"
		"                    where the time went (turn, sturn, claim, parse,\n"
		"                    lookup, enrich, results, latest, other, commit;\n"
		"                    the short claims, the claims from the queue's\n"
		"                    start, the wait for the previous batch's store\n"
		"                    and the batches claimed during one (pipe,\n"
		"                    overlap), the claims after one for want of a\n"
		"                    spare turn (serial), and the worker's own CPU\n"
		"                    ms); with --stats, SIGUSR1 prints the line so\n"
		"                    far at once\n"
		"  --metrics ADDR:PORT  serve Prometheus metrics on GET /metrics\n"
		"                    there (docs/operations.md, \"What to watch\")\n"
		VT_OPTCONF_HELP("worker"));
}

/* Waits for a NOTIFY on the queue channel, a signal, or poll_ms.  A
 * NOTIFY that came while the last (empty) batch ran is already in libpq's
 * hands: it ends the wait at once. */
static void wait_for_work(PGconn *db, int poll_ms)
{
	struct pollfd pfd = { .fd = PQsocket(db), .events = POLLIN };
	PGnotify *n;
	int woken = 0;

	PQconsumeInput(db);
	while ((n = PQnotifies(db))) {
		PQfreemem(n);
		woken = 1;
	}
	if (!woken && pfd.fd >= 0 &&
	    vt_sigpoll(&pfd, 1, poll_ms, &stopping, &poked) > 0)
		PQconsumeInput(db);
	while ((n = PQnotifies(db)))
		PQfreemem(n);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "batch", required_argument, NULL, 'b' },
		{ "batch-bytes", required_argument, NULL, 'B' },
		{ "active", required_argument, NULL, 'a' },
		{ "seat-ms", required_argument, NULL, 'S' },
		{ "pipeline", required_argument, NULL, 'P' },
		{ "poll-ms", required_argument, NULL, 'p' },
		{ "once", no_argument, NULL, '1' },
		{ "stats", no_argument, NULL, 's' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "log-level", required_argument, NULL, 'l' },
		VT_OPTCONF_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct vt_worker_opts o;
	struct vt_worker_stats st = { 0 }, last = { 0 };
	struct vt_worker_cursor cur = { 0 };
	const char *db_arg = NULL, *metrics = NULL;
	struct vt_observe *ob = NULL;
	struct wk_metrics *wm = NULL;
	int slot = -1, held = 0, fails = 0, rc = 0;
	int once = 0, stats = 0, level = VT_LOG_INFO, c, poll_ms = 1000;
	int pipeline = 1, seat_ms = WK_SEAT_HOLD_MS;
	struct wk_seat seat;
	int64_t last_log = vt_mono_ms();
	PGconn *db = NULL, *db2 = NULL;
	struct wk_pipe *pipe = NULL;
	char err[1024];
	static struct vt_optconf *oc;   /* lives as long as the process */

	vt_worker_opts_default(&o);
	if (vt_optconf_new("vantage-worker", VT_CONF_DIR "/worker.conf", opts,
			   "h", argc, argv, &oc, err, sizeof err) < 0)
		return vt_optconf_fail(oc, "%s", err);
	while ((c = vt_optconf_next(oc, NULL)) != -1) {
		switch (c) {
		case 'd': db_arg = optarg; break;
		case 'b':
			if (vt_opt_int("--batch", optarg, 1, 100000, &o.batch,
				       err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			break;
		case 'B':
			if (vt_opt_long("--batch-bytes", optarg, 1, LONG_MAX,
					&o.batch_bytes, err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			break;
		case 'a':
			if (vt_opt_int("--active", optarg, 0, 1000, &o.active,
				       err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			break;
		case 'S':
			if (vt_opt_int("--seat-ms", optarg, 1, 86400000,
				       &seat_ms, err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			break;
		case 'P':
			if (vt_opt_int("--pipeline", optarg, 0, 1, &pipeline,
				       err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			break;
		case 'p':
			if (vt_opt_int("--poll-ms", optarg, 1, 86400000, &poll_ms,
				       err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			break;
		case '1': once = 1; break;
		case 's': stats = 1; break;
		case 'M':
			if (vt_opt_value("--metrics", optarg, err, sizeof err) < 0)
				return vt_optconf_fail(oc, "%s", err);
			metrics = optarg;
			break;
		case 'l':
			if ((level = vt_log_level_parse(optarg)) < 0) {
				return vt_optconf_fail(oc, "bad --log-level");
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	vt_log_init("vantage-worker", (enum vt_log_level)level);
	if (!vt_conf_db(db_arg))
		return vt_optconf_fail(oc, "no database: use --db or VANTAGE_DB");
	if (vt_optconf_checked(oc))
		return 0;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	if (stats)
		signal(SIGUSR1, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (vt_observe_start("worker", NULL, metrics, once ? NULL :
			     vt_conf_db(db_arg), 5, &ob, err, sizeof err) < 0 ||
	    wk_metrics_new(ob, &wm) < 0) {
		vt_err("%s", err);
		vt_observe_stop(ob);
		return 1;
	}
	if (wk_pipe_new(&o, pipeline, &pipe) < 0) {
		vt_err("cannot start the store thread");
		vt_observe_stop(ob);
		return 1;
	}
	wk_seat_init(&seat, o.active, seat_ms);
	if (o.active)
		vt_info("started (batch %d, %d seats)", o.batch, o.active);
	else
		vt_info("started (batch %d, no seats or turns: --active 0)",
			o.batch);
	while (!stopping) {
		PGconn *dbs[2];
		int64_t t0;
		int r, got = 0, shortc = 0, yield;
		const char *what;
		long committed = st.batches;

		poked = 0;
		if (stats_due) {
			/* what the stored batches took so far; one in the
			 * store thread's hands counts once it is stored */
			stats_due = 0;
			stats_print(&st, &seat);
		}
		if (reloading) {
			static const char *const keys[] = { "log-level", "batch",
							    "poll-ms", NULL };
			struct reload fresh = { 1000, 1000 };

			reloading = 0;
			if (vt_optconf_reread("vantage-worker", VT_CONF_DIR
					      "/worker.conf", opts, "h", keys,
					      argc, argv, reload_check, &fresh,
					      err, sizeof err) < 0) {
				vt_err("reload refused, nothing changed: %s", err);
			} else {
				o.batch = fresh.batch;
				poll_ms = fresh.poll_ms;
				vt_info("reloaded %s, batch %d, poll-ms %d", err,
					o.batch, poll_ms);
			}
		}
		/* the connections are looked at only while no batch is in
		 * flight: one may be in the store thread's hands */
		r = VT_OK;
		if (!wk_pipe_busy(pipe) && vt_pg_broken(db) &&
		    (r = db_open(db_arg, &db, err, sizeof err)) == VT_OK) {
			held = 0;
			wk_seat_lost(&seat);
			if (!once && (slot = wk_wake_slot(db, err, sizeof err)) < 0)
				vt_warn("no wake slot (%s): polling every %d ms",
					err, poll_ms);
			vt_info("connected to the database");
		}
		/* the second connection, for every other batch */
		if (r == VT_OK && pipeline && !wk_pipe_busy(pipe) &&
		    vt_pg_broken(db2))
			r = db_open(db_arg, &db2, err, sizeof err);
		if (r < 0) {
			/* --once: the first connection failing has no run
			 * to finish; one lost in a run (no batch done since:
			 * fails > 0, a restart of the database) is one of
			 * its tries, waited for as ONCE_TRIES says */
			if (once && (!fails || fails >= ONCE_TRIES)) {
				failed_log("database", err, fails + 1, 0, -1);
				rc = 1;
				break;
			}
			if (once) {
				failed_log("database", err, fails + 1, 0,
					   retry_wait_s(fails));
				vt_sigpoll(NULL, 0, retry_wait_s(fails++) * 1000,
					   &stopping, &reloading);
				continue;
			}
			vt_warn("database: %s; retrying in 1 s", err);
			sleep(1);
			continue;
		}
		/* A seat first (seat.h): standing in line the worker holds
		 * nothing, and looks at its signals between steps. */
		if (!wk_seat_held(&seat)) {
			int joining = seat.state == WK_SEAT_NONE;
			int64_t w0 = seat.waited_ms;

			wk_metrics_seated(wm, 0);
			r = wk_seat_take(&seat, db, &stopping, &poked, err,
					 sizeof err);
			if (r == VT_EAGAIN && joining)
				vt_info("every seat held: standing in line");
			/* --once: the seated workers may keep their seats
			 * while the queue stays empty; nothing left to drain
			 * ends the run in line too */
			if (r == VT_EAGAIN && once && queue_empty(db)) {
				vt_info("in line, and the queue is empty: done");
				break;
			}
			if (r == VT_EAGAIN)
				continue;
			if (r == VT_OK && !joining)
				vt_info("seated (seat %d of %d) after %lld ms in"
					" line", seat.seat + 1, seat.n,
					(long long)(seat.waited_ms - w0));
			else if (r == VT_OK)
				vt_info("seated (seat %d of %d)", seat.seat + 1,
					seat.n);
		}
		wk_metrics_seated(wm, r == VT_OK);
		what = r < 0 ? "no seat" : "batch failed (left queued)";
		t0 = vt_mono_ms();
		dbs[0] = db;
		dbs[1] = db2;
		if (r == VT_OK)
			r = wk_pipe_step(pipe, dbs, &cur, &st, &got, &shortc,
					 err, sizeof err);
		/* no batch in flight here: both connections are free */
		if (!vt_pg_broken(db))
			wk_metrics_queue(wm, db);
		if (r == VT_OK && got && held) {
			wk_wake_release(db, slot);
			held = 0;
		}
		/* held long enough, and a worker stands in line: this batch
		 * is the last before the seat is given up */
		yield = r == VT_OK && got && wk_seat_due(&seat, db);
		if (r == VT_OK)
			r = wk_pipe_go(pipe, &cur, &st, err, sizeof err);
		if (r == VT_OK && yield &&
		    (r = wk_pipe_drain(pipe, &cur, &st, err, sizeof err)) == VT_OK) {
			vt_info("giving seat %d up for a worker in line, held"
				" %lld s", seat.seat + 1,
				(long long)(vt_mono_ms() - seat.since_ms) / 1000);
			wk_seat_yield(&seat, db);
		}
		wk_metrics_batch(wm, &st, (vt_mono_ms() - t0) / 1000.0);
		if (r < 0) {
			int lasting = wk_pg_err_lasting(err), wait_s;

			fails++;
			/* the seat is of no use while the worker waits */
			if (!wk_pipe_busy(pipe) && !vt_pg_broken(db))
				wk_seat_leave(&seat, db);
			if (once && (lasting || fails >= ONCE_TRIES)) {
				failed_log(what, err, fails, lasting, -1);
				rc = 1;
				break;
			}
			wait_s = retry_wait_s(fails);
			failed_log(what, err, fails, lasting, wait_s);
			if (!vt_pg_broken(db))
				vt_sigpoll(NULL, 0, wait_s * 1000, &stopping,
					   &reloading);
			continue;
		}
		/* a batch committed, or the queue was empty: no failure in a
		 * row (a batch handed to the store thread has no outcome yet;
		 * a failure of it comes back from the next step) */
		if (st.batches != committed || !got)
			fails = 0;
		if (vt_mono_ms() - last_log > 10000 || (!got &&
		    st.claimed != last.claimed)) {
			vt_info("claimed %ld, stored %ld, duplicates %ld, rejected %ld,"
				" probe status lines %ld kept, %ld counted only",
				st.claimed - last.claimed, st.stored - last.stored,
				st.duplicates - last.duplicates,
				st.rejected - last.rejected,
				st.status_used - last.status_used,
				st.status_other - last.status_other);
			last = st;
			last_log = vt_mono_ms();
		}
		if (got) {
			/* The queue had less than a batch: let it fill a
			 * little (worker.h, WK_SHORT_PAUSE_MS). */
			if (!once && shortc)
				vt_sigpoll(NULL, 0, WK_SHORT_PAUSE_MS,
					   &stopping, &reloading);
			continue;
		}
		if (once)
			break;
		/* One more look at the queue holding the wake lock (wake.h),
		 * then wait for a NOTIFY. */
		if (slot >= 0 && !held) {
			if (wk_wake_hold(db, slot, err, sizeof err) == VT_OK) {
				held = 1;
				continue;
			}
			vt_warn("wake lock: %s", err);
		}
		wait_for_work(db, poll_ms);
		if (held) {
			wk_wake_release(db, slot);
			/* its last look, under the wake lock, was at the
			 * whole queue: from the front first (worker.h,
			 * front_only); a worker without a slot (or its lock)
			 * looks at the whole queue every time */
			cur.front_only = 1;
		}
		held = 0;
	}
	/* the batch in flight, if any, ends before the connections */
	if (wk_pipe_drain(pipe, &cur, &st, err, sizeof err) < 0)
		vt_warn("batch failed (left queued): %s", err);
	if (!vt_pg_broken(db))
		wk_seat_leave(&seat, db);
	vt_info("stopping: claimed %ld, stored %ld, duplicates %ld, rejected %ld,"
		" probe status lines %ld kept, %ld counted only",
		st.claimed, st.stored, st.duplicates, st.rejected,
		st.status_used, st.status_other);
	if (stats)
		stats_print(&st, &seat);
	wk_pipe_free(pipe);
	PQfinish(db);
	PQfinish(db2);
	wk_metrics_free(wm);
	vt_observe_stop(ob);
	return rc;
}
