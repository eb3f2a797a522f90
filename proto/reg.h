/* reg.h - registration INIT and controller INIT (PROTOCOL.md).
 *
 * Pure functions: text in, struct out, and back.  Both the gateway and the
 * probe use them.  Parsers tolerate unknown lines and tags; formatters never
 * emit FIRMWARE_APPS. */
#ifndef VT_PROTO_REG_H
#define VT_PROTO_REG_H

#include <stddef.h>
#include "common/buf.h"

#define VT_SESSION_ID_MAX   80          /* hex characters */
#define VT_REREG_MIN        100L        /* seconds, the probe's clamp */
#define VT_REREG_MAX        (28L * 86400)
#define VT_REG_MAX_LINES    16          /* reply lines after the first */

enum vt_reg_reason {
	VT_REG_NEW,
	VT_REG_FORCE_REG,
	VT_REG_WAIT_OVER,
	VT_REG_REREG_TIMER_EXPIRED,
	VT_REG_UNKNOWN              /* missing or not one of the above */
};

/* stdin of registration INIT:
 *   P_TO_R_INIT
 *   TOKEN_SPECS <arch> <kernel|1000> <firmware> <os/version/machine>
 *   REASON_FOR_REGISTRATION NEW|FORCE_REG|WAIT_OVER|REREG_TIMER_EXPIRED */
struct vt_reg_request {
	char token_specs[512];      /* whole value after "TOKEN_SPECS ", "" if none */
	char arch[64];              /* first word of token_specs */
	char kernel[64];            /* second word */
	long firmware;              /* third word as a number, 0 when absent */
	char os[256];               /* fourth word */
	enum vt_reg_reason reason;
};

/* Parses the request; VT_EPARSE when the first line is not P_TO_R_INIT or a
 * line is over 1024 bytes, VT_ETOOBIG over 16 KiB. */
int vt_reg_request_parse(const char *buf, size_t len,
			 struct vt_reg_request *out) VT_WUR;
/* Appends the request text (ending in "\n") to out. */
int vt_reg_request_format(const struct vt_reg_request *req,
			  struct vt_buf *out) VT_WUR;
const char *vt_reg_reason_name(enum vt_reg_reason r);

/* Reply of registration INIT. */
struct vt_reg_reply {
	int       wait;             /* 1: "WAIT" + TIMEOUT; 0: "OK" */
	long      timeout;          /* WAIT: seconds */
	long long timestamp;        /* REGSERVER_TIMESTAMP, unix seconds */
	long      probe_id;         /* PROBE_ID */
	char      ctrl_host[256];   /* CONTROLLER host, v4 or v6 address */
	int       ctrl_port;
	char      ctrl_key_type[32];/* "ssh-rsa" for stock probes */
	char      ctrl_key[8192];   /* base64 host key; "" when no CONTROLLER line */
	long      rereg;            /* REREGISTER seconds (parse clamps it; 0 when absent) */
};

/* Appends "OK\nREGSERVER_TIMESTAMP ..\nPROBE_ID ..\nCONTROLLER ..\n
 * REREGISTER ..\n" (or "WAIT\nTIMEOUT n\n") to out.  PROBE_ID is left out
 * when probe_id <= 0, CONTROLLER when ctrl_key is "", REREGISTER when rereg
 * is 0 (else clamped); VT_EINVAL for a host, key or port that does not fit
 * one line. */
int vt_reg_reply_format(const struct vt_reg_reply *r, struct vt_buf *out) VT_WUR;
/* Parses a reply as the probe does: unknown tags ignored, at most
 * VT_REG_MAX_LINES lines after the first (later ones ignored), REREGISTER
 * clamped to [VT_REREG_MIN, VT_REREG_MAX] (0 when absent).  VT_EPARSE when
 * the first line is neither OK nor WAIT or a known tag has a malformed
 * value, VT_ETOOBIG over 64 KiB.  Neither side knows FIRMWARE_APPS. */
int vt_reg_reply_parse(const char *buf, size_t len,
		       struct vt_reg_reply *out) VT_WUR;

enum vt_ctrl_status { VT_CTRL_OK, VT_CTRL_WAIT, VT_CTRL_REFUSED };

/* Reply of controller INIT: OK, REMOTE_PORT <n>, SESSION_ID <hex>. */
struct vt_ctrl_reply {
	enum vt_ctrl_status status;
	int  remote_port;                     /* 1..65535 (at most 5 digits) */
	char session_id[VT_SESSION_ID_MAX + 1];
	long timeout;                         /* WAIT: seconds */
};

/* Appends "OK\nREMOTE_PORT n\nSESSION_ID hex\n", "WAIT\nTIMEOUT n\n" or
 * "REFUSED\n"; VT_EINVAL for a bad port or session id. */
int vt_ctrl_reply_format(const struct vt_ctrl_reply *r, struct vt_buf *out) VT_WUR;
/* Parses a controller INIT reply (unknown tags ignored, 16 lines at most).
 * VT_EPARSE for an unknown first word, an OK without a valid REMOTE_PORT
 * (at most 5 digits) and SESSION_ID (hex, at most 80), or a bad value. */
int vt_ctrl_reply_parse(const char *buf, size_t len,
			struct vt_ctrl_reply *out) VT_WUR;

/* 1 when s is 1..VT_SESSION_ID_MAX hex digits, else 0. */
int vt_session_id_valid(const char *s);

#endif
