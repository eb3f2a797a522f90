/* test_sched_cron.c - the crontab scheduler's timing and diff rules
 * (probe/sched_cron.h) as tables: next run with spread bounds, start and
 * end, late runs, and the same-job diff of re-sent crontabs.  The clock is
 * the now_us argument; runs are simulated by feeding planned times back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "probe/sched_cron.h"
#include "proto/crontab.h"

#define S   1700000000LL            /* a start time, unix seconds */
#define US  1000000LL
#define SEC(x) ((int64_t)(x) * US)

static struct vt_cron_line mk(long iv, long long start, long long end,
			      int uniform, long spread, const char *cmd)
{
	struct vt_cron_line l;

	memset(&l, 0, sizeof l);
	l.interval = iv;
	l.start = start;
	l.end = end;
	l.uniform = uniform;
	l.spread = spread;
	snprintf(l.command, sizeof l.command, "%s", cmd);
	return l;
}

/* ---- next run ------------------------------------------------------------ */

struct plan_case {
	const char *what;
	long        iv;
	long long   start, end;
	int         uniform;
	long        spread;
	long long   min_k;
	int64_t     now;
	int         rc;             /* VT_OK or VT_ENOTFOUND */
	long long   k;
	int64_t     lo, hi;         /* bounds of the run time */
};

static const struct plan_case plans[] = {
	{ "NONE before start: slot 0, random microseconds",
	  60, S, S + 600, 0, 0, 0, SEC(S - 100), VT_OK, 0, SEC(S), SEC(S + 1) - 1 },
	{ "UNIFORM before start: never before start",
	  60, S, S + 600, 1, 10, 0, SEC(S - 100), VT_OK, 0, SEC(S), SEC(S + 5) },
	{ "UNIFORM, window of slot 1 open: the rest of it",
	  60, S, S + 600, 1, 10, 0, SEC(S + 62), VT_OK, 1, SEC(S + 62), SEC(S + 65) },
	{ "UNIFORM, window of slot 1 closed: slot 2 whole",
	  60, S, S + 600, 1, 10, 0, SEC(S + 66), VT_OK, 2, SEC(S + 115), SEC(S + 125) },
	{ "min_k ahead of now",
	  60, S, S + 600, 1, 10, 3, SEC(S), VT_OK, 3, SEC(S + 175), SEC(S + 185) },
	{ "odd spread: half rounds to microseconds",
	  60, S, S + 600, 1, 3, 1, SEC(S), VT_OK, 1, SEC(S + 60) - 1500000,
	  SEC(S + 60) + 1500000 },
	{ "UNIFORM 0 is like NONE",
	  60, S, S + 600, 1, 0, 1, SEC(S), VT_OK, 1, SEC(S + 60), SEC(S + 61) - 1 },
	{ "spread over the interval: windows overlap",
	  60, S, S + 600, 1, 100, 0, SEC(S + 10), VT_OK, 0, SEC(S + 10), SEC(S + 50) },
	{ "window clipped by the end",
	  60, S, S + 120, 1, 10, 0, SEC(S + 100), VT_OK, 2, SEC(S + 115), SEC(S + 120) },
	{ "NONE slot at the end second runs at the end",
	  60, S, S + 60, 0, 0, 0, SEC(S + 30), VT_OK, 1, SEC(S + 60), SEC(S + 60) },
	{ "after the end: nothing",
	  60, S, S + 100, 0, 0, 0, SEC(S + 101), VT_ENOTFOUND, 0, 0, 0 },
	{ "next slot past the end: nothing",
	  60, S, S + 100, 0, 0, 0, SEC(S + 61), VT_ENOTFOUND, 0, 0, 0 },
	{ "end before start: nothing",
	  60, S, S - 1, 0, 0, 0, SEC(S - 100), VT_ENOTFOUND, 0, 0, 0 },
	{ "long past start: jumps to the current slot",
	  300, S, S + 86400 * 365, 0, 0, 0, SEC(S + 86400 * 30 + 1),
	  VT_OK, 8641, SEC(S + 86400 * 30 + 300), SEC(S + 86400 * 30 + 301) - 1 },
	{ "start beyond any real time: nothing",
	  60, 999999999999999LL, 999999999999999LL, 0, 0, 0, SEC(S),
	  VT_ENOTFOUND, 0, 0, 0 },
	{ "huge interval: only slot 0",
	  2147483647L, S, S + 10, 0, 0, 1, SEC(S), VT_ENOTFOUND, 0, 0, 0 },
};

