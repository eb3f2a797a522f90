/* test_worker_fastpath - the worker's one-pass enrichment (fastjson.c,
 * through line.h as the worker calls it) gives byte for byte what the full
 * path (proto/enrich: jansson) gives, on every result line of the test data
 * and of the RIPE samples (../shared/samples, when present) in the form a
 * probe sends them (the controller's fields left out, "id" and "time"
 * added), spaced out, and on edge cases: integers at the limits of what
 * the fast path reads itself, reals it writes without printf and those it
 * prints, a ping's summary from reals and integers, the controller's
 * numbers at their extremes.  The lines of the samples must be taken by
 * the fast path (it is what the worker runs for them), and reading a line
 * gives the same measurement id, time or rejection either way. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "check.h"
#include "common/buf.h"
#include "controller/worker/line.h"
#include "proto/enrich.h"

#define DATA    "tests/data/enrich"
#define SAMPLES "../shared/samples"

static const char *const types[] = { "ping", "traceroute", "dns", "sslcert",
				     "http" };

/* The enrichment inputs tried on every line: ordinary, a one-off without
 * "from" or group, and the extremes of the controller's numbers. */
static const struct vt_enrich enr[] = {
	{ .prb_id = 1234, .from = "192.0.2.1", .group_id = 1001, .step = 240,
	  .stored = 1700000005 },
	{ .prb_id = 7, .from = NULL, .group_id = 0, .step = 0, .stored = 0 },
	{ .prb_id = -2147483647L, .from = "2001:db8::7",
	  .group_id = 9223372036854775807LL, .step = -5, .stored = -1 },
	{ .prb_id = 2147483647L, .from = "", .group_id = 1, .step = 1,
	  .stored = 9223372036854775807LL },
};

static long n_lines, n_fast;

/* One line: read and enriched through line.h (fast path first) and
 * through proto/enrich alone; returns 1 when the fast path took it. */
static int same(const char *line, size_t len)
{
	int took = 0;

	for (size_t t = 0; t < sizeof types / sizeof *types; t++)
		for (size_t k = 0; k < sizeof enr / sizeof *enr; k++) {
			struct vt_enrich e = enr[k];
			struct wk_line wl;
			struct vt_result *res = NULL;
			struct vt_buf a, b;
			char e1[192], e2[192];
			int wr, fr, x = 0, y = 0;

			e.type = types[t];
			wk_line_init(&wl);
			vt_buf_init(&a, WK_STORED_MAX);
			vt_buf_init(&b, WK_STORED_MAX);
			wr = wk_line_parse(&wl, line, len, e1, sizeof e1);
			fr = vt_result_parse(line, len, &res, e2, sizeof e2);
			CHECK_INT(wr < 0, fr < 0);
			if (wr >= 0 && fr >= 0) {
				CHECK_INT(wl.msm_id, vt_result_msm_id(res));
				CHECK_INT(wl.time, vt_result_time(res));
				x = wk_line_enrich(&wl, line, len, &e, &a, e1,
						   sizeof e1);
				y = vt_result_enrich(res, &e, &b);
				CHECK_INT(x, y);
				CHECK(a.len == b.len &&
				      (!a.len || !memcmp(a.data, b.data, a.len)));
				if (a.len != b.len ||
				    (a.len && memcmp(a.data, b.data, a.len)))
					printf("# %.*s\n#  fast %s\n#  full %s\n",
					       (int)len, line, a.data, b.data);
				took |= wl.fast_ok && x == VT_OK;
			}
			vt_result_free(res);
			wk_line_free(&wl);
			vt_buf_free(&a);
			vt_buf_free(&b);
		}
	n_lines++;
	n_fast += took;
	return took;
}

/* The line as a probe sends it: without the controller's fields, with
 * "id" and "time" first (as the pipeline bench makes them). */
static char *probe_form(json_t *o, int spaced)
{
	static const char *const ctl[] = { "msm_id", "prb_id", "timestamp",
		"type", "from", "group_id", "step", "stored_timestamp",
		"msm_name", "avg", "min", "max", "dup", "rcvd", "sent", "id",
		"time" };
	json_t *p = json_object(), *ts = json_object_get(o, "timestamp");
	const char *key;
	json_t *v;
	char *s;

	json_object_set_new(p, "id", json_string("1001"));
	json_object_set_new(p, "time", json_integer(json_is_integer(ts) ?
			    json_integer_value(ts) : 1700000000));
	json_object_foreach(o, key, v) {
		size_t i;

		for (i = 0; i < sizeof ctl / sizeof *ctl; i++)
			if (!strcmp(key, ctl[i]))
				break;
		if (i == sizeof ctl / sizeof *ctl)
			json_object_set(p, key, v);
	}
	s = json_dumps(p, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15) |
		       (spaced ? JSON_INDENT(1) : JSON_COMPACT));
	json_decref(p);
	return s;
}

/* Every line of path as it is and in the probe's form; the count of lines
 * in the probe's form the fast path took, in *took. */
static long file_lines(const char *path, long *took)
{
	FILE *f = fopen(path, "r");
	char *l = NULL;
	size_t cap = 0;
	ssize_t n;
	long count = 0;

	*took = 0;
	if (!f)
		return -1;
	while ((n = getline(&l, &cap, f)) > 0) {
		json_t *o;

		while (n && (l[n - 1] == '\n' || l[n - 1] == '\r'))
			l[--n] = '\0';
		if (!n)
			continue;
		same(l, (size_t)n);
		if (!(o = json_loadb(l, (size_t)n, 0, NULL)))
			continue;
		if (json_is_object(o) && (json_integer_value(
		    json_object_get(o, "fw")) >= 4600 ||
		    !json_object_get(o, "fw"))) {
			char *s = probe_form(o, 0), *sp = probe_form(o, 1);

			*took += same(s, strlen(s));
			same(sp, strlen(sp));
			count++;
			free(s);
			free(sp);
		}
		json_decref(o);
	}
	free(l);
	fclose(f);
	return count;
}

