/* msmobj.c - the measurement object in C (controller/api/msmobj.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controller/api/msmobj.h"

#define MEMBERS_MAX 128

/* A key and its JSON value, both in the scratch buffer (offsets: it may
 * move while it grows). */
struct member {
	size_t koff, klen, voff, vlen;
	const char *key;                 /* set once scratch is complete */
};

struct obj {
	struct vt_buf s;                 /* scratch: keys and values */
	struct member m[MEMBERS_MAX];
	int n;
};

int vt_msmobj_str(struct vt_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	int rc = vt_buf_addc(out, '"');

	for (size_t i = 0; rc == 0 && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
		size_t run = i;

		while (run < n && (unsigned char)s[run] >= ' ' && s[run] != '"' &&
		       s[run] != '\\')
			run++;
		if (run > i) {               /* a run that needs no escape */
			rc = vt_buf_add(out, s + i, run - i);
			i = run - 1;
			continue;
		}
		switch (c) {
		case '\b': rc = vt_buf_add(out, "\\b", 2); break;
		case '\f': rc = vt_buf_add(out, "\\f", 2); break;
		case '\n': rc = vt_buf_add(out, "\\n", 2); break;
		case '\r': rc = vt_buf_add(out, "\\r", 2); break;
		case '\t': rc = vt_buf_add(out, "\\t", 2); break;
		case '"': rc = vt_buf_add(out, "\\\"", 2); break;
		case '\\': rc = vt_buf_add(out, "\\\\", 2); break;
		default:
			rc = c < ' ' ? vt_buf_add(out, e, 6) : vt_buf_addc(out, (char)c);
		}
	}
	return rc ? rc : vt_buf_addc(out, '"');
}

/* ---- the definition's members (jsonb text: one object) --------------- */

static size_t ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* Past the string that starts at s[*i] ('"'). */
static int skip_str(const char *s, size_t n, size_t *i)
{
	for (size_t j = *i + 1; j < n; j++) {
		if (s[j] == '\\')
			j++;
		else if (s[j] == '"') {
			*i = j + 1;
			return 0;
		}
	}
	return VT_EPARSE;
}

/* Past the value at s[*i]: a string, an object or array (to its closing
 * bracket), or a scalar (to the next separator). */
static int skip_value(const char *s, size_t n, size_t *i)
{
	size_t j = *i;
	int depth = 0;

	if (j >= n)
		return VT_EPARSE;
	if (s[j] == '"')
		return skip_str(s, n, i);
	if (s[j] != '{' && s[j] != '[') {
		j += strcspn(s + j, ",}] \t\n\r");
		if (j == *i)
			return VT_EPARSE;
		*i = j;
		return 0;
	}
	for (; j < n; j++) {
		if (s[j] == '"') {
			if (skip_str(s, n, &j) < 0)
				return VT_EPARSE;
			j--;
		} else if (s[j] == '{' || s[j] == '[') {
			depth++;
		} else if ((s[j] == '}' || s[j] == ']') && --depth == 0) {
			*i = j + 1;
			return 0;
		}
	}
	return VT_EPARSE;
}

static int hexval(const char *s, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		char c = s[k];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return VT_EPARSE;
	}
	return 0;
}

static int add_utf8(struct vt_buf *b, unsigned cp)
{
	char u[4];
	size_t k;

	if (cp < 0x80) {
		u[0] = (char)cp, k = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 63)), k = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 63));
		u[2] = (char)(0x80 | (cp & 63)), k = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 63));
		u[2] = (char)(0x80 | (cp >> 6 & 63)), u[3] = (char)(0x80 | (cp & 63));
		k = 4;
	}
	return vt_buf_add(b, u, k);
}

