/* push.h - command pushes: a batch of dialogue lines delivered to a probe
 * over a forwarded-tcpip channel (PROTOCOL.md, "Command dialogue").
 *
 * A batch is stored (probe_pushes.batch, the FILE of `vantage probe push`)
 * as text, one command a line:
 *   CRONTAB /home/atlas/crons/<n>
 *   CRONLINE <crontab line>
 *   ONEOFF /home/atlas/crons/oneoff <command line>
 * Blank lines and lines starting with '#' are skipped. */
#ifndef VT_GW_PUSH_H
#define VT_GW_PUSH_H

#include <stddef.h>
#include "common/buf.h"
#include "common/err.h"
#include "proto/dialogue.h"

#define GW_PUSH_MAX_TEXT  (256 * 1024)  /* bytes of a stored batch */

/* Parses batch text into a dialogue batch (caller frees).  VT_EPARSE with
 * "line N: reason" in err for an unknown command, a CRONLINE outside a
 * crontab or a line the dialogue refuses; VT_ETOOBIG over GW_PUSH_MAX_TEXT. */
int gw_batch_parse(const char *text, size_t len, struct vt_dlg_batch **out,
		   char *err, size_t errlen) VT_WUR;

/* One push in progress: the controller side of one dialogue. */
struct gw_push;

/* Starts push push_id of batch text, logging in with session_id. */
int gw_push_new(long push_id, const char *session_id, const char *text,
		struct gw_push **out) VT_WUR;
void gw_push_free(struct gw_push *p);
long gw_push_id(const struct gw_push *p);
/* Feeds bytes from the probe; appends what to send to out.  Returns
 * VT_EAGAIN while the dialogue goes on, VT_OK when the probe answered OK,
 * another VT_E* code when it failed (gw_push_outcome says why). */
int gw_push_feed(struct gw_push *p, const void *in, size_t len,
		 struct vt_buf *out) VT_WUR;
/* The outcome word: "OK", the probe's error word, or a transport reason
 * set with gw_push_fail. */
const char *gw_push_outcome(const struct gw_push *p);
/* Ends the push with a transport reason (e.g. "CLOSED", "TIMEOUT"). */
void gw_push_fail(struct gw_push *p, const char *reason);

#endif
