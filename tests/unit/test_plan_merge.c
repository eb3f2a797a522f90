/* test_plan_merge.c - the planner's line key reader, spool and k-way heap
 * merge: order against a sort of the same lines, equal keys, one-off runs
 * naming their probes, a spool spilled to a file with buffers shorter
 * than a line, and a bad line naming its run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/plan_merge.h"
#include "tests/unit/check.h"

static int key(const char *s, int64_t *ts, int64_t *prb)
{
	return vt_plan_line_key(s, strlen(s), ts, prb);
}

static void test_line_key(void)
{
	int64_t ts = 0, prb = 0;

	CHECK_INT(key("{\"prb_id\":1004,\"timestamp\":1767571200,\"x\":1}", &ts, &prb), 0);
	CHECK_INT(ts, 1767571200);
	CHECK_INT(prb, 1004);
	CHECK_INT(key(" { \"a\" : [1, {\"timestamp\": 5}], \"b\": \"timestamp\\\"\","
		      " \"c\": {\"prb_id\": 9}, \"timestamp\" : -12 , \"prb_id\":7 } ",
		      &ts, &prb), 0);
	CHECK_INT(ts, -12);
	CHECK_INT(prb, 7);
	CHECK_INT(key("{\"timestamp\":42}", &ts, &prb), 0);
	CHECK_INT(prb, 0);
	CHECK_INT(ts, 42);
	CHECK_INT(key("{\"timestamp\":43,\"prb_id\":\"x\"}", &ts, NULL), 0);
	CHECK_INT(ts, 43);
	CHECK_INT(key("{\"timestamp\":43,\"prb_id\":\"x\"}", &ts, &prb), VT_EPARSE);
	CHECK_INT(key("{\"timestamp\":1.5}", &ts, NULL), VT_EPARSE);
	CHECK_INT(key("{\"timestamp\":15e3}", &ts, NULL), VT_EPARSE);
	CHECK_INT(key("{\"timestamp\":\"15\"}", &ts, NULL), VT_EPARSE);
	CHECK_INT(key("{\"timestamp\":99999999999999999999}", &ts, NULL), VT_EPARSE);
	CHECK_INT(key("{\"timestamp\":-9223372036854775808}", &ts, NULL), 0);
	CHECK_INT(ts, INT64_MIN);
	CHECK_INT(key("{\"time\":1}", &ts, NULL), VT_EPARSE);
	CHECK_INT(key("{}", &ts, NULL), VT_EPARSE);
	CHECK_INT(key("[{\"timestamp\":1}]", &ts, NULL), VT_EPARSE);
	CHECK_INT(key("", &ts, NULL), VT_EPARSE);
	CHECK_INT(key("{\"a\":\"unterminated", &ts, NULL), VT_EPARSE);
	CHECK_INT(key("{\"a\":{\"b\":[1,2}", &ts, NULL), VT_EPARSE);
	CHECK_INT(key("{\"a\" 1, \"timestamp\":1}", &ts, NULL), VT_EPARSE);
	CHECK_INT(key("{\"timestamp\":-}", &ts, NULL), VT_EPARSE);
	/* Only the top level counts. */
	CHECK_INT(key("{\"r\":{\"timestamp\":1}}", &ts, NULL), VT_EPARSE);
}

struct item {
	int64_t ts, prb;
	size_t run, pos;
	char line[256];
};

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->prb != y->prb)
		return x->prb < y->prb ? -1 : 1;
	if (x->run != y->run)
		return x->run < y->run ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* nruns runs (run 0 a one-off run whose lines name their probes, the
 * others one probe each), random times with many ties, through a spool of
 * mem_max bytes and run buffers of bufsize: the merge must give the lines
 * in (ts, prb) order, ties by run, each once. */
