/* upload.h - the httppost upload (PROTOCOL.md, "Upload"): the HTTP request
 * through the local forward, its P_TO_C_REPORT body, and the reply.
 *
 * Pure functions.  The sink parses, the probe formats, and back. */
#ifndef VT_PROTO_UPLOAD_H
#define VT_PROTO_UPLOAD_H

#include <stddef.h>
#include "common/buf.h"
#include "proto/reg.h"

#define VT_UPLOAD_MAX_BODY  1000000     /* bytes of one post */
#define VT_UPLOAD_MAX_HEAD  8192        /* bytes of the request head */

/* Request head of an upload. */
struct vt_upload_req {
	char      method[8];                /* "POST" */
	long      probe_id;                 /* from ?PROBE_ID=, -1 if absent */
	char      session_id[VT_SESSION_ID_MAX + 1];  /* from &SESSION_ID= */
	char      src[32];                  /* from &SRC= (e.g. "oneoff"), or "" */
	long      content_length;           /* -1 if absent */
	size_t    head_len;                 /* bytes up to and including CRLFCRLF */
};

/* Parses the request head at the start of buf.  VT_EAGAIN when the head is
 * not complete yet, VT_ETOOBIG past VT_UPLOAD_MAX_HEAD or a Content-Length
 * over VT_UPLOAD_MAX_BODY, VT_EPARSE for anything malformed (bad request
 * line, duplicate or non-numeric Content-Length, chunked encoding). */
int vt_upload_req_parse(const char *buf, size_t len,
			struct vt_upload_req *out) VT_WUR;

/* Called for each "RESULT {json}" line of a body with the JSON text (from
 * '{' to the end of the line, trailing blanks removed).  A negative return
 * stops the parse and is returned by vt_report_parse. */
typedef int (*vt_report_cb)(void *arg, const char *json, size_t len);

/* Parses a P_TO_C_REPORT body: first line P_TO_C_REPORT, then RESULT lines
 * (legacy "RESULT <digits> ..." status lines, condmv markers and unknown
 * lines are tolerated and skipped), and a final "SESSION_ID <sid>" line
 * copied into session_id ("" when absent).  *nresults counts callbacks
 * (nresults, cb and session_id may be NULL).  The json passed to cb points
 * into body and is not NUL-terminated.  VT_EPARSE when the first line is
 * not P_TO_C_REPORT, when the SESSION_ID value does not fit sidlen or two
 * SESSION_ID lines differ (callbacks may have run before: treat the whole
 * body as refused); VT_ETOOBIG over VT_UPLOAD_MAX_BODY. */
int vt_report_parse(const char *body, size_t len, vt_report_cb cb, void *arg,
		    char *session_id, size_t sidlen, int *nresults) VT_WUR;

/* Why a RESULT line cannot be queued as text. */
enum vt_line_fault {
	VT_LINE_OK = 0,
	VT_LINE_NUL,           /* a NUL byte */
	VT_LINE_UTF8           /* not UTF-8 (RFC 3629: no overlong forms, no
				  surrogates, nothing past U+10FFFF) */
};

/* Checks a result line (the json a vt_report_cb gets) before it is queued
 * as text; on a fault *at (may be NULL) is the offset of the first bad
 * byte. */
enum vt_line_fault vt_report_line_check(const char *s, size_t n, size_t *at);
/* "NUL byte", "not UTF-8", or "" for VT_LINE_OK. */
const char *vt_line_fault_name(enum vt_line_fault f);
/* Appends s to out as storable text: each NUL byte and each byte that is
 * not part of a valid UTF-8 sequence becomes the four characters \xNN (hex),
 * everything else is copied.  The result always passes
 * vt_report_line_check. */
int vt_report_line_escape(struct vt_buf *out, const char *s, size_t n) VT_WUR;

/* Appends a whole upload request (head and body) to out:
 * "POST /?PROBE_ID=<id>&SESSION_ID=<sid>[&SRC=<src>] HTTP/1.1" and the
 * headers httppost sends. */
int vt_upload_req_format(struct vt_buf *out, long probe_id,
			 const char *session_id, const char *src,
			 const char *body, size_t body_len) VT_WUR;

/* Appends an HTTP/1.1 reply with Date (from now, unix seconds),
 * Connection: close, Content-Type: text/plain and Content-Length. */
int vt_upload_reply_format(struct vt_buf *out, int status, const char *reason,
			   const char *body, long long now) VT_WUR;

/* Parses a whole reply: status code, the body, and the Date header as unix
 * seconds (-1 when absent or unparsable).  VT_EAGAIN when incomplete (with
 * Content-Length) - a reply without Content-Length ends at EOF, so pass
 * eof=1 then.  VT_EPARSE when malformed (or chunked), VT_ETOOBIG when the
 * head passes 8 KiB.  *body points into buf. */
int vt_upload_reply_parse(const char *buf, size_t len, int eof, int *status,
			  const char **body, size_t *body_len,
			  long long *date) VT_WUR;

/* An RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", exactly n
 * bytes) as unix seconds, or -1 when malformed or before 1970. */
long long vt_http_date_parse(const char *s, size_t n);

/* 1 when a reply acknowledges the upload: 2xx and body starting "OK\n". */
int vt_upload_acked(int status, const char *body, size_t body_len);

#endif
