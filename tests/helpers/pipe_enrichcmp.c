/* pipe_enrichcmp - checks the worker's fast enrichment path against the
 * full one (proto/enrich.h) on result lines and random mutations of them.
 *
 *   pipe_enrichcmp FILE [MUTATIONS_PER_LINE] [SEED]
 *
 * FILE holds one probe result JSON per line.  For every line and mutation:
 * when the fast path takes a line, the full parser must accept it with the
 * same id and time, and for each measurement type the fast enrichment,
 * when it does not decline, must give the same bytes.  Prints
 * "lines N taken T declined D mismatches M" and exits 1 on a mismatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "controller/worker/fastjson.h"
#include "proto/enrich.h"

static long n_lines, n_taken, n_declined, n_bad;

static void check(const char *line, size_t len, struct wk_fast *f,
		  struct vt_buf *a, struct vt_buf *b)
{
	static const char *const types[] = { "ping", "traceroute", "dns", "sslcert" };
	struct vt_result *res = NULL;
	char err[128];
	int fr = wk_fast_parse(line, len, f);

	n_lines++;
	if (fr != 1) {
		n_declined++;
		return;
	}
	n_taken++;
	if (vt_result_parse(line, len, &res, err, sizeof err) < 0 ||
	    vt_result_msm_id(res) != f->msm_id || vt_result_time(res) != f->time) {
		n_bad++;
		fprintf(stderr, "parse differs (%s): %.*s\n", res ? "id/time" : err,
			(int)len, line);
		vt_result_free(res);
		return;
	}
	for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
		struct vt_enrich e = { .type = types[t], .prb_id = 1000 + (long)t,
			.from = t & 1 ? NULL : "2001:db8::7", .group_id = t == 2 ? 0 : 77,
			.step = t == 2 ? 0 : 240, .stored = 1700000000 };
		int x, y;

		vt_buf_reset(a);
		vt_buf_reset(b);
		x = wk_fast_enrich(f, &e, a);
		if (x != 1)
			continue;
		y = vt_result_enrich(res, &e, b);
		if (y < 0 || a->len != b->len || memcmp(a->data, b->data, a->len)) {
			n_bad++;
			fprintf(stderr, "enrich differs for %s:\n fast %s\n full %s\n",
				types[t], a->data, y < 0 ? "(error)" : b->data);
		}
	}
	vt_result_free(res);
}

int main(int argc, char **argv)
{
	static const char alphabet[] = " \t\"\\{}[]:,-+.eE0159xn\x01\xc3";
	struct wk_fast f;
	struct vt_buf a, b, m;
	FILE *in;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long muts;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: pipe_enrichcmp FILE [MUTATIONS_PER_LINE] [SEED]\n");
		return 2;
	}
	muts = argc > 2 ? atol(argv[2]) : 1000;
	srand(argc > 3 ? (unsigned)atoi(argv[3]) : 1);
	if (!(in = fopen(argv[1], "r"))) {
		perror(argv[1]);
		return 2;
	}
	wk_fast_init(&f);
	vt_buf_init(&a, 0);
	vt_buf_init(&b, 0);
	vt_buf_init(&m, 0);
	while ((n = getline(&line, &cap, in)) > 0) {
		while (n && line[n - 1] == '\n')
			line[--n] = '\0';
		check(line, (size_t)n, &f, &a, &b);
		for (long i = 0; i < muts; i++) {
			size_t at, k = (size_t)(rand() % 3) + 1;

			vt_buf_reset(&m);
			if (vt_buf_add(&m, line, (size_t)n) < 0)
				return 1;
			for (size_t j = 0; j < k && m.len; j++) {
				at = (size_t)rand() % m.len;
				switch (rand() % 3) {
				case 0:          /* replace */
					m.data[at] = alphabet[rand() % (sizeof alphabet - 1)];
					break;
				case 1:          /* delete */
					memmove(m.data + at, m.data + at + 1, m.len - at - 1);
					m.len--;
					break;
				default:         /* insert */
					if (vt_buf_addc(&m, ' ') < 0)
						return 1;
					memmove(m.data + at + 1, m.data + at, m.len - at - 1);
					m.data[at] = alphabet[rand() % (sizeof alphabet - 1)];
				}
			}
			check(m.data, m.len, &f, &a, &b);
		}
	}
	printf("lines %ld taken %ld declined %ld mismatches %ld\n", n_lines,
	       n_taken, n_declined, n_bad);
	free(line);
	fclose(in);
	wk_fast_free(&f);
	vt_buf_free(&a);
	vt_buf_free(&b);
	vt_buf_free(&m);
	return n_bad ? 1 : 0;
}