/* a deterministic stream of random numbers */
static uint64_t lcg(uint64_t *x)
{
	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return *x ^ (*x >> 29);
}

static void test_plan(void)
{
	uint64_t x = 1;

	for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
		const struct plan_case *c = &plans[i];
		struct vt_cron_line l = mk(c->iv, c->start, c->end, c->uniform,
					   c->spread, "evping -4 -A 1 192.0.2.1");
		int64_t min_at = INT64_MAX, max_at = INT64_MIN;
		int bad = 0;

		for (int n = 0; n < 2000; n++) {
			uint64_t r = n == 0 ? 0 : n == 1 ? UINT64_MAX : lcg(&x);
			long long k = -7;
			int64_t at = -7;
			int rc = vt_sched_plan(&l, c->min_k, c->now, r, &k, &at);

			if (rc != c->rc || (rc == VT_OK &&
			    (k != c->k || at < c->lo || at > c->hi)))
				bad++;
			if (rc == VT_OK) {
				min_at = at < min_at ? at : min_at;
				max_at = at > max_at ? at : max_at;
			}
		}
		if (bad)
			printf("# %s: %d bad plans\n", c->what, bad);
		CHECK(bad == 0);
		/* r = 0 gives the earliest time: the window's low end */
		if (c->rc == VT_OK) {
			CHECK_INT(min_at, c->lo);
			/* and the draws spread over most of the window */
			CHECK(max_at - min_at >= (c->hi - c->lo) * 9 / 10);
		}
	}
}

/* UNIFORM offsets average out around the slot time. */
static void test_uniform_mean(void)
{
	struct vt_cron_line l = mk(60, S, S + 86400, 1, 20, "x");
	uint64_t x = 42;
	double sum = 0;
	int below = 0, n = 20000, bad = 0;

	for (int i = 0; i < n; i++) {
		long long k;
		int64_t at;

		bad += vt_sched_plan(&l, 5, SEC(S), lcg(&x), &k, &at) != VT_OK;
		sum += (double)(at - SEC(S + 300));
		below += at < SEC(S + 300);
	}
	CHECK_INT(bad, 0);
	CHECK(sum / n > -0.5 * US && sum / n < 0.5 * US);
	CHECK(below > n * 45 / 100 && below < n * 55 / 100);
}

/* ---- firing ---------------------------------------------------------------- */

struct fire_case {
	const char *what;
	long long   end;
	int64_t     at, now;
	enum vt_sched_fire want;
};

static const struct fire_case fires[] = {
	{ "on time",              S + 600, SEC(S), SEC(S), VT_SCHED_FIRE_RUN },
	{ "10 s late still runs", S + 600, SEC(S), SEC(S + 10), VT_SCHED_FIRE_RUN },
	{ "over 10 s late",       S + 600, SEC(S), SEC(S + 10) + 1, VT_SCHED_FIRE_LATE },
	{ "an hour late",         S + 600, SEC(S), SEC(S + 3600), VT_SCHED_FIRE_LATE },
	{ "end moved before it",  S - 1, SEC(S), SEC(S), VT_SCHED_FIRE_PAST_END },
	{ "end moved before it, late", S - 1, SEC(S), SEC(S + 60), VT_SCHED_FIRE_PAST_END },
	{ "planned at the end",   S, SEC(S), SEC(S) + 500, VT_SCHED_FIRE_RUN },
};

static void test_fire(void)
{
	for (size_t i = 0; i < sizeof fires / sizeof fires[0]; i++) {
		const struct fire_case *c = &fires[i];
		struct vt_cron_line l = mk(60, S - 600, c->end, 1, 10, "x");
		enum vt_sched_fire got = vt_sched_fire_check(&l, c->at, c->now);

		if (got != c->want)
			printf("# %s: got %d\n", c->what, (int)got);
		CHECK_INT(got, c->want);
	}
}

