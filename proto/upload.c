/* upload.c - the httppost upload: request head, P_TO_C_REPORT body, reply
 * (PROTOCOL.md, "Upload"). */
#include "proto/upload.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "proto/text.h"

#define REPLY_MAX_HEAD 8192

/* ---- small text helpers ---- */

static int starts(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);

	return n >= p && memcmp(s, prefix, p) == 0;
}

/* Unsigned decimal filling exactly n bytes (1..18 digits). */
static int parse_uint(const char *s, size_t n, long long *out)
{
	long long v = 0;

	if (n == 0 || n > 18)
		return VT_EPARSE;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return VT_EPARSE;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return VT_OK;
}

static int is_src_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* Header "Name: value" of line[0..n): value with blanks trimmed. */
static int split_header(const char *line, size_t n, const char **name,
			size_t *nlen, const char **val, size_t *vlen)
{
	const char *colon = memchr(line, ':', n);
	size_t i;

	if (!colon || colon == line)
		return VT_EPARSE;
	for (const char *p = line; p < colon; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return VT_EPARSE;
	*name = line;
	*nlen = (size_t)(colon - line);
	i = *nlen + 1;
	while (i < n && vt_text_is_blank(line[i]))
		i++;
	*val = line + i;
	*vlen = vt_text_rtrim(line + i, n - i);
	return VT_OK;
}

static int name_is(const char *name, size_t n, const char *want)
{
	return n == strlen(want) && strncasecmp(name, want, n) == 0;
}

/* ---- request head ---- */

/* The query of the request target: PROBE_ID, SESSION_ID, SRC. */
static int parse_query(const char *q, size_t n, struct vt_upload_req *out)
{
	int seen_id = 0, seen_sid = 0, seen_src = 0;
	size_t i = 0;

	while (i < n) {
		const char *p = q + i, *amp = memchr(p, '&', n - i), *eq;
		size_t plen = amp ? (size_t)(amp - p) : n - i, vlen;
		long long num;

		i += plen + 1;
		eq = memchr(p, '=', plen);
		if (!eq)
			continue;
		vlen = plen - (size_t)(eq + 1 - p);
		if (starts(p, plen, "PROBE_ID=")) {
			if (seen_id++ || parse_uint(eq + 1, vlen, &num) < 0 ||
			    num > 0x7fffffffL)
				return VT_EPARSE;
			out->probe_id = (long)num;
		} else if (starts(p, plen, "SESSION_ID=")) {
			if (seen_sid++ || vlen > VT_SESSION_ID_MAX)
				return VT_EPARSE;
			for (size_t k = 0; k < vlen; k++)
				if (!is_hex(eq[1 + k]))
					return VT_EPARSE;
			memcpy(out->session_id, eq + 1, vlen);
			out->session_id[vlen] = '\0';
		} else if (starts(p, plen, "SRC=")) {
			if (seen_src++ || vlen >= sizeof out->src)
				return VT_EPARSE;
			for (size_t k = 0; k < vlen; k++)
				if (!is_src_char(eq[1 + k]))
					return VT_EPARSE;
			memcpy(out->src, eq + 1, vlen);
			out->src[vlen] = '\0';
		}
	}
	return VT_OK;
}

static int parse_request_line(const char *line, size_t n, struct vt_upload_req *out)
{
	const char *sp1, *sp2, *target, *q;
	size_t mlen, tlen;

	sp1 = memchr(line, ' ', n);
	if (!sp1)
		return VT_EPARSE;
	mlen = (size_t)(sp1 - line);
	if (mlen == 0 || mlen >= sizeof out->method)
		return VT_EPARSE;
	for (size_t i = 0; i < mlen; i++)
		if (line[i] < 'A' || line[i] > 'Z')
			return VT_EPARSE;
	memcpy(out->method, line, mlen);
	out->method[mlen] = '\0';
	target = sp1 + 1;
	sp2 = memchr(target, ' ', n - mlen - 1);
	if (!sp2)
		return VT_EPARSE;
	tlen = (size_t)(sp2 - target);
	if (tlen == 0 || target[0] != '/')
		return VT_EPARSE;
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= ' ' || target[i] == 0x7f)
			return VT_EPARSE;
	if ((size_t)(line + n - (sp2 + 1)) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
		return VT_EPARSE;
	q = memchr(target, '?', tlen);
	if (!q)
		return VT_OK;
	return parse_query(q + 1, tlen - (size_t)(q + 1 - target), out);
}

int vt_upload_req_parse(const char *buf, size_t len, struct vt_upload_req *out)
{
	const char *line, *name, *val;
	size_t off = 0, n, nl, vl, scan = len;
	int complete, first = 1, r;
	long long num;

	memset(out, 0, sizeof *out);
	out->probe_id = -1;
	out->content_length = -1;
	if (scan > VT_UPLOAD_MAX_HEAD)
		scan = VT_UPLOAD_MAX_HEAD;
	while (vt_text_next_line(buf, scan, &off, &line, &n, &complete)) {
		if (!complete)
			break;
		if (memchr(line, '\0', n))
			return VT_EPARSE;
		if (first) {
			if ((r = parse_request_line(line, n, out)) < 0)
				return r;
			first = 0;
			continue;
		}
		if (n == 0) {
			out->head_len = off;
			return VT_OK;
		}
		if (vt_text_is_blank(line[0]))           /* obsolete line folding */
			return VT_EPARSE;
		if (split_header(line, n, &name, &nl, &val, &vl) < 0)
			return VT_EPARSE;
		if (name_is(name, nl, "Content-Length")) {
			if (out->content_length >= 0 || parse_uint(val, vl, &num) < 0)
				return VT_EPARSE;
			if (num > VT_UPLOAD_MAX_BODY)
				return VT_ETOOBIG;
			out->content_length = (long)num;
		} else if (name_is(name, nl, "Transfer-Encoding")) {
			return VT_EPARSE;
		}
	}
	return len >= VT_UPLOAD_MAX_HEAD ? VT_ETOOBIG : VT_EAGAIN;
}

int vt_upload_req_format(struct vt_buf *out, long probe_id,
			 const char *session_id, const char *src,
			 const char *body, size_t body_len)
{
	size_t start = out->len;
	int r;

	if (probe_id < 0 || !vt_session_id_valid(session_id))
		return VT_EINVAL;
	if (src && *src) {
		if (strlen(src) >= sizeof ((struct vt_upload_req *)0)->src)
			return VT_EINVAL;
		for (const char *p = src; *p; p++)
			if (!is_src_char(*p))
				return VT_EINVAL;
	}
	if (body_len > VT_UPLOAD_MAX_BODY)
		return VT_ETOOBIG;
	r = vt_buf_addf(out, "POST /?PROBE_ID=%ld&SESSION_ID=%s%s%s HTTP/1.1\r\n"
			"Host: 127.0.0.1:8080\r\n"
			"Connection: close\r\n"
			"User-Agent: httppost for atlas.ripe.net\r\n"
			"Content-Type: application/x-www-form-urlencoded\r\n"
			"Content-Length: %zu\r\n\r\n",
			probe_id, session_id, src && *src ? "&SRC=" : "",
			src && *src ? src : "", body_len);
	if (r == 0 && body_len)
		r = vt_buf_add(out, body, body_len);
	if (r < 0 && out->data) {
		out->len = start;
		out->data[start] = '\0';
	}
	return r;
}

/* ---- report body ---- */

int vt_report_parse(const char *body, size_t len, vt_report_cb cb, void *arg,
		    char *session_id, size_t sidlen, int *nresults)
{
	const char *line;
	size_t off = 0, n;
	int first = 1, count = 0, have_sid = 0, r = VT_OK;

	if (session_id && sidlen)
		session_id[0] = '\0';
	if (nresults)
		*nresults = 0;
	if (len > VT_UPLOAD_MAX_BODY)
		return VT_ETOOBIG;
	while (vt_text_next_line(body, len, &off, &line, &n, NULL)) {
		n = vt_text_rtrim(line, n);
		if (first) {
			if (n != 13 || memcmp(line, "P_TO_C_REPORT", 13) != 0)
				return VT_EPARSE;
			first = 0;
			continue;
		}
		if (starts(line, n, "RESULT ")) {
			size_t i = 7;

			while (i < n && vt_text_is_blank(line[i]))
				i++;
			if (i == n || line[i] != '{')
				continue;               /* legacy status line */
			count++;
			if (nresults)
				*nresults = count;
			if (cb && (r = cb(arg, line + i, n - i)) < 0)
				return r;
		} else if (starts(line, n, "SESSION_ID ")) {
			size_t i = 11;

			while (i < n && vt_text_is_blank(line[i]))
				i++;
			if (session_id && sidlen) {
				if (n - i >= sidlen || memchr(line + i, '\0', n - i))
					return VT_EPARSE;
				if (have_sid && (strlen(session_id) != n - i ||
						 memcmp(session_id, line + i, n - i) != 0))
					return VT_EPARSE;
				memcpy(session_id, line + i, n - i);
				session_id[n - i] = '\0';
			}
			have_sid = 1;
		}
		/* condmv markers "9999 <time> <path>", blank and unknown
		 * lines are skipped. */
	}
	return first ? VT_EPARSE : VT_OK;
}

/* ---- result lines ---- */

/* Length of the valid UTF-8 sequence at s[0..n), 0 when there is none
 * (NUL counts as none: it cannot be stored as text). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;          /* overlong */
		else if (c == 0xed)
			hi = 0x9f;          /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;          /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;          /* past U+10FFFF */
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

enum vt_line_fault vt_report_line_check(const char *s, size_t n, size_t *at)
{
	const unsigned char *u = (const unsigned char *)s;
	const uint64_t high = 0x8080808080808080ULL, ones = 0x0101010101010101ULL;
	size_t i = 0, k;

	while (i < n) {
		/* Eight bytes at a time while they are ASCII and none is NUL
		 * (a line is mostly ASCII JSON); the first other byte is
		 * looked at one by one below. */
		for (uint64_t w; i + 8 <= n; i += 8) {
			memcpy(&w, u + i, 8);
			if ((w & high) || ((w - ones) & ~w & high))
				break;
		}
		if (i == n)
			break;
		if (u[i] > 0 && u[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_seq(u + i, n - i)) == 0) {
			if (at)
				*at = i;
			return u[i] == 0 ? VT_LINE_NUL : VT_LINE_UTF8;
		}
		i += k;
	}
	return VT_LINE_OK;
}

const char *vt_line_fault_name(enum vt_line_fault f)
{
	switch (f) {
	case VT_LINE_NUL:  return "NUL byte";
	case VT_LINE_UTF8: return "not UTF-8";
	case VT_LINE_OK:   break;
	}
	return "";
}

int vt_report_line_escape(struct vt_buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, start = 0, k;
	int rc;

	while (i < n) {
		if ((k = utf8_seq(u + i, n - i)) > 0) {
			i += k;
			continue;
		}
		if ((rc = vt_buf_add(out, s + start, i - start)) < 0 ||
		    (rc = vt_buf_addf(out, "\\x%02x", u[i])) < 0)
			return rc;
		start = ++i;
	}
	return vt_buf_add(out, s + start, n - start);
}

/* ---- reply ---- */

static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1..12). */
static long long days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Appends "Sun, 06 Nov 1994 08:49:37 GMT" for unix seconds t. */
static int add_imf_date(struct vt_buf *out, long long t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		return VT_EINVAL;
	return vt_buf_addf(out, "%s, %02d %s %04d %02d:%02d:%02d GMT",
			   wdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
			   tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int two_digits(const char *s, int *v)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return 0;
}

/* IMF-fixdate (RFC 7231) to unix seconds, -1 when malformed. */
long long vt_http_date_parse(const char *s, size_t n)
{
	int day, mon = -1, wday = -1, hh, mm, ss, year = 0;

	/* "Sun, 06 Nov 1994 08:49:37 GMT" is 29 bytes. */
	if (n != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
	    s[16] != ' ' || s[19] != ':' || s[22] != ':' || s[25] != ' ' ||
	    memcmp(s + 26, "GMT", 3) != 0)
		return -1;
	for (int i = 0; i < 7 && wday < 0; i++)
		if (memcmp(s, wdays[i], 3) == 0)
			wday = i;
	for (int i = 0; i < 12; i++)
		if (memcmp(s + 8, months[i], 3) == 0)
			mon = i + 1;
	if (mon < 0 || wday < 0 || two_digits(s + 5, &day) || two_digits(s + 17, &hh) ||
	    two_digits(s + 20, &mm) || two_digits(s + 23, &ss))
		return -1;
	for (int i = 12; i < 16; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		year = year * 10 + (s[i] - '0');
	}
	if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970)
		return -1;
	return days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
}

