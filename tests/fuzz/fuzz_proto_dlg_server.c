/* fuzz_proto_dlg_server.c - the probe's dialogue server fed by a controller.
 * The first byte chooses how the rest is cut into reads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dialogue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum vt_dlg_error cmd_cb(void *arg, const struct vt_dlg_cmd *cmd)
{
	char out[600];
	int *open = arg;

	switch (cmd->type) {
	case VT_DLG_CMD_CRONTAB:
		if (*open || !cmd->path)
			abort();
		*open = 1;
		break;
	case VT_DLG_CMD_CRONLINE:
		if (!*open || !cmd->line || strpbrk(cmd->line, "\r\n"))
			abort();
		break;
	case VT_DLG_CMD_CRONTAB_END:
		if (!*open)
			abort();
		*open = 0;
		break;
	default:
		break;
	}
	if (cmd->path && vt_dlg_map_path(cmd->path, "/spool", out, sizeof out) < 0)
		return VT_DLG_BAD_PATH;
	return VT_DLG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_dlg_server *s = NULL;
	struct vt_buf out;
	size_t chunk, off = 1;
	int open = 0, r = VT_EAGAIN;

	if (size < 1)
		return 0;
	chunk = data[0] ? data[0] : size;
	vt_buf_init(&out, 1 << 20);
	if (vt_dlg_server_new(42, "fuzz", "0123abcd", cmd_cb, &open, &s, &out) != 0)
		abort();
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		int prev = r;

		r = vt_dlg_server_feed(s, data + off, n, &out);
		if (prev != VT_EAGAIN && r != prev)
			abort();                /* a finished dialogue stays finished */
		off += n;
	}
	vt_dlg_server_free(s);
	vt_buf_free(&out);
	return 0;
}