/* ---- simulated runs with an injected clock ----------------------------------- */

struct sim {
	int     runs, late, slots_passed;
	int     outside;            /* runs outside their window or [start, end] */
	int64_t first, last;
};

/* Runs l from clock t0 until nothing is left; each timer fires delay(k)
 * microseconds after its planned time. */
static struct sim simulate(const struct vt_cron_line *l, int64_t t0,
			   int64_t (*delay)(long long k))
{
	struct sim m = { .first = -1 };
	uint64_t x = 7;
	long long k, min_k = 0;
	int64_t now = t0, at;

	while (vt_sched_plan(l, min_k, now, lcg(&x), &k, &at) == VT_OK) {
		int64_t lo, hi;

		m.slots_passed += (int)(k - min_k);
		now = at + delay(k);
		switch (vt_sched_fire_check(l, at, now)) {
		case VT_SCHED_FIRE_RUN:
			vt_sched_window(l, k, &lo, &hi);
			if (at < lo || at > hi || at < SEC(l->start) ||
			    at > SEC(l->end))
				m.outside++;
			if (m.first < 0)
				m.first = at;
			m.last = at;
			m.runs++;
			break;
		case VT_SCHED_FIRE_LATE:
			m.late++;
			break;
		case VT_SCHED_FIRE_PAST_END:
			return m;
		}
		min_k = k + 1;
	}
	return m;
}

static int64_t on_time(long long k) { (void)k; return 0; }
static int64_t slow(long long k) { (void)k; return SEC(9); }
static int64_t late_5th(long long k) { return k == 5 ? SEC(11) : 0; }
static int64_t stall_5th(long long k) { return k == 5 ? SEC(200) : 0; }

static void test_simulated(void)
{
	struct vt_cron_line l = mk(60, S, S + 3600, 1, 30, "x");
	struct sim m;

	m = simulate(&l, SEC(S - 10), on_time);
	CHECK_INT(m.runs, 61);          /* slots 0..60, the last clipped to end */
	CHECK_INT(m.late, 0);
	CHECK_INT(m.outside, 0);
	CHECK(m.first >= SEC(S));
	CHECK(m.last <= SEC(S + 3600));

	m = simulate(&l, SEC(S - 10), slow);      /* 9 s late is not skipped */
	CHECK_INT(m.runs, 61);
	CHECK_INT(m.late, 0);

	m = simulate(&l, SEC(S - 10), late_5th);  /* one run 11 s late */
	CHECK_INT(m.runs, 60);
	CHECK_INT(m.late, 1);
	CHECK_INT(m.slots_passed, 0);

	m = simulate(&l, SEC(S - 10), stall_5th); /* the loop stalls 200 s */
	CHECK_INT(m.late, 1);
	CHECK(m.slots_passed >= 2 && m.slots_passed <= 4);
	CHECK_INT(m.runs + m.late + m.slots_passed, 61);
	CHECK_INT(m.outside, 0);

	/* started in the middle: no catching up of past slots */
	m = simulate(&l, SEC(S + 1800), on_time);
	CHECK(m.runs >= 30 && m.runs <= 31);
	CHECK(m.first >= SEC(S + 1800));

	/* NONE: exactly at start + k * interval plus under a second */
	l = mk(300, S, S + 3000, 0, 0, "x");
	m = simulate(&l, SEC(S), on_time);
	CHECK_INT(m.runs, 11);
	CHECK_INT(m.outside, 0);
}

/* ---- diff of re-sent crontabs ------------------------------------------------ */