/* The string s[a..z) (quotes excluded) unescaped into b. */
static int unescape(struct vt_buf *b, const char *s, size_t a, size_t z)
{
	int rc = 0;

	for (size_t i = a; rc == 0 && i < z; i++) {
		unsigned cp, lo;

		if (s[i] != '\\') {
			rc = vt_buf_addc(b, s[i]);
			continue;
		}
		if (++i >= z)
			return VT_EPARSE;
		switch (s[i]) {
		case 'b': rc = vt_buf_addc(b, '\b'); break;
		case 'f': rc = vt_buf_addc(b, '\f'); break;
		case 'n': rc = vt_buf_addc(b, '\n'); break;
		case 'r': rc = vt_buf_addc(b, '\r'); break;
		case 't': rc = vt_buf_addc(b, '\t'); break;
		case '"': case '\\': case '/': rc = vt_buf_addc(b, s[i]); break;
		case 'u':
			if (i + 4 >= z || hexval(s + i + 1, &cp) < 0)
				return VT_EPARSE;
			i += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < z && s[i + 1] == '\\' &&
			    s[i + 2] == 'u' && hexval(s + i + 3, &lo) == 0 &&
			    lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
			rc = add_utf8(b, cp);
			break;
		default:
			return VT_EPARSE;
		}
	}
	return rc;
}

static struct member *find(struct obj *o, const char *k, size_t klen)
{
	for (int i = 0; i < o->n; i++)
		if (o->m[i].klen == klen && !memcmp(o->s.data + o->m[i].koff, k, klen))
			return &o->m[i];
	return NULL;
}

/* A new member for key k (or the one with that key: its value is
 * replaced, as jsonb's || does); its value is what the caller appends to
 * o->s next, closed by end_value. */
static struct member *begin_member(struct obj *o, const char *k, size_t klen)
{
	struct member *m;

	if (!(m = find(o, k, klen))) {
		if (o->n >= MEMBERS_MAX)
			return NULL;
		m = &o->m[o->n++];
		m->koff = o->s.len;
		m->klen = klen;
		if (vt_buf_add(&o->s, k, klen) < 0) {
			o->n--;
			return NULL;
		}
	}
	m->voff = o->s.len;
	return m;
}

static void end_value(struct obj *o, struct member *m)
{
	m->vlen = o->s.len - m->voff;
}

static int definition(struct obj *o, const char *s)
{
	size_t n = strlen(s), i = ws(s, n, 0);
	struct vt_buf key;
	int rc = VT_EPARSE;

	vt_buf_init(&key, 4096);
	if (i >= n || s[i] != '{')
		goto out;
	i = ws(s, n, i + 1);
	if (i < n && s[i] == '}') {
		rc = ws(s, n, i + 1) == n ? 0 : VT_EPARSE;
		goto out;
	}
	for (;;) {
		size_t ka = i + 1, va;
		struct member *m;

		rc = VT_EPARSE;
		if (i >= n || s[i] != '"' || skip_str(s, n, &i) < 0)
			goto out;
		vt_buf_reset(&key);
		if (unescape(&key, s, ka, i - 1) < 0)
			goto out;
		i = ws(s, n, i);
		if (i >= n || s[i] != ':')
			goto out;
		va = i = ws(s, n, i + 1);
		if (skip_value(s, n, &i) < 0)
			goto out;
		if (!(m = begin_member(o, key.data ? key.data : "", key.len)) ||
		    vt_buf_add(&o->s, s + va, i - va) < 0) {
			rc = VT_ENOMEM;
			goto out;
		}
		end_value(o, m);
		i = ws(s, n, i);
		if (i < n && s[i] == '}') {
			rc = ws(s, n, i + 1) == n ? 0 : VT_EPARSE;
			goto out;
		}
		if (i >= n || s[i] != ',')
			goto out;
		i = ws(s, n, i + 1);
	}
out:
	vt_buf_free(&key);
	return rc;
}

/* ---- the built members ----------------------------------------------- */

/* key: the raw text (a number, true/false/null or JSON), NULL as null. */
static int put_raw(struct obj *o, const char *key, const char *v)
{
	struct member *m = begin_member(o, key, strlen(key));

	if (!m || vt_buf_adds(&o->s, v ? v : "null") < 0)
		return VT_ENOMEM;
	end_value(o, m);
	return 0;
}

static int put_bool(struct obj *o, const char *key, const char *v)
{
	return put_raw(o, key, !v ? NULL : !strcmp(v, "t") ? "true" : "false");
}

static int put_str(struct obj *o, const char *key, const char *v)
{
	struct member *m;

	if (!v)
		return put_raw(o, key, NULL);
	if (!(m = begin_member(o, key, strlen(key))) ||
	    vt_msmobj_str(&o->s, v, strlen(v)) < 0)
		return VT_ENOMEM;
	end_value(o, m);
	return 0;
}

