/* fuzz_plan_line.c - the planner's line key reader (vt_plan_line_key)
 * beside jansson: on any bytes it must not crash, and where jansson reads
 * a JSON object with one top-level integer "timestamp" (and at most one
 * "prb_id"), it must read the same values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/archive_fmt.h"
#include "storage/plan_merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count(const uint8_t *p, size_t n, const char *s)
{
	size_t k = 0, l = strlen(s);

	for (size_t i = 0; i + l <= n; i++)
		k += !memcmp(p + i, s, l);
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	int64_t ts = 0, prb = 0, jts = 0, jprb = 0;
	int r, j;

	r = vt_plan_line_key(line, size, &ts, &prb);
	if (size > 4096 || memchr(data, '\0', size))
		return 0;
	j = vt_arc_line_info(line, size, &jts, &jprb);
	if (j == 0 && count(data, size, "\"timestamp\"") == 1 &&
	    count(data, size, "\"prb_id\"") <= 1 && count(data, size, "\\") == 0) {
		if (r == 0 && ts != jts)
			abort();
		if (r == 0 && jprb && prb != jprb)
			abort();
		if (vt_plan_line_key(line, size, &ts, NULL) != 0 || ts != jts)
			abort();
	}
	return 0;
}
