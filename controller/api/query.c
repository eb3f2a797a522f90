/* query.c - request paths, query strings, list filters, error objects. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/api/query.h"

int vt_api_fail(struct vt_api_err *err, int status, int is_pointer,
		const char *source, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->is_pointer = is_pointer;
	snprintf(err->source, sizeof err->source, "%s", source ? source : "");
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof err->detail, fmt, ap);
	va_end(ap);
	return VT_EPARSE;
}

#define PFAIL(name, ...) vt_api_fail(err, 400, 0, (name), __VA_ARGS__)

/* ---- query string --------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes in[0..n) into *o (NUL-terminated); VT_EPARSE on a bad escape
 * or a NUL byte. */
static int pct_decode(const char *in, size_t n, char **o)
{
	char *w = *o;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int h, l;

			if (i + 2 >= n)
				return VT_EPARSE;
			h = hexval((unsigned char)in[i + 1]);
			l = hexval((unsigned char)in[i + 2]);
			if (h < 0 || l < 0)
				return VT_EPARSE;
			c = h * 16 + l;
			i += 2;
		}
		if (c == 0)
			return VT_EPARSE;
		*w++ = (char)c;
	}
	*w++ = '\0';
	*o = w;
	return 0;
}

int vt_qs_parse(const char *qs, size_t len, struct vt_qs *out,
		struct vt_api_err *err)
{
	char *w = out->buf;
	size_t i = 0;

	out->n = 0;
	if (len > VT_API_URL_MAX)
		return vt_api_fail(err, 414, 0, "", "the request target is over %d bytes",
				   VT_API_URL_MAX);
	while (i < len) {
		size_t s = i, e, eq;

		while (i < len && qs[i] != '&')
			i++;
		e = i++;
		if (e == s)
			continue;
		if (out->n >= VT_API_QS_MAX)
			return vt_api_fail(err, 400, 0, "", "over %d query parameters",
					   VT_API_QS_MAX);
		for (eq = s; eq < e && qs[eq] != '='; eq++)
			;
		out->p[out->n].raw = qs + s;
		out->p[out->n].rawlen = e - s;
		out->p[out->n].name = w;
		if (pct_decode(qs + s, eq - s, &w) < 0)
			return PFAIL("", "a query parameter name has a bad %%-escape");
		out->p[out->n].value = w;
		if (pct_decode(qs + (eq < e ? eq + 1 : e), eq < e ? e - eq - 1 : 0,
			       &w) < 0)
			return PFAIL(out->p[out->n].name,
				     "the value has a bad %%-escape");
		out->n++;
	}
	return 0;
}

const char *vt_qs_get(const struct vt_qs *q, const char *name)
{
	for (int i = q->n - 1; i >= 0; i--)
		if (!strcmp(q->p[i].name, name))
			return q->p[i].value;
	return NULL;
}

/* A value given and not empty. */
static const char *qs_val(const struct vt_qs *q, const char *name)
{
	const char *v = vt_qs_get(q, name);

	return v && *v ? v : NULL;
}

/* ---- paths ---------------------------------------------------------- */

static int slug_ok(const char *s, size_t n, const char *extra)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    !strchr(extra, s[i]))
			return 0;
	return 1;
}

/* Strict decimal in 1..max. */
static int parse_id(const char *s, size_t n, long long max, long long *out)
{
	long long v = 0;

	if (n == 0 || n > 19)
		return VT_EPARSE;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return VT_EPARSE;
		if (v > (max - (s[i] - '0')) / 10)
			return VT_EPARSE;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1)
		return VT_EPARSE;
	*out = v;
	return 0;
}

int vt_api_path_parse(const char *path, struct vt_api_path *out,
		      struct vt_api_err *err)
{
	static const char pre[] = "/api/v2/";
	const char *seg[5];
	size_t len[5];
	int n = 0;
	const char *p;

