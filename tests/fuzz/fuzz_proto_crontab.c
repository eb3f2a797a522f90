/* fuzz_proto_crontab.c - one crontab line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/crontab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_cron_line l, back;
	struct vt_buf b;

	if (vt_cron_line_parse((const char *)data, size, &l) != 0)
		return 0;
	if (l.interval <= 0 || l.spread < 0 || !l.command[0] ||
	    strlen(l.command) > VT_CMDLINE_MAX)
		abort();
	(void)vt_cron_msm_id(l.command);
	vt_buf_init(&b, 4096);
	if (vt_cron_line_format(&l, &b) != 0 ||
	    vt_cron_line_parse(b.data, b.len, &back) != 0 ||
	    !vt_cron_same_job(&l, &back) || back.end != l.end ||
	    back.spread != l.spread || back.uniform != l.uniform)
		abort();
	vt_buf_free(&b);
	return 0;
}
