/* reg.c - registration INIT and controller INIT texts (PROTOCOL.md,
 * "Registration" and "Controller INIT and KEEP"). */
#include "proto/reg.h"

#include <stdio.h>
#include <string.h>

#include "proto/text.h"

#define REQ_MAX_BYTES   (16 * 1024)
#define REQ_MAX_LINE    1024
#define REPLY_MAX_BYTES (64 * 1024)

/* ---- small text helpers ---- */

/* 1 when line (trailing blanks ignored) is exactly word. */
static int line_is(const char *line, size_t n, const char *word)
{
	n = vt_text_rtrim(line, n);
	return n == strlen(word) && memcmp(line, word, n) == 0;
}

/* Splits "TAG value": tag is [A-Z0-9_]+ followed by blanks.  Returns 0 when
 * the line has no such tag; the value has its trailing blanks removed. */
static int split_tag(const char *line, size_t n, const char **tag,
		     size_t *taglen, const char **val, size_t *vallen)
{
	size_t i = 0;

	while (i < n && ((line[i] >= 'A' && line[i] <= 'Z') ||
			 (line[i] >= '0' && line[i] <= '9') || line[i] == '_'))
		i++;
	if (i == 0 || (i < n && !vt_text_is_blank(line[i])))
		return 0;
	*tag = line;
	*taglen = i;
	while (i < n && vt_text_is_blank(line[i]))
		i++;
	*val = line + i;
	*vallen = vt_text_rtrim(line + i, n - i);
	return 1;
}

static int tag_is(const char *tag, size_t n, const char *name)
{
	return n == strlen(name) && memcmp(tag, name, n) == 0;
}

/* Decimal integer (optional '-') filling exactly n bytes, in [min, max]. */
static int parse_num(const char *s, size_t n, long long min, long long max,
		     long long *out)
{
	unsigned long long v = 0;
	size_t i = 0;
	int neg = 0;

	if (n && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n || n - i > 18)
		return VT_EPARSE;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return VT_EPARSE;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if ((neg ? -(long long)v : (long long)v) < min ||
	    (neg ? -(long long)v : (long long)v) > max)
		return VT_EPARSE;
	*out = neg ? -(long long)v : (long long)v;
	return VT_OK;
}

/* Next blank-separated word of s[0..n) from *i. */
static int next_word(const char *s, size_t n, size_t *i,
		     const char **w, size_t *wlen)
{
	size_t st;

	while (*i < n && vt_text_is_blank(s[*i]))
		(*i)++;
	if (*i >= n)
		return 0;
	st = *i;
	while (*i < n && !vt_text_is_blank(s[*i]))
		(*i)++;
	*w = s + st;
	*wlen = *i - st;
	return 1;
}

/* Copies n bytes into dst[size] with a NUL; VT_EPARSE when it does not fit. */
static int copy_str(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		return VT_EPARSE;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return VT_OK;
}

/* 1 when s is non-empty and every byte is in set or alphanumeric. */
static int is_made_of(const char *s, const char *set)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(set, *s)))
			return 0;
	return 1;
}

/* 1 when s holds no control byte (a one-line value). */
static int is_oneline(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' && *s != '\t')
			return 0;
	return 1;
}

int vt_session_id_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return 0;
		if (n >= VT_SESSION_ID_MAX)
			return 0;
	}
	return n > 0;
}

/* ---- registration request ---- */

static const char *const reason_names[] = {
	[VT_REG_NEW] = "NEW",
	[VT_REG_FORCE_REG] = "FORCE_REG",
	[VT_REG_WAIT_OVER] = "WAIT_OVER",
	[VT_REG_REREG_TIMER_EXPIRED] = "REREG_TIMER_EXPIRED",
};

const char *vt_reg_reason_name(enum vt_reg_reason r)
{
	if ((unsigned)r < sizeof reason_names / sizeof reason_names[0])
		return reason_names[r];
	return "UNKNOWN";
}