static void files(const char *dir, const char *suffix, int must_take)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t sl = strlen(suffix);

	if (!d) {
		printf("# no %s: skipped\n", dir);
		return;
	}
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		char path[512];
		long took, count;

		if (nl <= sl || strcmp(de->d_name + nl - sl, suffix))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		count = file_lines(path, &took);
		CHECK(count >= 0);
		if (must_take)
			CHECK_INT(took, count);
	}
	closedir(d);
}

int main(void)
{
	static const char *const edge[] = {
		/* integers the fast path reads itself, at its limits */
		"{\"id\":\"1001\",\"time\":1700000000,\"a\":0,\"b\":-9,\"c\":-12,"
		"\"d\":999999999999999999,\"e\":-999999999999999999}",
		"{\"id\":\"1001\",\"time\":1700000000,\"a\":1234567890123456789}",
		"{\"id\":\"1001\",\"time\":1700000000,\"a\":-0}",
		"{\"id\":\"1001\",\"time\":1700000000,\"a\":01}",
		"{\"id\":\"1001\",\"time\":1700000000,\"a\":-}",
		"{\"id\":\"1001\",\"time\":1700000000,\"a\":1.}",
		"{\"id\":1001,\"time\":999999999999999999}",
		"{\"id\":\"1001\",\"time\":-5}",
		"{\"id\":\"1001\",\"time\":0}",
		"{\"id\":\"1001\",\"time\":1.5}",
		/* reals written without printf, and those printed */
		"{\"id\":\"1001\",\"time\":1700000000,\"g\":12.000,\"h\":0.5000,"
		"\"i\":1.5e2,\"j\":-0.0,\"k\":0.00001,\"l\":123456789012345.6,"
		"\"m\":1E-3,\"n\":9.999999999999999}",
		"{\"id\":\"1001\",\"time\":1700000000,\"a\":1e400}",
		/* a ping's summary: reals, integers, dups, lost packets */
		"{\"id\":\"1001\",\"time\":1700000000,\"result\":[{\"rtt\":1.10},"
		"{\"rtt\":-0.0},{\"rtt\":5},{\"rtt\":1e3},{\"rtt\":0.00001},"
		"{\"rtt\":123456789012345.6},{\"dup\":1,\"rtt\":2.5},{\"x\":\"*\"}]}",
		"{\"id\":\"1001\",\"time\":1700000000,\"result\":[{\"rtt\":3.25},"
		"{\"rtt\":2.75},{\"rtt\":2.7500}]}",
		"{\"id\":\"1001\",\"time\":1700000000,\"result\":[{\"rtt\":\"x\"},"
		"{\"rtt\":true},{\"rtt\":null}]}",
		"{\"id\":\"1001\",\"time\":1700000000,\"result\":[]}",
		"{\"id\":\"1001\",\"time\":1700000000,\"result\":[{\"x\":\"*\"}]}",
		"{\"id\":\"1001\",\"time\":1700000000,\"min\":3,"
		"\"result\":[{\"rtt\":1}]}",
		/* strings, spacing, structure */
		"{\"id\":\"1001\",\"time\":1700000000}",
		" { \"id\" : \"1001\" , \"time\" : 1700000000 , \"result\" : "
		"[ { \"rtt\" : 1.0 } , { \"rtt\" : 2 } ] , \"x\" : [ 1 , 2 ] } ",
		"{\"id\":\"1001\",\"time\":1700000000,\"s\":\"caf\\u00e9\"}",
		"{\"id\":\"1001\",\"time\":1700000000,\"s\":\"a\\\"b\"}",
		"{\"id\":\"1001\",\"time\":1700000000,\"s\":\"unterminated}",
		"{\"id\":\"1001\",\"time\":1700000000,\"s\":\"\"}",
		"{\"id\":\"1001\",\"time\":1700000000,\"a\":1,\"a\":2}",
		"{\"id\":\"1001\",\"time\":1700000000,\"o\":{\"a\":1,\"a\":2}}",
		"{\"id\":\"1001\",\"time\":1700000000,\"msm_id\":5,\"from\":\"x\","
		"\"stored_timestamp\":1,\"type\":\"ping\"}",
		"{\"id\":\"1001\",\"time\":1700000000,\"j\":[true,false,null,{},[]]}",
		"{\"id\":\"1001\",\"time\":1700000000,\"j\":[tru]}",
		"{\"id\":\"1001\",\"time\":1700000000}x",
		"{\"id\":\"1001\",\"time\":1700000000,}",
		"{\"id\":\"\",\"time\":1700000000}",
		"{\"id\":\"-5\",\"time\":1700000000}",
		"[]",
		"",
	};
	long took, count;

	for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
		same(edge[i], strlen(edge[i]));
	/* the fast path must be exercised by the edge cases too */
	CHECK(n_fast > 10);
	files(DATA, ".in", 1);
	files(SAMPLES, ".jsonl", 1);
	count = file_lines(SAMPLES "/ping.jsonl", &took);
	if (count >= 0)
		CHECK(took > 0);
	printf("# %ld lines, %ld taken by the fast path\n", n_lines, n_fast);
	return CHECK_DONE();
}
