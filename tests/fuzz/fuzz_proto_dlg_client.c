/* fuzz_proto_dlg_client.c - the controller's dialogue client fed by a
 * probe.  The first byte chooses how the rest is cut into reads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dialogue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_dlg_batch *b = vt_dlg_batch_new();
	struct vt_dlg_client *c = NULL;
	struct vt_buf out;
	size_t chunk, off = 1;
	int r = VT_EAGAIN;

	if (!b || size < 1)
		goto out;
	chunk = data[0] ? data[0] : size;
	vt_buf_init(&out, 1 << 20);
	if (vt_dlg_batch_crontab(b, "/home/atlas/crons/2") != 0 ||
	    vt_dlg_batch_cronline(b, "60 1 2 NONE 0 evping -4 -A 1 192.0.2.1") != 0 ||
	    vt_dlg_batch_oneoff(b, "/home/atlas/crons/oneoff", "evping -4 -A 2 192.0.2.1") != 0 ||
	    vt_dlg_client_new("0123abcd", b, &c) != 0)
		abort();
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		int prev = r;

		r = vt_dlg_client_feed(c, data + off, n, &out);
		if (prev != VT_EAGAIN && r != prev)
			abort();
		off += n;
	}
	if (r == VT_OK && vt_dlg_client_error(c) != VT_DLG_OK)
		abort();
	vt_dlg_client_free(c);
	vt_buf_free(&out);
out:
	vt_dlg_batch_free(b);
	return 0;
}