static int parse_token_specs(const char *v, size_t n, struct vt_reg_request *out)
{
	const char *w;
	size_t wl, i = 0;
	long long fw;
	int r;

	if ((r = copy_str(out->token_specs, sizeof out->token_specs, v, n)) < 0)
		return r;
	if (next_word(v, n, &i, &w, &wl) &&
	    (r = copy_str(out->arch, sizeof out->arch, w, wl)) < 0)
		return r;
	if (next_word(v, n, &i, &w, &wl) &&
	    (r = copy_str(out->kernel, sizeof out->kernel, w, wl)) < 0)
		return r;
	if (next_word(v, n, &i, &w, &wl))
		out->firmware = parse_num(w, wl, 0, 0x7fffffffL, &fw) == 0 ?
				(long)fw : 0;
	if (next_word(v, n, &i, &w, &wl) &&
	    (r = copy_str(out->os, sizeof out->os, w, wl)) < 0)
		return r;
	return VT_OK;
}

int vt_reg_request_parse(const char *buf, size_t len, struct vt_reg_request *out)
{
	const char *line, *tag, *val;
	size_t off = 0, n, tl, vl;
	int first = 1, r;

	memset(out, 0, sizeof *out);
	out->reason = VT_REG_UNKNOWN;
	if (len > REQ_MAX_BYTES)
		return VT_ETOOBIG;
	if (memchr(buf, '\0', len))
		return VT_EPARSE;
	while (vt_text_next_line(buf, len, &off, &line, &n, NULL)) {
		if (n > REQ_MAX_LINE)
			return VT_EPARSE;
		if (first) {
			if (!line_is(line, n, "P_TO_R_INIT"))
				return VT_EPARSE;
			first = 0;
			continue;
		}
		if (!split_tag(line, n, &tag, &tl, &val, &vl))
			continue;
		if (tag_is(tag, tl, "TOKEN_SPECS")) {
			memset(out->token_specs, 0, sizeof out->token_specs);
			out->arch[0] = out->kernel[0] = out->os[0] = '\0';
			out->firmware = 0;
			if ((r = parse_token_specs(val, vl, out)) < 0)
				return r;
		} else if (tag_is(tag, tl, "REASON_FOR_REGISTRATION")) {
			out->reason = VT_REG_UNKNOWN;
			for (size_t k = 0; k < sizeof reason_names / sizeof reason_names[0]; k++)
				if (vl == strlen(reason_names[k]) &&
				    memcmp(val, reason_names[k], vl) == 0)
					out->reason = (enum vt_reg_reason)k;
		}
	}
	return first ? VT_EPARSE : VT_OK;
}

int vt_reg_request_format(const struct vt_reg_request *req, struct vt_buf *out)
{
	size_t start = out->len;
	int r;

	if ((unsigned)req->reason >= VT_REG_UNKNOWN)
		return VT_EINVAL;
	if (!is_oneline(req->token_specs) || !is_oneline(req->arch) ||
	    !is_oneline(req->kernel) || !is_oneline(req->os))
		return VT_EINVAL;
	r = vt_buf_adds(out, "P_TO_R_INIT\nTOKEN_SPECS ");
	if (r == 0 && req->token_specs[0])
		r = vt_buf_adds(out, req->token_specs);
	else if (r == 0)
		r = vt_buf_addf(out, "%s %s %ld %s", req->arch[0] ? req->arch : "-",
				req->kernel[0] ? req->kernel : "1000",
				req->firmware, req->os[0] ? req->os : "-");
	if (r == 0)
		r = vt_buf_addf(out, "\nREASON_FOR_REGISTRATION %s\n",
				vt_reg_reason_name(req->reason));
	if (r < 0 && out->data) {
		out->len = start;
		out->data[start] = '\0';
	}
	return r;
}

/* ---- registration reply ---- */

