/* fuzz_proto_upload_reply.c - the sink's HTTP reply, as the probe reads it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/upload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *body;
	size_t blen;
	long long date;
	int status;

	for (int eof = 0; eof < 2; eof++) {
		if (vt_upload_reply_parse(buf, size, eof, &status, &body, &blen, &date) != 0)
			continue;
		if (body < buf || body + blen > buf + size || status < 100 || status > 999)
			abort();
		(void)vt_upload_acked(status, body, blen);
	}
	/* a Date the gateway writes is read back */
	if (size >= 8) {
		long long t;
		struct vt_buf b;

		memcpy(&t, data, sizeof t);
		t &= (1LL << 37) - 1;           /* up to year 6325 */
		vt_buf_init(&b, 0);
		if (vt_upload_reply_format(&b, 200, "OK", "OK\n", t) != 0 ||
		    vt_upload_reply_parse(b.data, b.len, 0, &status, &body, &blen, &date) != 0 ||
		    date != t || !vt_upload_acked(status, body, blen))
			abort();
		vt_buf_free(&b);
	}
	return 0;
}
