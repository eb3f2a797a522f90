/* fuzz_worker_fastjson - the worker's enrichment of one line
 * (controller/worker/line.h: the fast path of fastjson.h, else the full
 * one) against the full path alone (proto/enrich.h), at inputs up to the
 * sink's real limit (tests/fuzz/fuzz_worker_fastjson.options: a post of
 * 1,000,000 bytes).
 *
 * Every outcome must be visible and agree: what the fast path takes, the
 * full parser accepts with the same measurement id and time; for every
 * measurement type the worker's result is byte for byte the full path's,
 * or both reject the line with the same clear reason (malformed, unknown
 * type, too big once enriched).  A failed allocation, an error without a
 * reason, or any difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "common/buf.h"
#include "controller/worker/line.h"
#include "proto/enrich.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int clear_rejection(int r, const char *err)
{
	return (r == VT_EPARSE || r == VT_EINVAL || r == VT_ETOOBIG) && err[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "ping", "traceroute", "dns", "http" };
	const char *line = (const char *)data;
	struct vt_result *res = NULL;
	struct wk_line wl;
	struct wk_fast f;
	struct vt_buf a, b;
	char err[192], ferr[192];
	int fr, wr, rr;

	wk_fast_init(&f);
	wk_line_init(&wl);
	vt_buf_init(&a, WK_STORED_MAX);
	vt_buf_init(&b, WK_STORED_MAX);
	/* the fast path alone: taken, declined, never failing on input */
	fr = wk_fast_parse(line, size, &f);
	if (fr < 0)
		abort();
	ferr[0] = '\0';
	rr = vt_result_parse(line, size, &res, ferr, sizeof ferr);
	if (fr == 1 && (rr < 0 || vt_result_msm_id(res) != f.msm_id ||
			vt_result_time(res) != f.time))
		abort();
	if (rr < 0 && !clear_rejection(rr, ferr))
		abort();
	/* the worker's path: accepted exactly when the full parser accepts */
	err[0] = '\0';
	wr = wk_line_parse(&wl, line, size, err, sizeof err);
	if (wr == VT_ENOMEM || (wr < 0) != (rr < 0) ||
	    (wr < 0 && !clear_rejection(wr, err)))
		abort();
	if (rr < 0)
		goto out;
	if (wl.msm_id != vt_result_msm_id(res) || wl.time != vt_result_time(res))
		abort();
	for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
		struct vt_enrich e = { .type = types[t], .prb_id = 1000 + (long)t,
			.from = t & 1 ? NULL : "2001:db8::7",
			.group_id = t == 2 ? 0 : 77, .step = t == 2 ? 0 : 240,
			.stored = 1700000000 };
		int x, y;

		/* the fast enrichment alone: same bytes, declined, or over
		 * its cap with the output untouched */
		vt_buf_reset(&a);
		vt_buf_reset(&b);
		y = vt_result_enrich(res, &e, &b);
		if (y == VT_ENOMEM)
			abort();
		if (fr == 1) {
			x = wk_fast_enrich(&f, &e, &a);
			if ((x < 0 && (x != VT_ETOOBIG || a.len)) ||
			    (x == 1 && (y < 0 || a.len != b.len ||
					memcmp(a.data, b.data, a.len))))
				abort();
		}
		/* the worker's enrichment: the full path's bytes or its
		 * rejection */
		vt_buf_reset(&a);
		err[0] = '\0';
		x = wk_line_enrich(&wl, line, size, &e, &a, err, sizeof err);
		if (x != y || (x < 0 && (!clear_rejection(x, err) || a.len)) ||
		    (x == 0 && (a.len != b.len || memcmp(a.data, b.data, a.len))))
			abort();
	}
out:
	vt_result_free(res);
	wk_line_free(&wl);
	wk_fast_free(&f);
	vt_buf_free(&a);
	vt_buf_free(&b);
	return 0;
}