static long clamp_rereg(long long v)
{
	if (v < VT_REREG_MIN)
		return VT_REREG_MIN;
	if (v > VT_REREG_MAX)
		return VT_REREG_MAX;
	return (long)v;
}

int vt_reg_reply_format(const struct vt_reg_reply *r, struct vt_buf *out)
{
	size_t start = out->len;
	int e;

	if (r->timestamp < 0 || r->timestamp > 1LL << 40)
		return VT_EINVAL;
	if (r->wait) {
		if (r->timeout < 0)
			return VT_EINVAL;
		return vt_buf_addf(out, "WAIT\nTIMEOUT %ld\n", r->timeout);
	}
	/* host name or address, base64 key, key type: none can spell a tag */
	if (r->ctrl_key[0] &&
	    (!is_made_of(r->ctrl_host, ".-:") || !is_made_of(r->ctrl_key, "+/=") ||
	     r->ctrl_port < 1 || r->ctrl_port > 65535 ||
	     (r->ctrl_key_type[0] && !is_made_of(r->ctrl_key_type, "-.@"))))
		return VT_EINVAL;
	e = vt_buf_addf(out, "OK\nREGSERVER_TIMESTAMP %lld\n", r->timestamp);
	if (e == 0 && r->probe_id > 0)
		e = vt_buf_addf(out, "PROBE_ID %ld\n", r->probe_id);
	if (e == 0 && r->ctrl_key[0])
		e = vt_buf_addf(out, "CONTROLLER %s %d %s %s\n", r->ctrl_host,
				r->ctrl_port,
				r->ctrl_key_type[0] ? r->ctrl_key_type : "ssh-rsa",
				r->ctrl_key);
	if (e == 0 && r->rereg)
		e = vt_buf_addf(out, "REREGISTER %ld\n", clamp_rereg(r->rereg));
	if (e < 0 && out->data) {
		out->len = start;
		out->data[start] = '\0';
	}
	return e;
}

static int parse_controller(const char *v, size_t n, struct vt_reg_reply *out)
{
	const char *w;
	size_t wl, i = 0;
	long long port;

	if (!next_word(v, n, &i, &w, &wl) ||
	    copy_str(out->ctrl_host, sizeof out->ctrl_host, w, wl) < 0)
		return VT_EPARSE;
	if (!next_word(v, n, &i, &w, &wl) || wl > 5 ||
	    parse_num(w, wl, 1, 65535, &port) < 0)
		return VT_EPARSE;
	out->ctrl_port = (int)port;
	if (!next_word(v, n, &i, &w, &wl) ||
	    copy_str(out->ctrl_key_type, sizeof out->ctrl_key_type, w, wl) < 0)
		return VT_EPARSE;
	if (!next_word(v, n, &i, &w, &wl) ||
	    copy_str(out->ctrl_key, sizeof out->ctrl_key, w, wl) < 0)
		return VT_EPARSE;
	/* A trailing comment after the key (as in authorized_keys) is ignored. */
	return VT_OK;
}

