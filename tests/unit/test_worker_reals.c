/* test_worker_reals - the worker's fast path writes reals without printf
 * (fastjson.c real_tok): for every real a probe may write, the fast path
 * takes the line and gives byte for byte what the full path (jansson,
 * "%.15g") gives, in the body and in a ping's summary; reals it cannot
 * print that way are still declined or printed as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/buf.h"
#include "controller/worker/fastjson.h"
#include "proto/enrich.h"

static int same(const char *tok, int *taken)
{
	char line[256];
	struct wk_fast f;
	struct vt_result *res = NULL;
	struct vt_buf a, b;
	struct vt_enrich e = { .type = "ping", .prb_id = 7, .from = "192.0.2.1",
			       .group_id = 0, .step = 240, .stored = 1700000000 };
	char err[128];
	int ok = 0, fr;

	snprintf(line, sizeof line, "{\"id\":\"1001\",\"time\":1700000000,"
		 "\"x\":%s,\"result\":[{\"rtt\":%s},{\"rtt\":1.5}]}", tok, tok);
	wk_fast_init(&f);
	vt_buf_init(&a, 0);
	vt_buf_init(&b, 0);
	fr = wk_fast_parse(line, strlen(line), &f);
	*taken = fr == 1;
	if (fr != 1) {
		ok = fr == 0;
		goto out;
	}
	if (vt_result_parse(line, strlen(line), &res, err, sizeof err) < 0)
		goto out;
	if (wk_fast_enrich(&f, &e, &a) != 1 || vt_result_enrich(res, &e, &b) < 0)
		goto out;
	ok = a.len == b.len && !memcmp(a.data, b.data, a.len);
	if (!ok)
		printf("# %s:\n#  fast %s\n#  full %s\n", tok, a.data, b.data);
out:
	vt_result_free(res);
	wk_fast_free(&f);
	vt_buf_free(&a);
	vt_buf_free(&b);
	return ok;
}

int main(void)
{
	static const char *const take[] = { "1.5", "12.340", "0.0", "-0.0",
		"0.000", "3.0", "-2.50", "0.0001", "0.00012345", "100.000100",
		"99999999999999.9", "123456789012345.0", "1.23456789012345",
		"0.123456789012345", "-0.5", "5.0000000000000", "10.10",
		"0.000100" };
	static const char *const other[] = { "0.00001", "1e5", "1.5E-3",
		"1234567890123456.5", "1.234567890123456789", "0.1000000000000001",
		"100000000000000.0", "-0.00000", "1e400" };
	int taken, n_taken = 0;
	unsigned seed = 12345;

	for (size_t i = 0; i < sizeof take / sizeof *take; i++) {
		CHECK(same(take[i], &taken));
		CHECK(taken);
	}
	for (size_t i = 0; i < sizeof other / sizeof *other; i++)
		CHECK(same(other[i], &taken));
	/* random reals: 1 to 17 digits, the point anywhere, trailing zeros */
	for (int i = 0; i < 200000; i++) {
		char tok[64];
		int nd = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 17;
		int pt = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % nd;
		int k = 0, good;

		if (((seed = seed * 1103515245u + 12345u) >> 16) & 1)
			tok[k++] = '-';
		for (int d = 0; d < nd; d++) {
			int c = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 10;

			if (d == 0 && pt > 1 && c == 0)
				c = 1;          /* no leading zero before a point */
			if (d == pt)
				tok[k++] = '.';
			tok[k++] = (char)('0' + c);
		}
		if (pt == nd) {
			tok[k++] = '.';
			tok[k++] = '0';
		}
		tok[k] = '\0';
		good = same(tok, &taken);
		n_taken += taken;
		if (!good) {
			CHECK(good);
			break;
		}
	}
	CHECK(n_taken > 100000);
	return CHECK_DONE();
}
