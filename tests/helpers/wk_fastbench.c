/* wk_fastbench - the worker's fast enrichment path (fastjson.h) alone, for
 * tests/bench/fastpath.sh: reads and enriches every line of FILE ROUNDS
 * times and prints the CPU time per line.
 *
 *   wk_fastbench FILE ROUNDS
 *
 * FILE holds one probe result per line: its measurement type, a tab and
 * its JSON ("id" and "time" set, as pipe_load sends them).  Prints
 * "lines N taken T ns_per_line X general_ns_per_line Y": X is the
 * process's CPU time (not the wall clock: the machine is shared) over all
 * rounds divided by the lines read, Y the same for the general path
 * (proto/enrich.h: vt_result_parse, vt_result_enrich), the one the fast
 * path is checked against byte for byte and the worker falls back to; it
 * is the reference measured in the same run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "controller/worker/fastjson.h"
#include "proto/enrich.h"

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct vt_enrich e = { .prb_id = 1234, .from = "192.0.2.1",
			       .group_id = 1001, .step = 240,
			       .stored = 1700000005 };
	struct wk_fast f;
	struct vt_buf out;
	char **lines = NULL, **type = NULL, *line = NULL, *tab;
	size_t *lens = NULL, cap = 0;
	long n = 0, taken = 0, general_failed = 0, rounds;
	double t0, t1, t2;
	FILE *in;
	ssize_t k;

	if (argc != 3 || (rounds = atol(argv[2])) < 1) {
		fprintf(stderr, "usage: wk_fastbench FILE ROUNDS\n");
		return 2;
	}
	if (!(in = fopen(argv[1], "r"))) {
		perror(argv[1]);
		return 1;
	}
	while ((k = getline(&line, &cap, in)) > 0) {
		if (line[k - 1] == '\n')
			line[--k] = '\0';
		if (!(tab = strchr(line, '\t')))
			continue;
		*tab = '\0';
		if (!(lines = realloc(lines, (size_t)(n + 1) * sizeof *lines)) ||
		    !(type = realloc(type, (size_t)(n + 1) * sizeof *type)) ||
		    !(lens = realloc(lens, (size_t)(n + 1) * sizeof *lens)) ||
		    !(lines[n] = strdup(tab + 1)) || !(type[n] = strdup(line)))
			return 1;
		lens[n++] = (size_t)(line + k - tab - 1);
	}
	fclose(in);
	free(line);
	wk_fast_init(&f);
	vt_buf_init(&out, 0);
	t0 = cpu_ns();
	for (long r = 0; r < rounds; r++)
		for (long i = 0; i < n; i++) {
			vt_buf_reset(&out);
			e.type = type[i];
			if (wk_fast_parse(lines[i], lens[i], &f) == 1 &&
			    wk_fast_enrich(&f, &e, &out) == 1 && r == 0)
				taken++;
		}
	t1 = cpu_ns();
	/* the reference: the general path over the same lines and rounds */
	for (long r = 0; r < rounds; r++)
		for (long i = 0; i < n; i++) {
			struct vt_result *res;
			char err[128];

			vt_buf_reset(&out);
			e.type = type[i];
			if (vt_result_parse(lines[i], lens[i], &res, err,
					    sizeof err) != 0)
				continue;
			if (vt_result_enrich(res, &e, &out) != 0)
				general_failed++;
			vt_result_free(res);
		}
	t2 = cpu_ns();
	printf("lines %ld taken %ld ns_per_line %.0f general_ns_per_line %.0f\n",
	       n, taken, n ? (t1 - t0) / ((double)n * (double)rounds) : 0.0,
	       n ? (t2 - t1) / ((double)n * (double)rounds) : 0.0);
	if (general_failed)
		fprintf(stderr, "wk_fastbench: %ld line(s) the general path "
			"did not enrich\n", general_failed / rounds);
	wk_fast_free(&f);
	vt_buf_free(&out);
	for (long i = 0; i < n; i++) {
		free(lines[i]);
		free(type[i]);
	}
	free(lines);
	free(type);
	free(lens);
	return 0;
}
