/* fuzz_cmdline.c - the measurement command-line parser (proto/cmdline.h).
 * Any line that parses must format to a canonical line that parses back
 * to the same command. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_cmdline a, b;
	struct vt_buf out;
	char err[96];

	if (vt_cmdline_parse((const char *)data, size, &a, err, sizeof(err)) < 0)
		return 0;
	vt_buf_init(&out, 4096);
	if (vt_cmdline_format(&a, &out) == 0) {
		if (vt_cmdline_parse(out.data, out.len, &b, err, sizeof(err)) < 0)
			abort();
		b.af_given = a.af_given;
		if (memcmp(&a, &b, sizeof(a)) != 0)
			abort();
	}
	vt_buf_free(&out);
	return 0;
}