static const char *status_name(const char *s)
{
	static const char *const names[] = {
		"Specified", "Scheduled", "Ongoing", "Unknown", "Stopped",
		"Forced to stop", "No suitable probes", "Failed", "Archived"
	};
	char *end;
	long v = s ? strtol(s, &end, 10) : -1;

	return v >= 0 && v <= 8 && v != 3 && !*end ? names[v] : "Unknown";
}

/* 012's target_ip: the target when it is digits and dots, or has a ':'. */
static int is_ip(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	return n && (strspn(t, "0123456789.") == n || strchr(t, ':'));
}

/* "probes": [{"id": N, "url": "BASE/api/v2/probes/N/"}, ...] from "{1,2}". */
static int put_probes(struct obj *o, const char *ids, const char *base)
{
	struct member *m = begin_member(o, "probes", 6);
	const char *p = ids && *ids == '{' ? ids + 1 : "}";
	struct vt_buf url;
	int rc, first = 1;

	if (!m)
		return VT_ENOMEM;
	vt_buf_init(&url, 0);
	rc = vt_buf_addc(&o->s, '[');
	while (rc == 0 && *p != '}') {
		size_t k = strspn(p, "-0123456789");

		if (!k || (p[k] != ',' && p[k] != '}')) {
			rc = VT_EPARSE;
			break;
		}
		vt_buf_reset(&url);
		if ((!first && (rc = vt_buf_add(&o->s, ", ", 2)) < 0) ||
		    (rc = vt_buf_add(&o->s, "{\"id\": ", 7)) < 0 ||
		    (rc = vt_buf_add(&o->s, p, k)) < 0 ||
		    (rc = vt_buf_add(&o->s, ", \"url\": ", 9)) < 0 ||
		    (rc = vt_buf_adds(&url, base)) < 0 ||
		    (rc = vt_buf_add(&url, "/api/v2/probes/", 15)) < 0 ||
		    (rc = vt_buf_add(&url, p, k)) < 0 ||
		    (rc = vt_buf_addc(&url, '/')) < 0 ||
		    (rc = vt_msmobj_str(&o->s, url.data, url.len)) < 0 ||
		    (rc = vt_buf_addc(&o->s, '}')) < 0)
			break;
		first = 0;
		p += k + (p[k] == ',');
	}
	if (rc == 0)
		rc = vt_buf_addc(&o->s, ']');
	vt_buf_free(&url);
	end_value(o, m);
	return rc;
}

