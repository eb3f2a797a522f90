/* fuzz_proto_reg_request.c - registration INIT request (stdin of INIT). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/reg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_reg_request req, back;
	struct vt_buf b;

	if (vt_reg_request_parse((const char *)data, size, &req) < 0)
		return 0;
	if (req.reason == VT_REG_UNKNOWN)
		req.reason = VT_REG_NEW;
	vt_buf_init(&b, 65536);
	/* what parses formats back to the same fields */
	if (req.token_specs[0] && vt_reg_request_format(&req, &b) == 0) {
		if (vt_reg_request_parse(b.data, b.len, &back) != 0 ||
		    back.reason != req.reason || strcmp(back.arch, req.arch) != 0 ||
		    back.firmware != req.firmware || strcmp(back.os, req.os) != 0)
			abort();
	}
	vt_buf_free(&b);
	return 0;
}
