/* fuzz_proto_reg_reply.c - registration INIT reply, as the probe reads it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/reg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vt_reg_reply r, back;
	struct vt_buf b;

	if (vt_reg_reply_parse((const char *)data, size, &r) < 0)
		return 0;
	if (r.rereg && (r.rereg < VT_REREG_MIN || r.rereg > VT_REREG_MAX))
		abort();
	vt_buf_init(&b, 65536);
	if (vt_reg_reply_format(&r, &b) == 0) {
		if (strstr(b.data, "FIRMWARE_APPS") ||
		    vt_reg_reply_parse(b.data, b.len, &back) != 0 ||
		    back.wait != r.wait)
			abort();
		if (r.wait ? back.timeout != r.timeout :
		    (back.probe_id != r.probe_id || back.timestamp != r.timestamp ||
		     back.rereg != r.rereg || back.ctrl_port != r.ctrl_port ||
		     strcmp(back.ctrl_host, r.ctrl_host) != 0 ||
		     strcmp(back.ctrl_key, r.ctrl_key) != 0))
			abort();
	}
	vt_buf_free(&b);
	return 0;
}