static void test_merge(size_t nruns, size_t per, size_t mem_max, size_t bufsize)
{
	size_t n = 0, total = nruns * per, got = 0, bad = 0;
	struct item *it = calloc(total, sizeof *it);
	struct vt_pspool sp;
	struct vt_merge m;
	const char *line;
	size_t len;
	int64_t ts, prb;
	int r;

	vt_pspool_init(&sp, mem_max, NULL);
	vt_merge_init(&m, &sp, bufsize);
	for (size_t k = 0; k < nruns; k++) {
		int64_t t = 1000 + (int64_t)(rnd() % 5);
		uint64_t off = sp.size;

		for (size_t i = 0; i < per; i++, n++) {
			struct item *x = &it[n];
			int pad = (int)(rnd() % 120);

			x->ts = t;
			/* The one-off run holds probes 1..3, sorted by (ts, prb). */
			x->prb = k ? 100 + (int64_t)k : 1 + (int64_t)(i % 3);
			x->run = k;
			x->pos = i;
			snprintf(x->line, sizeof x->line,
				 "{\"fw\":5080,\"prb_id\":%lld,\"s\":\"]}{\\\"timestamp\\\":1}\","
				 "\"result\":[{\"x\":\"%.*s\"}],\"timestamp\":%lld,\"n\":%zu}",
				 (long long)x->prb, pad,
				 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
				 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
				 "abcdefghijklmnopqrstuvwxyz", (long long)x->ts, n);
			if (vt_pspool_add(&sp, x->line, strlen(x->line), NULL) < 0 ||
			    vt_pspool_add(&sp, "\n", 1, NULL) < 0)
				bad++;
			if (!k && i % 3 == 2)
				t += 1 + (int64_t)(rnd() % 3);
			else if (k && rnd() % 3 == 0)
				t += (int64_t)(rnd() % 4);
		}
		if (vt_merge_add(&m, off, sp.size - off, k ? 100 + (int64_t)k : 0, k) < 0)
			bad++;
	}
	CHECK_INT(bad, 0);
	CHECK_INT(vt_pspool_flush(&sp), 0);
	CHECK(mem_max >= sp.size ? sp.fd < 0 : sp.fd >= 0);
	qsort(it, total, sizeof *it, item_cmp);
	CHECK_INT(vt_merge_start(&m), 0);
	while ((r = vt_merge_next(&m, &line, &len, &ts, &prb)) == 1) {
		if (got >= total || len != strlen(it[got].line) ||
		    memcmp(line, it[got].line, len) || ts != it[got].ts ||
		    prb != it[got].prb)
			bad++;
		got++;
	}
	CHECK_INT(r, 0);
	CHECK_INT(got, total);
	CHECK_INT(bad, 0);
	CHECK_INT(vt_merge_next(&m, &line, &len, &ts, &prb), 0);
	vt_merge_free(&m);
	vt_pspool_free(&sp);
	free(it);
}

/* A run whose third line has no timestamp: the merge stops there, naming
 * the run, after the lines that sort before it. */
static void test_bad_line(size_t mem_max)
{
	static const char a[] = "{\"timestamp\":1}\n{\"timestamp\":5}\n";
	static const char b[] = "{\"timestamp\":2}\n{\"timestamp\":3}\n{\"ts\":4}\n";
	struct vt_pspool sp;
	struct vt_merge m;
	const char *line;
	size_t len, n = 0;
	int64_t ts;
	uint64_t oa = 0, ob = 0;
	int r;

	vt_pspool_init(&sp, mem_max, NULL);
	vt_merge_init(&m, &sp, 4);
	CHECK_INT(vt_pspool_add(&sp, a, strlen(a), &oa), 0);
	CHECK_INT(vt_pspool_add(&sp, b, strlen(b), &ob), 0);
	CHECK_INT(vt_pspool_flush(&sp), 0);
	CHECK_INT(vt_merge_add(&m, oa, strlen(a), 7, 70), 0);
	CHECK_INT(vt_merge_add(&m, ob, strlen(b), 8, 80), 0);
	CHECK_INT(vt_merge_add(&m, ob, 0, 9, 90), 0);       /* empty: ignored */
	CHECK_INT(m.n, 2);
	CHECK_INT(vt_merge_start(&m), 0);
	while ((r = vt_merge_next(&m, &line, &len, &ts, NULL)) == 1)
		n++;
	CHECK_INT(r, VT_EPARSE);
	CHECK_INT(m.bad, 80);
	CHECK_INT(n, 3);            /* 1, 2, 3; then the bad line */
	vt_merge_free(&m);
	vt_pspool_free(&sp);
}

/* One merge and spool reused day after day (each day spilled). */
static void test_reuse(void)
{
	struct vt_pspool sp;
	struct vt_merge m;
	const char *line;
	size_t len;
	int64_t ts, prb;

	vt_pspool_init(&sp, 8, NULL);
	vt_merge_init(&m, &sp, 0);
	for (int day = 0; day < 3; day++) {
		char l[64];
		int n = snprintf(l, sizeof l, "{\"timestamp\":%d,\"prb_id\":3}\n", day);
		uint64_t off;

		CHECK_INT(vt_pspool_add(&sp, l, (size_t)n, &off), 0);
		CHECK_INT(vt_pspool_flush(&sp), 0);
		CHECK(sp.fd >= 0);
		CHECK_INT(vt_merge_add(&m, off, (size_t)n, 0, 0), 0);
		CHECK_INT(vt_merge_start(&m), 0);
		CHECK_INT(vt_merge_next(&m, &line, &len, &ts, &prb), 1);
		CHECK_INT(ts, day);
		CHECK_INT(prb, 3);
		CHECK_INT(len, (size_t)n - 1);
		CHECK_INT(vt_merge_next(&m, &line, &len, &ts, &prb), 0);
		vt_merge_clear(&m);
		vt_pspool_reset(&sp);
		CHECK(sp.fd < 0 && sp.size == 0);
	}
	vt_merge_free(&m);
	vt_pspool_free(&sp);
}

int main(void)
{
	test_line_key();
	test_merge(1, 50, 1 << 20, 0);
	test_merge(7, 40, 1 << 20, 0);           /* in memory */
	test_merge(300, 30, 1 << 20, 0);
	test_merge(300, 30, 4096, 16);           /* spilled, tiny buffers */
	test_merge(50, 400, 1000, 0);            /* spilled, big writes */
	test_bad_line(1 << 20);
	test_bad_line(8);
	test_reuse();
	return CHECK_DONE();
}
