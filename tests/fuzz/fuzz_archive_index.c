/* fuzz_archive_index.c - the index reader: rows of tab-separated text
 * fields (as PostgreSQL hands them over) parsed into segments, checked
 * against an object size (first line) and planned into ranges. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/archive_fmt.h"

#define MAX_ROWS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_arc_seg segs[MAX_ROWS];
	struct vt_arc_range ranges[MAX_ROWS];
	char *text = malloc(size + 1), *line, *save = NULL;
	uint64_t objsize = 0;
	size_t n = 0, nr, bad;
	int first = 1;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = strtok_r(text, "\n", &save); line && n < MAX_ROWS;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *f[VT_ARC_SEG_NFIELDS] = { 0 };
		char *p = line;

		if (first) {
			objsize = strtoull(line, NULL, 10);
			first = 0;
			continue;
		}
		for (int i = 0; i < VT_ARC_SEG_NFIELDS && p; i++) {
			f[i] = p;
			if ((p = strchr(p, '\t')))
				*p++ = '\0';
		}
		if (vt_arc_seg_parse(f, &segs[n]) == 0)
			n++;
	}
	if (vt_arc_check_layout(segs, n, objsize, &bad) == 0) {
		if (vt_arc_plan(segs, n, ranges, &nr) != 0 || nr > n ||
		    (n && nr == 0))
			abort();   /* a valid layout always plans */
		if (n && ranges[0].len != objsize)
			abort();   /* a whole tiled object is one range */
	} else if (bad > n) {
		abort();
	}
	if (vt_arc_plan(segs, n, ranges, &nr) == 0 && nr > n)
		abort();
	free(text);
	return 0;
}
