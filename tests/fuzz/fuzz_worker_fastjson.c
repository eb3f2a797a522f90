/* fuzz_worker_fastjson - the worker's fast enrichment path
 * (controller/worker/fastjson.h) against the full one (proto/enrich.h).
 * Whatever the fast path takes, the full parser must accept with the same
 * measurement id and time, and for every enrichment the fast path does not
 * decline the bytes must be the same: a difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "common/buf.h"
#include "controller/worker/fastjson.h"
#include "proto/enrich.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "ping", "traceroute", "dns" };
	const char *line = (const char *)data;
	struct vt_result *res = NULL;
	struct wk_fast f;
	struct vt_buf a, b;
	char err[128];

	wk_fast_init(&f);
	vt_buf_init(&a, 0);
	vt_buf_init(&b, 0);
	if (wk_fast_parse(line, size, &f) != 1)
		goto out;
	if (vt_result_parse(line, size, &res, err, sizeof err) < 0 ||
	    vt_result_msm_id(res) != f.msm_id || vt_result_time(res) != f.time)
		abort();
	for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
		struct vt_enrich e = { .type = types[t], .prb_id = 1000 + (long)t,
			.from = t & 1 ? NULL : "2001:db8::7",
			.group_id = t == 2 ? 0 : 77, .step = t == 2 ? 0 : 240,
			.stored = 1700000000 };

		vt_buf_reset(&a);
		vt_buf_reset(&b);
		if (wk_fast_enrich(&f, &e, &a) != 1)
			continue;
		if (vt_result_enrich(res, &e, &b) < 0 || a.len != b.len ||
		    memcmp(a.data, b.data, a.len))
			abort();
	}
out:
	vt_result_free(res);
	wk_fast_free(&f);
	vt_buf_free(&a);
	vt_buf_free(&b);
	return 0;
}