#define A "60 1700000000 1700086400 UNIFORM 30 evping -4 -c 3 -A 1001 192.0.2.1"
#define A_END "60 1700000000 1800000000 UNIFORM 30 evping -4 -c 3 -A 1001 192.0.2.1"
#define A_SPREAD "60 1700000000 1700086400 NONE 0 evping -4 -c 3 -A 1001 192.0.2.1"
#define A_START "60 1700000060 1700086400 UNIFORM 30 evping -4 -c 3 -A 1001 192.0.2.1"
#define A_IV "120 1700000000 1700086400 UNIFORM 30 evping -4 -c 3 -A 1001 192.0.2.1"
#define A_CMD "60 1700000000 1700086400 UNIFORM 30 evping -4 -c 5 -A 1001 192.0.2.1"
#define B "900 1700000000 1700086400 UNIFORM 60 evtraceroute -4 -I -A 1002 192.0.2.9"
#define C "240 1700000000 1700086400 NONE 0 evtdig -4 -h -A 1003 192.0.2.53"

struct diff_case {
	const char *what;
	const char *old[4];
	const char *cur[4];
	int         match[4];
};

static const struct diff_case diffs[] = {
	{ "identical crontab keeps every job", { A, B, C }, { A, B, C }, { 0, 1, 2 } },
	{ "only the end changed: kept", { A }, { A_END }, { 0 } },
	{ "only the spread changed: kept", { A }, { A_SPREAD }, { 0 } },
	{ "start changed: new job", { A }, { A_START }, { -1 } },
	{ "interval changed: new job", { A }, { A_IV }, { -1 } },
	{ "command changed: new job", { A }, { A_CMD }, { -1 } },
	{ "reordered", { A, B, C }, { C, A, B }, { 2, 0, 1 } },
	{ "a line removed", { A, B, C }, { A, C }, { 0, 2 } },
	{ "a line added", { A }, { B, A }, { -1, 0 } },
	{ "duplicates pair one to one", { A, A }, { A, A, A }, { 0, 1, -1 } },
	{ "everything removed", { A, B }, { NULL }, { 0 } },
	{ "first crontab", { NULL }, { A, B }, { -1, -1 } },
};

static size_t parse_all(const char *const *src, struct vt_cron_line *lines,
			const struct vt_cron_line **ptrs)
{
	size_t n = 0;

	for (; n < 4 && src[n]; n++) {
		CHECK(vt_cron_line_parse(src[n], strlen(src[n]), &lines[n]) == VT_OK);
		ptrs[n] = &lines[n];
	}
	return n;
}

static void test_diff(void)
{
	for (size_t i = 0; i < sizeof diffs / sizeof diffs[0]; i++) {
		const struct diff_case *c = &diffs[i];
		struct vt_cron_line ol[4], cl[4];
		const struct vt_cron_line *op[4], *cp[4];
		size_t no = parse_all(c->old, ol, op), nc = parse_all(c->cur, cl, cp);
		int match[4] = { -9, -9, -9, -9 }, ok = 1;

		CHECK(vt_sched_diff(op, no, cp, nc, match) == VT_OK);
		for (size_t j = 0; j < nc; j++)
			ok &= match[j] == c->match[j];
		if (!ok)
			printf("# %s: got %d %d %d\n", c->what, match[0], match[1],
			       match[2]);
		CHECK(ok);
	}
}

/* A kept job keeps its planned run: re-planning from its next slot with
 * only the end changed gives the same slot, and a shortened end stops it. */
static void test_keep_state(void)
{
	struct vt_cron_line l = mk(60, S, S + 3600, 1, 30, "x");
	long long k, k2;
	int64_t at, at2;

	CHECK(vt_sched_plan(&l, 0, SEC(S + 600), 12345, &k, &at) == VT_OK);
	CHECK_INT(k, 10);
	l.end = S + 7200;               /* re-sent with a later end */
	CHECK_INT(vt_sched_fire_check(&l, at, at), VT_SCHED_FIRE_RUN);
	l.end = S + 300;                /* re-sent with an earlier end */
	CHECK_INT(vt_sched_fire_check(&l, at, at), VT_SCHED_FIRE_PAST_END);
	CHECK(vt_sched_plan(&l, k + 1, at, 1, &k2, &at2) == VT_ENOTFOUND);
}

int main(void)
{
	test_plan();
	test_uniform_mean();
	test_fire();
	test_simulated();
	test_diff();
	test_keep_state();
	return CHECK_DONE();
}
