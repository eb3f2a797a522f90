/* fuzz_proto_ctrl_reply.c - controller INIT reply (OK, REMOTE_PORT,
 * SESSION_ID), as the probe reads it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/reg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_ctrl_reply r, back;
	struct vt_buf b;

	if (vt_ctrl_reply_parse((const char *)data, size, &r) < 0)
		return 0;
	if (r.status == VT_CTRL_OK &&
	    (r.remote_port < 1 || r.remote_port > 65535 ||
	     !vt_session_id_valid(r.session_id)))
		abort();
	vt_buf_init(&b, 4096);
	if (vt_ctrl_reply_format(&r, &b) != 0 ||
	    vt_ctrl_reply_parse(b.data, b.len, &back) != 0 ||
	    back.status != r.status ||
	    (r.status == VT_CTRL_OK && (back.remote_port != r.remote_port ||
					strcmp(back.session_id, r.session_id) != 0)) ||
	    (r.status == VT_CTRL_WAIT && back.timeout != r.timeout))
		abort();
	vt_buf_free(&b);
	return 0;
}