	memset(out, 0, sizeof *out);
	if (!strncmp(path, "/catchment/", 11)) {
		p = path + 11;
		n = (int)strcspn(p, "/");
		if (n == 0 || (p[n] && strcmp(p + n, "/")) ||
		    parse_id(p, (size_t)n, LLONG_MAX / 2, &out->id) < 0)
			goto notfound;
		out->route = VT_R_CATCHMENT_PAGE;
		return 0;
	}
	if (strncmp(path, pre, sizeof pre - 1))
		goto notfound;
	p = path + sizeof pre - 1;
	while (*p) {
		const char *s = p;

		while (*p && *p != '/')
			p++;
		if (p == s || n == 5)
			goto notfound;
		seg[n] = s;
		len[n++] = (size_t)(p - s);
		if (*p == '/')
			p++;
	}
#define SEG(i, lit) (len[i] == sizeof(lit) - 1 && !memcmp(seg[i], lit, len[i]))
	if (n == 0)
		goto notfound;
	if (SEG(0, "measurements")) {
		if (n == 1) {
			out->route = VT_R_MSM_LIST;
			return 0;
		}
		if (parse_id(seg[1], len[1], LLONG_MAX / 2, &out->id) < 0)
			return vt_api_fail(err, 404, 0, "id", "no measurement %.*s",
					   (int)(len[1] > 40 ? 40 : len[1]), seg[1]);
		if (n == 2)
			out->route = VT_R_MSM;
		else if (n == 3 && SEG(2, "results"))
			out->route = VT_R_MSM_RESULTS;
		else if (n == 3 && SEG(2, "latest"))
			out->route = VT_R_MSM_LATEST;
		else if (n == 3 && SEG(2, "participation-requests"))
			out->route = VT_R_MSM_PART;
		else if (n == 3 && SEG(2, "tags"))
			out->route = VT_R_MSM_TAGS;
		else if (n == 3 && SEG(2, "catchment"))
			out->route = VT_R_MSM_CATCHMENT;
		else if (n == 4 && SEG(2, "tags") && slug_ok(seg[3], len[3], "-_")) {
			out->route = VT_R_MSM_TAG;
			memcpy(out->tag, seg[3], len[3]);
			out->tag[len[3]] = '\0';
		} else
			goto notfound;
		return 0;
	}
	if (SEG(0, "probes") || SEG(0, "anchors")) {
		int probes = SEG(0, "probes");

		if (n == 1) {
			out->route = probes ? VT_R_PROBE_LIST : VT_R_ANCHOR_LIST;
			return 0;
		}
		if (n > 2)
			goto notfound;
		if (parse_id(seg[1], len[1], INT_MAX, &out->id) < 0)
			return vt_api_fail(err, 404, 0, "id", "no %s %.*s",
					   probes ? "probe" : "anchor",
					   (int)(len[1] > 40 ? 40 : len[1]), seg[1]);
		out->route = probes ? VT_R_PROBE : VT_R_ANCHOR;
		return 0;
	}
#undef SEG
notfound:
	vt_api_fail(err, 404, 0, "", "no such resource");
	return VT_ENOTFOUND;
}

/* ---- SQL pieces ----------------------------------------------------- */

void vt_sqlq_init(struct vt_sqlq *s, int base)
{
	memset(s, 0, sizeof *s);
	vt_buf_init(&s->where, 16384);
	s->base = base;
}

void vt_sqlq_free(struct vt_sqlq *s)
{
	if (!s)
		return;
	vt_buf_free(&s->where);
	for (int i = 0; i < s->nparams; i++)
		free(s->params[i]);
	s->nparams = 0;
}

/* Appends " AND (tmpl)" with ?1..?3 replaced by the numbers of vals. */
int vt_sqlq_add(struct vt_sqlq *s, const char *tmpl, int nvals,
		   const char *const *vals)
{
	int first = s->base + s->nparams + 1, rc;

	if (s->nparams + nvals > VT_API_SQL_PARAMS)
		return VT_ETOOBIG;
	for (int i = 0; i < nvals; i++)
		if (!(s->params[s->nparams + i] = strdup(vals[i]))) {
			for (int k = 0; k < i; k++)
				free(s->params[s->nparams + k]);
			return VT_ENOMEM;
		}
	s->nparams += nvals;
	if ((rc = vt_buf_adds(&s->where, " AND (")) < 0)
		return rc;
	for (const char *p = tmpl; *p; p++) {
		if (p[0] == '?' && p[1] >= '1' && p[1] <= '3') {
			if ((rc = vt_buf_addf(&s->where, "$%d", first + p[1] - '1')) < 0)
				return rc;
			p++;
		} else if ((rc = vt_buf_addc(&s->where, *p)) < 0) {
			return rc;
		}
	}
	return vt_buf_addc(&s->where, ')');
}

