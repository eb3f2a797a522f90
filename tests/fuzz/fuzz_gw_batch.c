/* fuzz_gw_batch - the push batch text (controller/gateway/push.h): parse,
 * then format what was accepted. */
#include <stdint.h>
#include <stddef.h>

#include "common/buf.h"
#include "controller/gateway/push.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_dlg_batch *b = NULL;
	struct vt_buf out;
	char err[128];

	vt_buf_init(&out, 0);
	if (gw_batch_parse((const char *)data, size, &b, err, sizeof err) == 0 &&
	    vt_dlg_batch_format(b, &out) < 0)
		__builtin_trap();
	vt_dlg_batch_free(b);
	vt_buf_free(&out);
	return 0;
}
