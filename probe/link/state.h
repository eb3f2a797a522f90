/* state.h - the link state a probe keeps across restarts and lost links
 * (<spool>/status/link.state, "key = value" lines, replaced atomically):
 * what registration and controller INIT returned, so that a restart goes
 * straight to KEEP with the old session id while the re-register timer
 * runs. */
#ifndef VT_PROBE_LINK_STATE_H
#define VT_PROBE_LINK_STATE_H

#include "probe/spool.h"
#include "proto/reg.h"

struct vt_link_state {
	long      probe_id;                 /* 0: never registered */
	char      ctrl_host[256];
	int       ctrl_port;
	char      ctrl_key_type[32];
	char      ctrl_key[8192];           /* base64; "" when unknown */
	long long rereg_at;                 /* unix seconds: register again then */
	int       force_reg;                /* the controller asked (output on KEEP) */
	char      session_id[VT_SESSION_ID_MAX + 1];  /* "" until controller INIT */
	int       remote_port;
};

/* Loads the state; a missing file gives an empty state and VT_OK.
 * VT_EPARSE when the file is damaged (the caller starts from scratch). */
int vt_link_state_load(struct vt_spool *sp, struct vt_link_state *st) VT_WUR;
/* Writes the state atomically, and status/con_session_id.txt
 * ("SESSION_ID <sid>\n") and status/p_to_c_report_header beside it for
 * upload jobs that read them. */
int vt_link_state_save(struct vt_spool *sp, const struct vt_link_state *st) VT_WUR;

#endif
