/* cmd.c - the probe's command service (see cmd.h). */
#include "probe/link/cmd.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/vtime.h"
#include "proto/dialogue.h"

#define CMD_IN_MAX (256 * 1024)     /* bytes read per feed round */

struct cmd_ctx {
	struct vt_spool         *sp;
	struct vt_spool_crontab *ct;
	struct vt_cmd_stats     *stats;
};

/* Maps a legacy path and checks it names a file directly in crons/. */
static enum vt_dlg_error map_crons(struct cmd_ctx *c, const char *legacy,
				   char *out, size_t outlen)
{
	char crons[PATH_MAX];
	size_t n;

	if (!legacy || vt_dlg_map_path(legacy, vt_spool_root(c->sp), out, outlen) < 0)
		return VT_DLG_BAD_PATH;
	if (vt_spool_path(c->sp, "crons/", crons, sizeof crons) < 0)
		return VT_DLG_NAME_TOO_LONG;
	n = strlen(crons);
	if (strncmp(out, crons, n) != 0 || !out[n] || out[n] == '.' ||
	    strchr(out + n, '/'))
		return VT_DLG_BAD_PATH;
	return VT_DLG_OK;
}

static enum vt_dlg_error on_cmd(void *arg, const struct vt_dlg_cmd *cmd)
{
	struct cmd_ctx *c = arg;
	char path[PATH_MAX];
	enum vt_dlg_error e;

	switch (cmd->type) {
	case VT_DLG_CMD_CRONTAB:
		vt_spool_crontab_abort(c->ct);
		c->ct = NULL;
		e = map_crons(c, cmd->path, path, sizeof path);
		if (e != VT_DLG_OK)
			return e;
		if (vt_spool_crontab_begin(c->sp, path, &c->ct) < 0)
			return VT_DLG_UNABLE_TO_CREATE_NEW_CRONTAB;
		return VT_DLG_OK;
	case VT_DLG_CMD_CRONLINE:
		if (!c->ct || !cmd->line)
			return VT_DLG_BAD_COMMAND;
		if (vt_spool_crontab_line(c->ct, cmd->line) < 0)
			return VT_DLG_IO_ERROR;
		c->stats->lines++;
		return VT_DLG_OK;
	case VT_DLG_CMD_CRONTAB_END:
		if (!c->ct)
			return VT_DLG_BAD_COMMAND;
		{
			struct vt_spool_crontab *ct = c->ct;

			c->ct = NULL;
			if (vt_spool_crontab_commit(ct) < 0)
				return VT_DLG_IO_ERROR;
		}
		c->stats->crontabs++;
		return VT_DLG_OK;
	case VT_DLG_CMD_ONEOFF:
		e = map_crons(c, cmd->path, path, sizeof path);
		if (e != VT_DLG_OK)
			return e;
		if (!cmd->line || !*cmd->line)
			return VT_DLG_BAD_COMMAND;
		if (vt_spool_append_line(path, cmd->line) < 0)
			return VT_DLG_IO_ERROR;
		c->stats->oneoffs++;
		return VT_DLG_OK;
	case VT_DLG_CMD_REBOOT:
	case VT_DLG_CMD_RELOAD:
		/* nothing to restart: crontabs are read from the spool */
		return VT_DLG_OK;
	}
	return VT_DLG_BAD_COMMAND;
}

static int write_buf(ssh_channel ch, struct vt_buf *b)
{
	if (b->len > 0 &&
	    ssh_channel_write(ch, b->data, (uint32_t)b->len) != (int)b->len)
		return VT_ESSH;
	vt_buf_reset(b);
	return VT_OK;
}

int vt_cmd_serve(ssh_channel ch, struct vt_spool *sp, long probe_id,
		 const char *session_id, int timeout_ms,
		 struct vt_cmd_stats *stats)
{
	struct cmd_ctx ctx = { .sp = sp, .stats = stats };
	struct vt_dlg_server *srv = NULL;
	int64_t deadline = vt_mono_ms() + timeout_ms;
	char host[256] = "vantage-probe", chunk[4096];
	struct vt_buf out;
	int rc;

	memset(stats, 0, sizeof *stats);
	vt_buf_init(&out, CMD_IN_MAX);
	if (gethostname(host, sizeof host - 1) < 0)
		snprintf(host, sizeof host, "vantage-probe");
	host[sizeof host - 1] = '\0';
	rc = vt_dlg_server_new(probe_id, host, session_id, on_cmd, &ctx, &srv, &out);
	if (rc < 0)
		goto out;
	if ((rc = write_buf(ch, &out)) < 0)
		goto out;
	for (;;) {
		int64_t left = deadline - vt_mono_ms();
		int n;

		if (left <= 0) {
			rc = VT_ETIMEOUT;
			goto out;
		}
		n = ssh_channel_read_timeout(ch, chunk, sizeof chunk, 0,
					     left > 1000 ? 1000 : (int)left);
		if (n == SSH_ERROR) {
			rc = VT_ESSH;
			goto out;
		}
		if (n <= 0) {
			if (ssh_channel_is_eof(ch) || ssh_channel_is_closed(ch)) {
				rc = VT_ECLOSED;
				goto out;
			}
			continue;
		}
		rc = vt_dlg_server_feed(srv, chunk, (size_t)n, &out);
		if (write_buf(ch, &out) < 0 && rc == VT_EAGAIN)
			rc = VT_ESSH;
		if (rc != VT_EAGAIN)
			break;
	}
	ssh_channel_send_eof(ch);
out:
	vt_spool_crontab_abort(ctx.ct);
	vt_dlg_server_free(srv);
	vt_buf_free(&out);
	return rc;
}