/* ---- value kinds ---------------------------------------------------- */

enum kind {
	K_INT, K_IDLIST, K_INTLIST, K_BOOL, K_WORD, K_TEXT, K_TIME, K_CC,
	K_ASN, K_PREFIX4, K_PREFIX6, K_TAGS, K_RADIUS
};

struct fdef {
	const char *name;
	enum kind kind;
	long long min, max;
	const char *sql;
};

static int parse_ll(const char *v, long long min, long long max, long long *out)
{
	char *end;
	long long x;

	if (!isdigit((unsigned char)*v) && *v != '-')
		return VT_EPARSE;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || *end || x < min || x > max)
		return VT_EPARSE;
	*out = x;
	return 0;
}

static int parse_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) {
		*out = 0;
		return 0;
	}
	return VT_EPARSE;
}

/* "1,2,3" with each in min..max -> "{1,2,3}". */
static int parse_list(const char *v, long long min, long long max, char *out,
		      size_t outlen)
{
	size_t used = 1;
	int n = 0;

	snprintf(out, outlen, "{");
	while (*v) {
		char num[24];
		size_t k = strcspn(v, ",");
		long long x;

		if (k == 0 || k >= sizeof num)
			return VT_EPARSE;
		memcpy(num, v, k);
		num[k] = '\0';
		while (k && num[k - 1] == ' ')
			num[--k] = '\0';
		if (parse_ll(num[0] == ' ' ? num + strspn(num, " ") : num, min, max,
			     &x) < 0)
			return VT_EPARSE;
		if (used + 24 >= outlen || n >= 1000)
			return VT_ETOOBIG;
		used += (size_t)snprintf(out + used, outlen - used, "%s%lld",
					 n++ ? "," : "", x);
		v += strcspn(v, ",");
		if (*v == ',' && !*++v)
			return VT_EPARSE;
	}
	if (!n)
		return VT_EPARSE;
	snprintf(out + used, outlen - used, "}");
	return 0;
}