int vt_upload_reply_format(struct vt_buf *out, int status, const char *reason,
			   const char *body, long long now)
{
	size_t start = out->len, blen = body ? strlen(body) : 0;
	int r;

	if (status < 100 || status > 999 || !reason || strpbrk(reason, "\r\n"))
		return VT_EINVAL;
	r = vt_buf_addf(out, "HTTP/1.1 %d %s\r\nDate: ", status, reason);
	if (r == 0)
		r = add_imf_date(out, now);
	if (r == 0)
		r = vt_buf_addf(out, "\r\nConnection: close\r\n"
				"Content-Type: text/plain\r\n"
				"Content-Length: %zu\r\n\r\n", blen);
	if (r == 0 && blen)
		r = vt_buf_add(out, body, blen);
	if (r < 0 && out->data) {
		out->len = start;
		out->data[start] = '\0';
	}
	return r;
}

int vt_upload_reply_parse(const char *buf, size_t len, int eof, int *status,
			  const char **body, size_t *body_len, long long *date)
{
	const char *line, *name, *val;
	size_t off = 0, n, nl, vl, scan = len;
	long long clen = -1, num, dt = -1;
	int complete, first = 1, st = 0;

	*status = 0;
	*body = NULL;
	*body_len = 0;
	*date = -1;
	if (scan > REPLY_MAX_HEAD)
		scan = REPLY_MAX_HEAD;
	while (vt_text_next_line(buf, scan, &off, &line, &n, &complete)) {
		if (!complete)
			break;
		if (memchr(line, '\0', n))
			return VT_EPARSE;
		if (first) {
			/* "HTTP/1.x DDD reason" */
			if (n < 12 || memcmp(line, "HTTP/1.", 7) != 0 ||
			    (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
			    parse_uint(line + 9, 3, &num) < 0 || num < 100 ||
			    (n > 12 && line[12] != ' '))
				return VT_EPARSE;
			st = (int)num;
			first = 0;
			continue;
		}
		if (n == 0) {
			size_t left = len - off;

			if (clen >= 0) {
				if (left < (size_t)clen)
					return eof ? VT_EPARSE : VT_EAGAIN;
				left = (size_t)clen;
			} else if (!eof) {
				return VT_EAGAIN;
			}
			*status = st;
			*date = dt;
			*body = buf + off;
			*body_len = left;
			return VT_OK;
		}
		if (vt_text_is_blank(line[0]) || split_header(line, n, &name, &nl, &val, &vl) < 0)
			return VT_EPARSE;
		if (name_is(name, nl, "Content-Length")) {
			if (clen >= 0 || parse_uint(val, vl, &num) < 0)
				return VT_EPARSE;
			clen = num;
		} else if (name_is(name, nl, "Transfer-Encoding")) {
			return VT_EPARSE;
		} else if (name_is(name, nl, "Date")) {
			dt = vt_http_date_parse(val, vl);
		}
	}
	if (len >= REPLY_MAX_HEAD)
		return VT_ETOOBIG;
	return eof ? VT_EPARSE : VT_EAGAIN;
}

int vt_upload_acked(int status, const char *body, size_t body_len)
{
	return status >= 200 && status <= 299 && body && body_len >= 3 &&
	       memcmp(body, "OK\n", 3) == 0;
}