int vt_reg_reply_parse(const char *buf, size_t len, struct vt_reg_reply *out)
{
	const char *line, *tag, *val;
	size_t off = 0, n, tl, vl;
	long long num;
	int nlines = -1;

	memset(out, 0, sizeof *out);
	if (len > REPLY_MAX_BYTES)
		return VT_ETOOBIG;
	if (memchr(buf, '\0', len))
		return VT_EPARSE;
	while (nlines < VT_REG_MAX_LINES &&
	       vt_text_next_line(buf, len, &off, &line, &n, NULL)) {
		nlines++;
		if (nlines == 0) {
			if (line_is(line, n, "WAIT"))
				out->wait = 1;
			else if (!line_is(line, n, "OK"))
				return VT_EPARSE;
			continue;
		}
		if (!split_tag(line, n, &tag, &tl, &val, &vl))
			continue;
		if (tag_is(tag, tl, "REGSERVER_TIMESTAMP")) {
			if (parse_num(val, vl, 0, 1LL << 40, &num) < 0)
				return VT_EPARSE;
			out->timestamp = num;
		} else if (tag_is(tag, tl, "PROBE_ID")) {
			if (parse_num(val, vl, 1, 0x7fffffffL, &num) < 0)
				return VT_EPARSE;
			out->probe_id = (long)num;
		} else if (tag_is(tag, tl, "CONTROLLER")) {
			if (parse_controller(val, vl, out) < 0)
				return VT_EPARSE;
		} else if (tag_is(tag, tl, "REREGISTER")) {
			if (parse_num(val, vl, -(1LL << 40), 1LL << 40, &num) < 0)
				return VT_EPARSE;
			out->rereg = clamp_rereg(num);
		} else if (tag_is(tag, tl, "TIMEOUT")) {
			if (parse_num(val, vl, 0, 0x7fffffffL, &num) < 0)
				return VT_EPARSE;
			out->timeout = (long)num;
		}
	}
	return nlines < 0 ? VT_EPARSE : VT_OK;
}

/* ---- controller INIT reply ---- */

int vt_ctrl_reply_format(const struct vt_ctrl_reply *r, struct vt_buf *out)
{
	switch (r->status) {
	case VT_CTRL_OK:
		if (r->remote_port < 1 || r->remote_port > 65535 ||
		    !vt_session_id_valid(r->session_id))
			return VT_EINVAL;
		return vt_buf_addf(out, "OK\nREMOTE_PORT %d\nSESSION_ID %s\n",
				   r->remote_port, r->session_id);
	case VT_CTRL_WAIT:
		if (r->timeout < 0)
			return VT_EINVAL;
		return vt_buf_addf(out, "WAIT\nTIMEOUT %ld\n", r->timeout);
	case VT_CTRL_REFUSED:
		return vt_buf_adds(out, "REFUSED\n");
	}
	return VT_EINVAL;
}

int vt_ctrl_reply_parse(const char *buf, size_t len, struct vt_ctrl_reply *out)
{
	const char *line, *tag, *val;
	size_t off = 0, n, tl, vl;
	long long num;
	int nlines = -1;

	memset(out, 0, sizeof *out);
	if (len > REPLY_MAX_BYTES)
		return VT_ETOOBIG;
	if (memchr(buf, '\0', len))
		return VT_EPARSE;
	while (nlines < VT_REG_MAX_LINES &&
	       vt_text_next_line(buf, len, &off, &line, &n, NULL)) {
		nlines++;
		if (nlines == 0) {
			if (line_is(line, n, "OK"))
				out->status = VT_CTRL_OK;
			else if (line_is(line, n, "WAIT"))
				out->status = VT_CTRL_WAIT;
			else if (line_is(line, n, "REFUSED"))
				out->status = VT_CTRL_REFUSED;
			else
				return VT_EPARSE;
			continue;
		}
		if (!split_tag(line, n, &tag, &tl, &val, &vl))
			continue;
		if (tag_is(tag, tl, "REMOTE_PORT")) {
			if (vl > 5 || parse_num(val, vl, 1, 65535, &num) < 0)
				return VT_EPARSE;
			out->remote_port = (int)num;
		} else if (tag_is(tag, tl, "SESSION_ID")) {
			if (vl > VT_SESSION_ID_MAX ||
			    copy_str(out->session_id, sizeof out->session_id, val, vl) < 0 ||
			    !vt_session_id_valid(out->session_id))
				return VT_EPARSE;
		} else if (tag_is(tag, tl, "TIMEOUT")) {
			if (parse_num(val, vl, 0, 0x7fffffffL, &num) < 0)
				return VT_EPARSE;
			out->timeout = (long)num;
		}
	}
	if (nlines < 0)
		return VT_EPARSE;
	if (out->status == VT_CTRL_OK &&
	    (out->remote_port == 0 || out->session_id[0] == '\0'))
		return VT_EPARSE;
	return VT_OK;
}
