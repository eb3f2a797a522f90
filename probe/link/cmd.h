/* cmd.h - the probe's command service: one forwarded-tcpip channel from
 * the controller, served with the proto/dialogue.h server; crontabs go to
 * <spool>/crons/<n> (replaced atomically), one-offs are appended to the
 * one-off file named in the command (normally <spool>/crons/oneoff). */
#ifndef VT_PROBE_LINK_CMD_H
#define VT_PROBE_LINK_CMD_H

#include <libssh/libssh.h>
#include "probe/spool.h"

/* What one batch did. */
struct vt_cmd_stats {
	int crontabs;       /* crontabs replaced */
	int lines;          /* crontab lines written */
	int oneoffs;        /* one-offs queued */
};

/* Serves the dialogue on ch until the batch ends or timeout_ms passes, then
 * closes nothing (the caller frees ch).  Returns VT_OK when the batch ended
 * with OK, VT_EAUTH on a wrong password, VT_EPROTO when the probe answered
 * with an error word, VT_ETIMEOUT, or a link error (VT_ESSH, VT_ECLOSED). */
int vt_cmd_serve(ssh_channel ch, struct vt_spool *sp, long probe_id,
		 const char *session_id, int timeout_ms,
		 struct vt_cmd_stats *stats) VT_WUR;

#endif
