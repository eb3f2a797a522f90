/* sched_run.c - the probe's scheduler and measurement engine on one spool
 * folder for a given time, without the link: for the scheduler's
 * integration test and the probe bench.
 *
 *   sched_run --spool DIR --seconds N [--allow-private] [--no-raw]
 *             [--move-ms N] [--rescan-ms N] [--oneoff 'CMD']... [--quiet]
 *             [--debug]
 *
 * --quiet logs warnings and errors only, --debug everything (each run's
 * slot, planned and start time too: tests/helpers/sched_grid.py).
 * At the end (or on SIGTERM/SIGINT) it moves data/new to data/out and
 * prints one "stats ..." line with the scheduler's counters and the
 * process's resident memory and CPU time from /proc/self. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/evloop.h"
#include "common/log.h"
#include "probe/measure/measure.h"
#include "probe/sched.h"
#include "probe/spool.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* The link's part: an httppost job (or a one-off result) asks for an
 * upload; here it is only logged, for the test to see. */
static void on_upload(void *arg)
{
	(void)arg;
	vt_info("upload of data/out asked");
}

struct run {
	struct vt_loop *loop;
	int             left_ms;
};

static void on_tick(struct vt_loop *loop, void *arg)
{
	struct run *r = arg;
	uint64_t id;

	r->left_ms -= 100;
	if (stop_flag || r->left_ms <= 0 ||
	    vt_loop_timer(loop, 100, on_tick, r, &id) < 0)
		vt_loop_stop(loop);
}

/* VmRSS and VmHWM (kB) from /proc/self/status. */
static void mem_kb(long *rss, long *hwm)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	*rss = *hwm = -1;
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (!strncmp(line, "VmRSS:", 6))
			*rss = atol(line + 6);
		else if (!strncmp(line, "VmHWM:", 6))
			*hwm = atol(line + 6);
	}
	fclose(f);
}

/* utime + stime (clock ticks) from /proc/self/stat. */
static long cpu_ticks(void)
{
	char buf[1024], *p;
	unsigned long ut, st;
	FILE *f = fopen("/proc/self/stat", "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');    /* the command name may hold blanks */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

static void usage(void)
{
	fprintf(stderr, "usage: sched_run --spool DIR --seconds N [--allow-private] "
		"[--no-raw]\n                 [--move-ms N] [--rescan-ms N] "
		"[--oneoff 'CMD']... [--quiet] [--debug]\n");
}

int main(int argc, char **argv)
{
	struct vt_measure_opts mo = { 0 };
	struct vt_sched_opts so = { 0 };
	struct vt_measure_ctx *mctx = NULL;
	struct vt_sched *s = NULL;
	struct vt_spool *sp = NULL;
	struct vt_sched_stats st;
	struct run r = { 0 };
	const char *spool = NULL;
	const char *oneoffs[64];
	int noneoffs = 0, seconds = 0, rc, status = 1;
	enum vt_log_level level = VT_LOG_INFO;
	long rss, hwm, ticks;
	uint64_t id;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--spool") && v) {
			spool = v;
			i++;
		} else if (!strcmp(a, "--seconds") && v) {
			seconds = atoi(v);
			i++;
		} else if (!strcmp(a, "--move-ms") && v) {
			so.move_ms = atol(v);
			i++;
		} else if (!strcmp(a, "--rescan-ms") && v) {
			so.rescan_ms = atol(v);
			i++;
		} else if (!strcmp(a, "--oneoff") && v && noneoffs < 64) {
			oneoffs[noneoffs++] = v;
			i++;
		} else if (!strcmp(a, "--allow-private")) {
			mo.allow_private = 1;
		} else if (!strcmp(a, "--no-raw")) {
			mo.no_raw = 1;
		} else if (!strcmp(a, "--quiet")) {
			level = VT_LOG_WARN;
		} else if (!strcmp(a, "--debug")) {
			level = VT_LOG_DEBUG;
		} else {
			usage();
			return 2;
		}
	}
	if (!spool || seconds <= 0) {
		usage();
		return 2;
	}
	so.upload = on_upload;
	vt_log_init("sched_run", level);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if ((rc = vt_spool_open(spool, &sp)) < 0 ||
	    (rc = vt_loop_new(&r.loop)) < 0 ||
	    (rc = vt_measure_ctx_new(r.loop, &mo, &mctx)) < 0 ||
	    (rc = vt_sched_new_opts(r.loop, mctx, sp, &so, &s)) < 0) {
		vt_err("setup: %s", vt_strerror(rc));
		goto out;
	}
	for (int i = 0; i < noneoffs; i++)
		if ((rc = vt_sched_oneoff(s, oneoffs[i])) < 0)
			vt_err("one-off %s: %s", oneoffs[i], vt_strerror(rc));
	r.left_ms = seconds * 1000;
	if ((rc = vt_loop_timer(r.loop, 100, on_tick, &r, &id)) < 0 ||
	    (rc = vt_loop_run(r.loop)) < 0) {
		vt_err("loop: %s", vt_strerror(rc));
		goto out;
	}
	if (vt_sched_flush(s) < 0)
		vt_err("flush failed");
	vt_sched_get_stats(s, &st);
	mem_kb(&rss, &hwm);
	ticks = cpu_ticks();
	printf("stats jobs=%ld ignored=%ld runs=%ld late=%ld busy=%ld failed=%ld "
	       "results=%ld write_errors=%ld oneoffs=%ld waiting=%ld running=%ld "
	       "moved=%ld reloads=%ld rss_kb=%ld hwm_kb=%ld cpu_ms=%ld\n",
	       st.jobs, st.ignored, st.runs, st.late, st.busy, st.failed,
	       st.results, st.write_errors, st.oneoffs, st.oneoffs_waiting,
	       st.oneoffs_running, st.moved, st.reloads, rss, hwm,
	       ticks < 0 ? -1 : ticks * 1000 / sysconf(_SC_CLK_TCK));
	status = 0;
out:
	/* the engine first: it drops running measurements without calling back */
	vt_measure_ctx_free(mctx);
	vt_sched_free(s);
	vt_loop_free(r.loop);
	vt_spool_free(sp);
	return status;
}
