/* fuzz_proto_upload_req.c - the head of an upload request, as the result
 * sink reads it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/upload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_upload_req r, back;
	struct vt_buf b;

	if (vt_upload_req_parse((const char *)data, size, &r) != 0)
		return 0;
	if (r.head_len == 0 || r.head_len > size || r.head_len > VT_UPLOAD_MAX_HEAD ||
	    r.content_length > VT_UPLOAD_MAX_BODY)
		abort();
	if (r.probe_id < 0 || !vt_session_id_valid(r.session_id))
		return 0;
	/* the probe's formatter agrees with the sink's parser */
	vt_buf_init(&b, 0);
	if (vt_upload_req_format(&b, r.probe_id, r.session_id, r.src, "x", 1) != 0 ||
	    vt_upload_req_parse(b.data, b.len, &back) != 0 ||
	    back.probe_id != r.probe_id || strcmp(back.session_id, r.session_id) != 0 ||
	    strcmp(back.src, r.src) != 0 || back.content_length != 1 ||
	    back.head_len + 1 != b.len)
		abort();
	vt_buf_free(&b);
	return 0;
}
