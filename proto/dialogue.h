/* dialogue.h - the command dialogue over the forwarded channel
 * (PROTOCOL.md, "Command dialogue").
 *
 * Two pure state machines, fed with bytes and producing bytes: the
 * controller's client (logs in, sends one batch, reads OK or an error) and
 * the probe's server (banner, login, password, CRONTAB/CRONLINE/ONEOFF).
 * Lines end at the first '\r' or '\n'; the client sends single '\n'. */
#ifndef VT_PROTO_DIALOGUE_H
#define VT_PROTO_DIALOGUE_H

#include <stddef.h>
#include "common/buf.h"

#define VT_DLG_LINE_MAX 1024        /* longest command line accepted */

/* Error words a probe answers with (each followed by "\r\n\r\n"). */
enum vt_dlg_error {
	VT_DLG_OK = 0,
	VT_DLG_BAD_PASSWORD,
	VT_DLG_BAD_COMMAND,
	VT_DLG_NAME_TOO_LONG,
	VT_DLG_CRONTAB_BUSY,
	VT_DLG_UNABLE_TO_CREATE_NEW_CRONTAB,
	VT_DLG_IO_ERROR,
	VT_DLG_BAD_PATH
};
const char *vt_dlg_error_name(enum vt_dlg_error e);

/* ---- controller side ---- */

/* A batch: zero or more crontabs and one-offs, sent in one connection. */
struct vt_dlg_batch;

struct vt_dlg_batch *vt_dlg_batch_new(void);
void vt_dlg_batch_free(struct vt_dlg_batch *b);
/* Starts crontab <legacy path>, e.g. "/home/atlas/crons/2"; the lines that
 * follow (vt_dlg_batch_cronline) belong to it.  An empty crontab is valid. */
int vt_dlg_batch_crontab(struct vt_dlg_batch *b, const char *path) VT_WUR;
int vt_dlg_batch_cronline(struct vt_dlg_batch *b, const char *line) VT_WUR;
/* ONEOFF <path> <command line> */
int vt_dlg_batch_oneoff(struct vt_dlg_batch *b, const char *path,
			const char *command) VT_WUR;
/* The command lines of the batch, each ending in "\n", then the final
 * empty line.  Lines with '\r' or '\n' inside were refused when added. */
int vt_dlg_batch_format(const struct vt_dlg_batch *b, struct vt_buf *out) VT_WUR;

struct vt_dlg_client;

/* A client that logs in with session_id and sends batch (copied): it
 * answers "login:" with C_TO_P_TEST_V1 and "Password:" with the session id
 * followed at once by the whole batch (a good password gets no answer). */
int vt_dlg_client_new(const char *session_id, const struct vt_dlg_batch *batch,
		      struct vt_dlg_client **out) VT_WUR;
void vt_dlg_client_free(struct vt_dlg_client *c);
/* Feeds bytes received from the probe (telnet IAC sequences skipped);
 * appends what to send next to out.  Returns VT_EAGAIN while the dialogue
 * goes on, VT_OK once the probe answered OK, VT_EAUTH on BAD_PASSWORD,
 * VT_EPROTO on another error word (see vt_dlg_client_error) or garbage,
 * VT_ETOOBIG when the probe sends more than 64 KiB without finishing. */
int vt_dlg_client_feed(struct vt_dlg_client *c, const void *in, size_t len,
		       struct vt_buf *out) VT_WUR;
enum vt_dlg_error vt_dlg_client_error(const struct vt_dlg_client *c);

/* ---- probe side ---- */

enum vt_dlg_cmd_type {
	VT_DLG_CMD_CRONTAB,        /* path: a crontab starts (replaces the old one) */
	VT_DLG_CMD_CRONLINE,       /* line: a line of the current crontab (path: its path) */
	VT_DLG_CMD_CRONTAB_END,    /* path: the current crontab is complete */
	VT_DLG_CMD_ONEOFF,         /* path, line: run command once */
	VT_DLG_CMD_REBOOT,
	VT_DLG_CMD_RELOAD
};

struct vt_dlg_cmd {
	enum vt_dlg_cmd_type type;
	const char *path;          /* legacy path as sent, or NULL */
	const char *line;          /* crontab line or one-off command, or NULL */
};

/* Called for each command; returns VT_DLG_OK or the error word to answer
 * (the batch then ends with that error).  A crontab open when the batch
 * ends in an error gets no CRONTAB_END: drop it.  The strings live until
 * the callback returns. */
typedef enum vt_dlg_error (*vt_dlg_cmd_cb)(void *arg, const struct vt_dlg_cmd *cmd);

struct vt_dlg_server;

/* A server for one connection; appends the telnet options, the banner
 * "Atlas probe, see http://atlas.ripe.net/\r\n\r\nProbe <id> (<host>) login: "
 * to greeting. */
int vt_dlg_server_new(long probe_id, const char *host, const char *session_id,
		      vt_dlg_cmd_cb cb, void *arg, struct vt_dlg_server **out,
		      struct vt_buf *greeting) VT_WUR;
void vt_dlg_server_free(struct vt_dlg_server *s);
/* Feeds bytes from the controller, appends replies to out.  Returns
 * VT_EAGAIN while the dialogue goes on, VT_OK when the batch ended with OK,
 * VT_EAUTH after BAD_PASSWORD, VT_EPROTO after another error word; in every
 * case but VT_EAGAIN the caller sends out and closes. */
int vt_dlg_server_feed(struct vt_dlg_server *s, const void *in, size_t len,
		       struct vt_buf *out) VT_WUR;

/* Maps a legacy path (/home/atlas/crons/2, /home/atlas/data/new/x) onto
 * root ("<root>/crons/2").  VT_EINVAL (BAD_PATH) for anything outside
 * /home/atlas/, with "/../", "/./", "//" (also a trailing "/", "/." or
 * "/.."), a control byte or a name over 255 bytes; VT_ETOOBIG when out is
 * too small. */
int vt_dlg_map_path(const char *legacy, const char *root, char *out,
		    size_t outlen) VT_WUR;

#endif