static int build(struct obj *o, const struct msmobj_row *row, const char *base)
{
	const char *const *v = row->v;
	struct member *m;
	struct vt_buf t;
	int rc;

	vt_buf_init(&t, 0);
	if ((rc = definition(o, v[MC_DEFINITION] ? v[MC_DEFINITION] : "{}")) < 0)
		goto out;
	/* resolve_on_probe: the definition's own value, else false */
	if (!find(o, "resolve_on_probe", 16) &&
	    (rc = put_raw(o, "resolve_on_probe", "false")) < 0)
		goto out;
	if ((rc = put_raw(o, "id", v[MC_ID])) < 0 ||
	    (rc = put_str(o, "type", v[MC_TYPE])) < 0 ||
	    (rc = put_raw(o, "af", v[MC_AF])) < 0 ||
	    (rc = put_str(o, "description", v[MC_DESCRIPTION])) < 0 ||
	    (rc = put_raw(o, "creation_time", v[MC_CREATION])) < 0 ||
	    (rc = put_raw(o, "start_time", v[MC_START])) < 0 ||
	    (rc = put_raw(o, "stop_time", v[MC_STOP])) < 0)
		goto out;
	if (!(m = begin_member(o, "status", 6)) ||
	    (rc = vt_buf_addf(&o->s, "{\"id\": %s, \"name\": ", v[MC_STATUS] ?
			      v[MC_STATUS] : "null")) < 0 ||
	    (rc = vt_msmobj_str(&o->s, status_name(v[MC_STATUS]),
				strlen(status_name(v[MC_STATUS])))) < 0 ||
	    (rc = vt_buf_addf(&o->s, ", \"when\": %s}", v[MC_STATUS_WHEN] ?
			      v[MC_STATUS_WHEN] : "null")) < 0) {
		rc = rc < 0 ? rc : VT_ENOMEM;
		goto out;
	}
	end_value(o, m);
	if ((rc = put_bool(o, "is_oneoff", v[MC_IS_ONEOFF])) < 0 ||
	    (rc = put_bool(o, "is_public", v[MC_IS_PUBLIC])) < 0 ||
	    (rc = put_raw(o, "interval", v[MC_INTERVAL])) < 0 ||
	    (rc = put_raw(o, "spread", v[MC_SPREAD])) < 0 ||
	    (rc = put_str(o, "target", v[MC_TARGET])) < 0 ||
	    (rc = put_str(o, "target_ip", is_ip(v[MC_TARGET]) ? v[MC_TARGET] : NULL)) < 0 ||
	    (rc = put_raw(o, "target_asn", NULL)) < 0 ||
	    (rc = put_raw(o, "group_id", v[MC_GROUP_ID])) < 0 ||
	    (rc = put_raw(o, "tags", v[MC_TAGS])) < 0 ||
	    (rc = put_raw(o, "probes_requested", v[MC_PROBES_REQUESTED])) < 0 ||
	    (rc = put_raw(o, "probes_scheduled", v[MC_SCHEDULED] ? v[MC_SCHEDULED] : "0")) < 0 ||
	    (rc = put_raw(o, "participant_count", v[MC_TOTAL] ? v[MC_TOTAL] : "0")) < 0)
		goto out;
	if ((rc = vt_buf_addf(&t, "%s/api/v2/measurements/%s/results/", base,
			      v[MC_ID] ? v[MC_ID] : "")) < 0 ||
	    (rc = put_str(o, "result", t.data)) < 0 ||
	    (rc = put_probes(o, v[MC_PROBE_IDS], base)) < 0)
		goto out;
out:
	vt_buf_free(&t);
	return rc;
}

/* ---- output ----------------------------------------------------------- */

/* jsonb's order: shorter keys first, then by bytes. */
static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c;

	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	c = memcmp(x->key, y->key, x->klen);
	return c;
}

/* 1 when key k is kept by fields ("{a,b}"; "null" is SQL NULL there,
 * which matches nothing). */
static int wanted(const char *fields, const char *k, size_t klen)
{
	const char *p;

	if (!fields || !*fields || !strcmp(fields, "{}") ||
	    (klen == 2 && !memcmp(k, "id", 2)))
		return 1;
	for (p = fields + (*fields == '{'); *p && *p != '}';) {
		size_t n = strcspn(p, ",}");

		if (n == klen && !memcmp(p, k, n) && strncasecmp(p, "null", 4))
			return 1;
		p += n + (p[n] == ',');
	}
	return 0;
}

int vt_msmobj_json(const struct msmobj_row *row, const char *base,
		   const char *fields, struct vt_buf *out)
{
	struct obj *o = malloc(sizeof *o);   /* members are set as added */
	int rc, first = 1;

	if (!o)
		return VT_ENOMEM;
	o->n = 0;
	vt_buf_init(&o->s, 0);
	if ((rc = build(o, row, base)) < 0)
		goto out;
	for (int i = 0; i < o->n; i++)
		o->m[i].key = o->s.data + o->m[i].koff;
	qsort(o->m, (size_t)o->n, sizeof o->m[0], cmp_member);
	if ((rc = vt_buf_addc(out, '{')) < 0)
		goto out;
	for (int i = 0; i < o->n; i++) {
		const struct member *m = &o->m[i];

		if (!wanted(fields, m->key, m->klen))
			continue;
		if ((!first && (rc = vt_buf_add(out, ", ", 2)) < 0) ||
		    (rc = vt_msmobj_str(out, m->key, m->klen)) < 0 ||
		    (rc = vt_buf_add(out, ": ", 2)) < 0 ||
		    (rc = vt_buf_add(out, o->s.data + m->voff, m->vlen)) < 0)
			goto out;
		first = 0;
	}
	rc = vt_buf_addc(out, '}');
out:
	vt_buf_free(&o->s);
	free(o);
	return rc;
}