/* Well-formed UTF-8 without control characters. */
static int text_ok(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	if (n > max)
		return 0;
	while (*p) {
		int extra;
		unsigned cp;

		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			extra = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			extra = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			extra = 3;
			cp = *p & 0x07;
		} else {
			return 0;
		}
		for (int i = 1; i <= extra; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
		    (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += extra + 1;
	}
	return 1;
}

/* "a,b" slugs -> "{a,b}". */
static int parse_tags(const char *v, char *out, size_t outlen)
{
	size_t used = 1;
	int n = 0;

	snprintf(out, outlen, "{");
	while (*v) {
		size_t k = strcspn(v, ",");

		if (!slug_ok(v, k, "-_") || used + k + 2 >= outlen || n >= 32)
			return VT_EPARSE;
		used += (size_t)snprintf(out + used, outlen - used, "%s%.*s",
					 n++ ? "," : "", (int)k, v);
		v += k;
		if (*v == ',' && !*++v)
			return VT_EPARSE;
	}
	if (!n)
		return VT_EPARSE;
	snprintf(out + used, outlen - used, "}");
	return 0;
}

/* "addr/len" -> the network with host bits cleared, as PostgreSQL's cidr
 * accepts it. */
static int parse_prefix(const char *v, int af, char *out, size_t outlen)
{
	unsigned char a[16];
	char addr[64], txt[INET6_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	long long len;
	int bits = af == AF_INET ? 32 : 128;

	if (!slash || (size_t)(slash - v) >= sizeof addr)
		return VT_EPARSE;
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	if (!isdigit((unsigned char)slash[1]) || parse_ll(slash + 1, 0, bits, &len) < 0)
		return VT_EPARSE;
	if (inet_pton(af, addr, a) != 1)
		return VT_EPARSE;
	for (int i = 0; i < bits / 8; i++) {
		int keep = (int)len - i * 8;

		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (unsigned char)(0xff << (8 - keep));
	}
	if (!inet_ntop(af, a, txt, sizeof txt))
		return VT_EPARSE;
	snprintf(out, outlen, "%s/%lld", txt, len);
	return 0;
}

static int parse_double(const char *s, size_t n, double min, double max,
			double *out)
{
	char tmp[32], *end;

	if (n == 0 || n >= sizeof tmp)
		return VT_EPARSE;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (strspn(tmp, "0123456789.-+") != n)
		return VT_EPARSE;
	errno = 0;
	*out = strtod(tmp, &end);
	if (errno || *end || !isfinite(*out) || *out < min || *out > max)
		return VT_EPARSE;
	return 0;
}

/* Checks one value and adds its condition. */
static int add_filter(const struct fdef *f, const char *v, struct vt_sqlq *s,
		      struct vt_api_err *err)
{
	char buf[8192];
	const char *vals[3] = { buf, NULL, NULL };
	long long x;
	int b, rc = 0, n = 1;

	switch (f->kind) {
	case K_INT:
	case K_TIME:
		if (parse_ll(v, f->min, f->max, &x) < 0)
			return PFAIL(f->name, "must be an integer between %lld and %lld",
				     f->min, f->max);
		snprintf(buf, sizeof buf, "%lld", x);
		break;
	case K_IDLIST:
	case K_INTLIST:
		if (parse_list(v, f->min, f->max, buf, sizeof buf) < 0)
			return PFAIL(f->name, "must be a comma-separated list of "
				     "integers between %lld and %lld", f->min, f->max);
		break;
	case K_BOOL:
		if (parse_bool(v, &b) < 0)
			return PFAIL(f->name, "must be true or false");
		snprintf(buf, sizeof buf, "%s", b ? "t" : "f");
		break;
	case K_WORD:
		if (!slug_ok(v, strlen(v), "_"))
			return PFAIL(f->name, "not a measurement type");
		snprintf(buf, sizeof buf, "%s", v);
		break;
	case K_TEXT:
		if (!text_ok(v, 256))
			return PFAIL(f->name, "must be text of at most 256 bytes "
				     "(UTF-8, no control characters)");
		snprintf(buf, sizeof buf, "%s", v);
		break;
	case K_CC:
		if (strlen(v) != 2 || !isalpha((unsigned char)v[0]) ||
		    !isalpha((unsigned char)v[1]))
			return PFAIL(f->name, "must be a two-letter country code");
		buf[0] = (char)toupper((unsigned char)v[0]);
		buf[1] = (char)toupper((unsigned char)v[1]);
		buf[2] = '\0';
		break;
	case K_ASN:
		if (!strncasecmp(v, "AS", 2))
			v += 2;
		if (!isdigit((unsigned char)*v) || parse_ll(v, 1, INT_MAX, &x) < 0)
			return PFAIL(f->name, "must be an AS number (1 to %d)", INT_MAX);
		snprintf(buf, sizeof buf, "%lld", x);
		break;
	case K_PREFIX4:
	case K_PREFIX6:
		if (parse_prefix(v, f->kind == K_PREFIX4 ? AF_INET : AF_INET6, buf,
				 sizeof buf) < 0)
			return PFAIL(f->name, "must be an IPv%c prefix (e.g. %s)",
				     f->kind == K_PREFIX4 ? '4' : '6',
				     f->kind == K_PREFIX4 ? "192.0.2.0/24" : "2001:db8::/32");
		break;
	case K_TAGS:
		if (parse_tags(v, buf, sizeof buf) < 0)
			return PFAIL(f->name, "must be a comma-separated list of tags "
				     "(lower-case letters, digits, '-', '_')");
		break;
	case K_RADIUS: {
		const char *c1 = strchr(v, ','), *c2 = c1 ? strchr(c1, ':') : NULL;
		double lat, lon, r;

		if (!c1 || !c2 ||
		    parse_double(v, (size_t)(c1 - v), -90, 90, &lat) < 0 ||
		    parse_double(c1 + 1, (size_t)(c2 - c1 - 1), -180, 180, &lon) < 0 ||
		    parse_double(c2 + 1, strlen(c2 + 1), 0, 20040, &r) < 0)
			return PFAIL(f->name, "must be LAT,LON:KM (e.g. 52.37,4.89:50)");
		{
			char a1[32], a2[32], a3[32];
			const char *v3[3] = { a1, a2, a3 };

			snprintf(a1, sizeof a1, "%.6f", lat);
			snprintf(a2, sizeof a2, "%.6f", lon);
			snprintf(a3, sizeof a3, "%.6f", r);
			rc = vt_sqlq_add(s, f->sql, 3, v3);
			goto added;
		}
	}
	}
	rc = vt_sqlq_add(s, f->sql, n, vals);
added:
	if (rc == VT_ETOOBIG)
		return PFAIL(f->name, "too many filters");
	return rc;
}

#define LLMAX (LLONG_MAX / 2)
#define TMAX  4102444800LL

static const struct fdef msm_filters[] = {
	{ "id", K_INT, 1, LLMAX, "m.id = ?1::bigint" },
	{ "id__in", K_IDLIST, 1, LLMAX, "m.id = ANY (?1::bigint[])" },
	{ "id__gt", K_INT, 0, LLMAX, "m.id > ?1::bigint" },
	{ "id__gte", K_INT, 0, LLMAX, "m.id >= ?1::bigint" },
	{ "id__lt", K_INT, 0, LLMAX, "m.id < ?1::bigint" },
	{ "id__lte", K_INT, 0, LLMAX, "m.id <= ?1::bigint" },
	{ "status", K_INT, 0, 8, "m.status = ?1::smallint" },
	{ "status__in", K_INTLIST, 0, 8, "m.status = ANY (?1::smallint[])" },
	{ "type", K_WORD, 0, 0, "m.type = ?1" },
	{ "af", K_INT, 4, 6, "m.af = ?1::smallint" },
	{ "is_oneoff", K_BOOL, 0, 0, "m.is_oneoff = ?1::boolean" },
	{ "is_public", K_BOOL, 0, 0, "m.is_public = ?1::boolean" },
	{ "target", K_TEXT, 0, 0, "m.target = ?1" },
	{ "target__contains", K_TEXT, 0, 0, "strpos(m.target, ?1) > 0" },
	{ "description__contains", K_TEXT, 0, 0, "strpos(m.description, ?1) > 0" },
	{ "search", K_TEXT, 0, 0,
	  "strpos(lower(m.description || ' ' || coalesce(m.target, '')), lower(?1)) > 0" },
	{ "start_time__gt", K_TIME, 0, TMAX, "m.start_time > ?1::bigint" },
	{ "start_time__gte", K_TIME, 0, TMAX, "m.start_time >= ?1::bigint" },
	{ "start_time__lt", K_TIME, 0, TMAX, "m.start_time < ?1::bigint" },
	{ "start_time__lte", K_TIME, 0, TMAX, "m.start_time <= ?1::bigint" },
	{ "stop_time__gt", K_TIME, 0, TMAX, "m.stop_time > ?1::bigint" },
	{ "stop_time__gte", K_TIME, 0, TMAX, "m.stop_time >= ?1::bigint" },
	{ "stop_time__lt", K_TIME, 0, TMAX, "m.stop_time < ?1::bigint" },
	{ "stop_time__lte", K_TIME, 0, TMAX, "m.stop_time <= ?1::bigint" },
	{ "tags", K_TAGS, 0, 0, "m.tags @> ?1::text[]" },
	{ NULL, K_INT, 0, 0, NULL }
};

#define PROBE_RADIUS \
	"p.latitude IS NOT NULL AND p.longitude IS NOT NULL AND 12742.0 * asin(" \
	"least(1.0, sqrt(power(sin(radians(p.latitude - ?1::float8) / 2), 2) + " \
	"cos(radians(?1::float8)) * cos(radians(p.latitude)) * " \
	"power(sin(radians(p.longitude - ?2::float8) / 2), 2)))) <= ?3::float8"

static const struct fdef probe_filters[] = {
	{ "id", K_INT, 1, INT_MAX, "p.id = ?1::integer" },
	{ "id__in", K_IDLIST, 1, INT_MAX, "p.id = ANY (?1::integer[])" },
	{ "id__gt", K_INT, 0, INT_MAX, "p.id > ?1::integer" },
	{ "id__gte", K_INT, 0, INT_MAX, "p.id >= ?1::integer" },
	{ "id__lt", K_INT, 0, INT_MAX, "p.id < ?1::integer" },
	{ "id__lte", K_INT, 0, INT_MAX, "p.id <= ?1::integer" },
	{ "country_code", K_CC, 0, 0, "upper(p.country_code) = ?1" },
	{ "asn", K_ASN, 0, 0, "?1::integer IN (p.asn_v4, p.asn_v6)" },
	{ "asn_v4", K_ASN, 0, 0, "p.asn_v4 = ?1::integer" },
	{ "asn_v6", K_ASN, 0, 0, "p.asn_v6 = ?1::integer" },
	{ "prefix_v4", K_PREFIX4, 0, 0,
	  "p.prefix_v4 <<= ?1::cidr OR p.address_v4 <<= ?1::cidr" },
	{ "prefix_v6", K_PREFIX6, 0, 0,
	  "p.prefix_v6 <<= ?1::cidr OR p.address_v6 <<= ?1::cidr" },
	{ "status", K_INT, 0, 3, "p.status = ?1::smallint" },
	{ "status__in", K_INTLIST, 0, 3, "p.status = ANY (?1::smallint[])" },
	{ "is_anchor", K_BOOL, 0, 0, "p.is_anchor = ?1::boolean" },
	{ "is_public", K_BOOL, 0, 0, "p.is_public = ?1::boolean" },
	{ "tags", K_TAGS, 0, 0, "(p.tags || p.system_tags) @> ?1::text[]" },
	{ "radius", K_RADIUS, 0, 0, PROBE_RADIUS },
	{ "search", K_TEXT, 0, 0, "strpos(lower(p.description), lower(?1)) > 0" },
	{ NULL, K_INT, 0, 0, NULL }
};

static const struct fdef anchor_filters[] = {
	{ "id", K_INT, 1, INT_MAX, "p.id = ?1::integer" },
	{ "id__in", K_IDLIST, 1, INT_MAX, "p.id = ANY (?1::integer[])" },
	{ "country", K_CC, 0, 0, "upper(p.country_code) = ?1" },
	{ "as_v4", K_ASN, 0, 0, "p.asn_v4 = ?1::integer" },
	{ "as_v6", K_ASN, 0, 0, "p.asn_v6 = ?1::integer" },
	{ "search", K_TEXT, 0, 0, "strpos(lower(p.description), lower(?1)) > 0" },
	{ NULL, K_INT, 0, 0, NULL }
};

int vt_api_filters(enum vt_api_list what, const struct vt_qs *q,
		   struct vt_sqlq *s, struct vt_api_err *err)
{
	const struct fdef *f = what == VT_LIST_MSM ? msm_filters :
			       what == VT_LIST_PROBE ? probe_filters : anchor_filters;
	int rc;

	for (; f->name; f++) {
		const char *v = qs_val(q, f->name);

		if (v && (rc = add_filter(f, v, s, err)) < 0)
			return rc;
	}
	return 0;
}

/* ---- paging and shape ----------------------------------------------- */

struct sortdef { const char *name, *sql; };

static const struct sortdef msm_sorts[] = {
	{ "id", "m.id" }, { "-id", "m.id DESC" },
	{ "start_time", "m.start_time, m.id" }, { "-start_time", "m.start_time DESC, m.id DESC" },
	{ "stop_time", "m.stop_time, m.id" }, { "-stop_time", "m.stop_time DESC, m.id DESC" },
	{ "creation_time", "m.creation_time, m.id" },
	{ "-creation_time", "m.creation_time DESC, m.id DESC" },
	{ NULL, NULL }
};

static const struct sortdef probe_sorts[] = {
	{ "id", "p.id" }, { "-id", "p.id DESC" },
	{ "country_code", "p.country_code, p.id" },
	{ "-country_code", "p.country_code DESC, p.id DESC" },
	{ "asn_v4", "p.asn_v4, p.id" }, { "-asn_v4", "p.asn_v4 DESC, p.id DESC" },
	{ NULL, NULL }
};

int vt_api_fields(const struct vt_qs *q, char *out, size_t outlen,
		  struct vt_api_err *err)
{
	const char *v = qs_val(q, "fields");

	out[0] = '\0';
	if (v && parse_tags(v, out, outlen) < 0) {
		out[0] = '\0';
		return PFAIL("fields", "must be a comma-separated list of field names");
	}
	return 0;
}

int vt_api_page_parse(enum vt_api_list what, const struct vt_qs *q,
		      struct vt_api_page *out, struct vt_api_err *err)
{
	const struct sortdef *sd = what == VT_LIST_MSM ? msm_sorts : probe_sorts;
	const char *v;
	long long x;
	int rc;

	memset(out, 0, sizeof *out);
	out->page = 1;
	out->size = VT_API_PAGE_DFLT;
	out->order = sd[what == VT_LIST_MSM ? 1 : 0].sql;
	if ((v = qs_val(q, "page"))) {
		if (parse_ll(v, 1, 1000000, &x) < 0)
			return PFAIL("page", "must be an integer between 1 and 1000000");
		out->page = x;
	}
	if ((v = qs_val(q, "page_size"))) {
		if (parse_ll(v, 1, VT_API_PAGE_MAX, &x) < 0)
			return PFAIL("page_size", "must be an integer between 1 and %d",
				     VT_API_PAGE_MAX);
		out->size = (int)x;
	}
	if ((v = qs_val(q, "sort"))) {
		for (; sd->name && strcmp(sd->name, v); sd++)
			;
		if (!sd->name)
			return PFAIL("sort", "cannot sort by this");
		out->order = sd->sql;
	}
	if ((rc = vt_api_fields(q, out->fields, sizeof out->fields, err)) < 0)
		return rc;
	if ((v = qs_val(q, "optional_fields"))) {
		char tmp[1024];

		if (parse_tags(v, tmp, sizeof tmp) < 0)
			return PFAIL("optional_fields", "must be a comma-separated list "
				     "of field names");
		out->with_probes = strstr(tmp, "probes") != NULL;
	}
	return 0;
}

int vt_api_results_parse(const struct vt_qs *q, int latest,
			 struct vt_api_results *out, struct vt_api_err *err)
{
	const char *v;
	long long x;
	int b;

	memset(out, 0, sizeof *out);
	out->stop = LLONG_MAX;
	out->versions = 1;
	if ((v = qs_val(q, "start"))) {
		if (parse_ll(v, 0, TMAX, &x) < 0)
			return PFAIL("start", "must be a unix time (seconds)");
		out->start = x;
	}
	if ((v = qs_val(q, "stop"))) {
		if (parse_ll(v, 0, TMAX, &x) < 0)
			return PFAIL("stop", "must be a unix time (seconds)");
		out->stop = x;
	}
	if ((v = qs_val(q, "probe_ids")) &&
	    parse_list(v, 1, INT_MAX, out->probes, sizeof out->probes) < 0) {
		out->probes[0] = '\0';
		return PFAIL("probe_ids", "must be a comma-separated list of probe ids");
	}
	if ((v = qs_val(q, "anchors_only"))) {
		if (parse_bool(v, &b) < 0)
			return PFAIL("anchors_only", "must be true or false");
		out->anchors_only = b;
	}
	if ((v = qs_val(q, "public_only"))) {
		if (parse_bool(v, &b) < 0)
			return PFAIL("public_only", "must be true or false");
		out->public_only = b;
	}
	if ((v = qs_val(q, "format"))) {
		if (!strcmp(v, "txt"))
			out->txt = 1;
		else if (strcmp(v, "json"))
			return PFAIL("format", "must be json or txt");
	}
	if (latest && (v = qs_val(q, "versions"))) {
		if (parse_ll(v, 1, 10, &x) < 0)
			return PFAIL("versions", "must be an integer between 1 and 10");
		out->versions = (int)x;
	}
	if (latest && (v = qs_val(q, "lookback_days"))) {
		if (parse_ll(v, 1, 3650, &x) < 0)
			return PFAIL("lookback_days", "must be an integer between 1 and 3650");
		out->lookback_days = (int)x;
	}
	return 0;
}

/* ---- error objects -------------------------------------------------- */

int vt_json_str(struct vt_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int rc = vt_buf_addc(out, '"');

	for (; rc == 0 && *p; p++) {
		if (*p == '"' || *p == '\\')
			rc = vt_buf_addf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			rc = vt_buf_addf(out, "\\u%04x", *p);
		else if (*p >= 0x80) {
			/* Multi-byte: copy a whole valid sequence, else U+FFFD. */
			int extra = (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
				    (*p & 0xf8) == 0xf0 ? 3 : 0;
			char seq[5] = { 0 };
			int ok = extra > 0;

			for (int i = 0; ok && i <= extra; i++) {
				if (!p[i])
					ok = 0;
				else
					seq[i] = (char)p[i];
			}
			if (ok && text_ok(seq, 4)) {
				rc = vt_buf_add(out, seq, (size_t)extra + 1);
				p += extra;
			} else {
				rc = vt_buf_adds(out, "\\ufffd");
			}
		} else
			rc = vt_buf_addc(out, (char)*p);
	}
	return rc ? rc : vt_buf_addc(out, '"');
}

static const char *status_title(int status, int *code)
{
	switch (status) {
	case 400: *code = 102; return "Bad Request";
	case 401: *code = 101; return "Unauthorized";
	case 403: *code = 103; return "Forbidden";
	case 404: *code = 104; return "Not Found";
	case 405: *code = 105; return "Method Not Allowed";
	case 413: *code = 102; return "Payload Too Large";
	case 414: *code = 102; return "URI Too Long";
	case 431: *code = 102; return "Request Header Fields Too Large";
	case 503: *code = 100; return "Service Unavailable";
	default: *code = 100; return "Internal Server Error";
	}
}

int vt_api_err_json(const struct vt_api_err *err, struct vt_buf *out)
{
	int code, rc;
	const char *title = status_title(err->status, &code);

	rc = vt_buf_addf(out, "{\"error\": {\"status\": %d, \"code\": %d, "
			 "\"title\": \"%s\", \"detail\": ", err->status, code, title);
	if (rc == 0)
		rc = vt_json_str(out, err->detail);
	if (rc == 0 && (err->source[0] || err->is_pointer)) {
		rc = vt_buf_addf(out, ", \"errors\": [{\"source\": {\"%s\": ",
				 err->is_pointer ? "pointer" : "parameter");
		if (rc == 0)
			rc = vt_json_str(out, err->source);
		if (rc == 0)
			rc = vt_buf_adds(out, "}, \"detail\": ");
		if (rc == 0)
			rc = vt_json_str(out, err->detail);
		if (rc == 0)
			rc = vt_buf_adds(out, "}]");
	}
	return rc ? rc : vt_buf_adds(out, "}}");
}

void vt_api_err_from_msg(struct vt_api_err *err, const char *msg,
			 const char *pointer_prefix)
{
	const char *colon = strstr(msg, ": ");
	size_t n = colon ? (size_t)(colon - msg) : 0;
	char ptr[sizeof err->source];
	size_t w = 0;

	err->status = 400;
	err->is_pointer = 1;
	snprintf(err->detail, sizeof err->detail, "%s", msg);
	w = (size_t)snprintf(ptr, sizeof ptr, "%s", pointer_prefix ? pointer_prefix : "");
	if (w >= sizeof ptr)
		w = sizeof ptr - 1;
	if (n && strspn(msg, "abcdefghijklmnopqrstuvwxyz0123456789_.[]") == n) {
		const char *p = msg;

		if (!strncmp(p, "request.", 8)) {
			p += 8;
		} else if (!strncmp(p, "request", 7) && n == 7) {
			p += 7;
		}
		if (p < msg + n && *p != '.' && *p != '[' && w + 1 < sizeof ptr)
			ptr[w++] = '/';
		for (; p < msg + n && w + 1 < sizeof ptr; p++) {
			if (*p == '.' || *p == '[')
				ptr[w++] = '/';
			else if (*p != ']')
				ptr[w++] = *p;
		}
	}
	ptr[w] = '\0';
	snprintf(err->source, sizeof err->source, "%s", ptr);
}
