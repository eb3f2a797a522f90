/* fastjson.c - the fast path of result enrichment (see fastjson.h).
 *
 * A strict recursive-descent reader that copies the line in compact form
 * while checking it.  Output rules follow what the full path gives
 * (jansson, compact, 15 significant digits for reals): strings and
 * integers come out as they went in, reals as "%.15g" with ".0" added when
 * that looks like an integer, members in the probe's order. */
#include "controller/worker/fastjson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64
#define MAX_KEYS  128       /* members of one object */

enum { M_PLAIN, M_RESULTS, M_ENTRY };   /* what a value is to the summary */

struct rd {
	const char    *p, *end;
	struct vt_buf *out;
	struct wk_fast *f;
	int            err;     /* first failed append: VT_ENOMEM or VT_ETOOBIG */
};

/* Number read: its kind and value (v of a real only once num_v asked
 * for it: most reals are copied, never used). */
struct num {
	int    is_num;
	int    is_real;
	int    have_v;
	double v;
	long long i;
	const char *tok;        /* a real's token in the line */
	size_t tokn;
};

void wk_fast_init(struct wk_fast *f)
{
	memset(f, 0, sizeof *f);
	vt_buf_init(&f->body, VT_RESULT_MAX * 2);
}

void wk_fast_free(struct wk_fast *f)
{
	if (!f)
		return;
	vt_buf_free(&f->body);
}

static void ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
				 *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* Appends to the output; the first failure is kept in r->err.  Inline
 * while the bytes fit: the body is reserved at the line's size, which it
 * rarely passes. */
static int put(struct rd *r, const void *s, size_t n)
{
	int e = vt_buf_add_fast(r->out, s, n);

	if (e < 0) {
		if (!r->err)
			r->err = e;
		return -1;
	}
	return 0;
}

/* put() of one byte: the punctuation between tokens. */
static int put1(struct rd *r, char c)
{
	int e = vt_buf_addc_fast(r->out, c);

	if (e < 0) {
		if (!r->err)
			r->err = e;
		return -1;
	}
	return 0;
}

/* A real as the full path prints it; -1 when it would have an exponent. */
static int real_str(double v, char *buf, size_t n)
{
	int k = snprintf(buf, n, "%.15g", v);

	if (k < 0 || (size_t)k + 3 > n || strchr(buf, 'e') || strchr(buf, 'n') ||
	    strchr(buf, 'i'))
		return -1;
	if (!strchr(buf, '.'))
		memcpy(buf + k, ".0", 3);
	return 0;
}

/* What real_str gives for the real written as tok[0..n), without the
 * round trip through printf (the worker's costliest part per line): a
 * decimal with at most 15 significant digits and no exponent comes back
 * from "%.15g" as the same digits (DBL_DIG), less the trailing zeros of
 * its fraction, in fixed notation when its decimal exponent is -4 or more.
 * Its length, or -1 for anything else (the caller then prints it). */
static int real_tok(const char *tok, size_t n, char *buf, size_t cap)
{
	const char *p = tok, *end = tok + n, *dot;
	int sig = 0, lead = 0, nonzero = 0;
	size_t k;

	if (n + 3 > cap || n == 0)
		return -1;
	if (*p == '-')
		p++;
	if (!(dot = memchr(p, '.', (size_t)(end - p))))
		return -1;
	for (const char *q = p; q < end; q++) {
		if (q == dot)
			continue;
		if (*q < '0' || *q > '9')
			return -1;          /* an exponent */
		if (*q != '0')
			nonzero = 1;
		if (nonzero)
			sig++;
		else if (q > dot)
			lead++;             /* zeros after the point, before a digit */
	}
	/* sig counts trailing zeros too: they are not significant, but a
	 * token with more than 15 digits after its first is left to printf */
	if (sig > 15 || (nonzero && dot - p == 1 && *p == '0' && lead > 3))
		return -1;
	k = (size_t)(end - tok);
	while (k > (size_t)(dot - tok) + 1 && tok[k - 1] == '0')
		k--;
	if (k == (size_t)(dot - tok) + 1)
		k--;                        /* no fraction left: "12." */
	memcpy(buf, tok, k);
	if (k == (size_t)(dot - tok)) {
		memcpy(buf + k, ".0", 3);
		k += 2;
	} else {
		buf[k] = '\0';
	}
	return (int)k;
}

/* 1 when s[0..n) needs no escaping and is plain ASCII. */
static int plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
			return 0;
	}
	return 1;
}

/* A string without escapes, control or non-ASCII bytes: its contents in
 * *s, *n; r->p moves past it. */
static int scan_string(struct rd *r, const char **s, size_t *n)
{
	const char *b = ++r->p, *q = b;
	unsigned char c;

	/* one pass: to the closing quote, through plain bytes only */
	for (;; q++) {
		if (q >= r->end)
			return -1;
		c = (unsigned char)*q;
		if (c == '"')
			break;
		if (c == '\\' || c < 0x20 || c >= 0x80)
			return -1;
	}
	*s = b;
	*n = (size_t)(q - b);
	r->p = q + 1;
	return 0;
}

/* The same, copied to the output. */
static int string(struct rd *r, const char **s, size_t *n)
{
	if (scan_string(r, s, n) < 0)
		return -1;
	return put(r, *s - 1, *n + 2);
}

static int number(struct rd *r, struct num *nm)
{
	const char *b = r->p;
	int digits = 0, real = 0, k;
	char tok[64], out[40];

	if (r->p < r->end && *r->p == '-')
		r->p++;
	if (r->p < r->end && *r->p == '0') {
		r->p++;
		digits = 1;
		if (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			return -1;
	} else {
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
			r->p++;
			digits++;
		}
	}
	if (!digits)
		return -1;
	if (r->p < r->end && *r->p == '.') {
		real = 1;
		r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return -1;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		real = 1;
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
			r->p++;
		if (r->p >= r->end || *r->p < '0' || *r->p > '9')
			return -1;
		while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
			r->p++;
	}
	if ((size_t)(r->p - b) >= sizeof tok)
		return -1;
	nm->is_num = 1;
	nm->is_real = real;
	if (!real) {
		/* "-0" prints as "0"; longer ones might not fit long long */
		const char *q = b + (*b == '-');
		long long v = 0;

		if (digits > 18 || (r->p - b == 2 && b[0] == '-' && b[1] == '0'))
			return -1;
		for (; q < r->p; q++)
			v = v * 10 + (*q - '0');
		nm->i = *b == '-' ? -v : v;
		nm->v = (double)nm->i;
		nm->have_v = 1;
		return put(r, b, (size_t)(r->p - b));
	}
	nm->tok = b;
	nm->tokn = (size_t)(r->p - b);
	/* a real real_tok can write has at most 15 digits and no exponent:
	 * finite, so its value is only read when the summary needs it */
	if ((k = real_tok(b, nm->tokn, out, sizeof out)) >= 0)
		return put(r, out, (size_t)k);
	memcpy(tok, b, nm->tokn);
	tok[nm->tokn] = '\0';
	nm->v = strtod(tok, NULL);
	nm->have_v = 1;
	if (isinf(nm->v) || isnan(nm->v))
		return -1;
	if (real_str(nm->v, out, sizeof out) < 0)
		return -1;
	return put(r, out, strlen(out));
}

/* The value of a number read by number(). */
static double num_v(struct num *nm)
{
	char tok[64];

	if (!nm->have_v) {
		memcpy(tok, nm->tok, nm->tokn);     /* under 64: number() */
		tok[nm->tokn] = '\0';
		nm->v = strtod(tok, NULL);
		nm->have_v = 1;
	}
	return nm->v;
}

static int literal(struct rd *r, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n))
		return -1;
	r->p += n;
	return put(r, w, n);
}

static int value(struct rd *r, int depth, int mode, struct num *nm);

static int array(struct rd *r, int depth, int mode)
{
	struct num nm;

	r->p++;
	if (put1(r, '[') < 0)
		return -1;
	ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		return put1(r, ']');
	}
	for (;;) {
		if (value(r, depth + 1, mode == M_RESULTS ? M_ENTRY : M_PLAIN,
			  &nm) < 0)
			return -1;
		ws(r);
		if (r->p >= r->end)
			return -1;
		if (*r->p == ']') {
			r->p++;
			return put1(r, ']');
		}
		if (*r->p != ',' || put1(r, ',') < 0)
			return -1;
		r->p++;
		ws(r);
	}
}

/* An object below the top level; M_ENTRY: one entry of a ping's result[]
 * (counted for the summary). */
static int object(struct rd *r, int depth, int mode)
{
	const char *ks[MAX_KEYS];
	size_t kl[MAX_KEYS];
	int nk = 0, dup = 0;
	struct num rtt = { 0 };

	r->p++;
	if (put1(r, '{') < 0)
		return -1;
	ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		goto done;
	}
	for (;;) {
		struct num nm = { 0 };

		if (r->p >= r->end || *r->p != '"' || nk == MAX_KEYS ||
		    string(r, &ks[nk], &kl[nk]) < 0)
			return -1;
		for (int i = 0; i < nk; i++)
			if (kl[i] == kl[nk] && !memcmp(ks[i], ks[nk], kl[i]))
				return -1;       /* duplicate key */
		ws(r);
		if (r->p >= r->end || *r->p != ':' || put1(r, ':') < 0)
			return -1;
		r->p++;
		if (value(r, depth + 1, M_PLAIN, &nm) < 0)
			return -1;
		if (kl[nk] == 3 && !memcmp(ks[nk], "dup", 3))
			dup = 1;
		if (kl[nk] == 3 && !memcmp(ks[nk], "rtt", 3))
			rtt = nm;
		nk++;
		ws(r);
		if (r->p >= r->end)
			return -1;
		if (*r->p == '}') {
			r->p++;
			break;
		}
		if (*r->p != ',' || put1(r, ',') < 0)
			return -1;
		r->p++;
		ws(r);
	}
done:
	if (mode == M_ENTRY) {
		struct wk_fast *f = r->f;

		if (dup) {
			f->dup++;
		} else {
			f->sent++;
			if (rtt.is_num) {
				double v = num_v(&rtt);

				if (f->rcvd == 0 || v < f->min)
					f->min = v;
				if (f->rcvd == 0 || v > f->max)
					f->max = v;
				f->sum += v;
				f->rcvd++;
			}
		}
	}
	return put1(r, '}');
}

static int value(struct rd *r, int depth, int mode, struct num *nm)
{
	const char *s;
	size_t n;

	memset(nm, 0, sizeof *nm);
	if (depth > MAX_DEPTH)
		return -1;
	ws(r);
	if (r->p >= r->end)
		return -1;
	switch (*r->p) {
	case '{': return object(r, depth, mode);
	case '[': return array(r, depth, mode);
	case '"': return string(r, &s, &n);
	case 't': return literal(r, "true");
	case 'f': return literal(r, "false");
	case 'n': return literal(r, "null");
	default:  return number(r, nm);
	}
}

static inline int key_is(const char *k, size_t n, const char *w)
{
	return strlen(w) == n && !memcmp(k, w, n);
}

/* Keys only the controller sets: dropped from the probe's line. */
static int controller_key(const char *k, size_t n)
{
#define K(s) { s, sizeof s - 1 }
	static const struct { const char *s; size_t n; } keys[] = { K("id"),
		K("time"), K("msm_id"), K("prb_id"), K("timestamp"), K("from"),
		K("stored_timestamp"), K("type"), K("msm_name"), K("group_id"),
		K("step") };
#undef K

	/* every top-level key of every line passes here: lengths first */
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (keys[i].n == n && keys[i].s[0] == k[0] &&
		    !memcmp(k, keys[i].s, n))
			return 1;
	return 0;
}

int wk_fast_parse(const char *json, size_t len, struct wk_fast *f)
{
	struct rd r = { json, json + len, &f->body, f, 0 };
	const char *ks[MAX_KEYS];
	size_t kl[MAX_KEYS];
	int nk = 0, have_id = 0, have_time = 0;

	vt_buf_reset(&f->body);
	f->msm_id = f->time = 0;
	f->summary_keys = 0;
	f->sent = f->rcvd = f->dup = 0;
	f->min = f->max = f->sum = 0;
	if (len > VT_RESULT_MAX)
		return 0;
	/* the compact body is about the line's size: one allocation, not a
	 * doubling from 64 bytes (and a copy at each step) */
	if (vt_buf_reserve(&f->body, len + 64) == VT_ENOMEM)
		return VT_ENOMEM;
	ws(&r);
	if (r.p >= r.end || *r.p != '{')
		goto no;
	r.p++;
	ws(&r);
	if (r.p < r.end && *r.p == '}') {
		r.p++;
		goto end;
	}
	for (;;) {
		struct num nm;
		size_t mark;
		int drop;

		if (r.p >= r.end || *r.p != '"' || nk == MAX_KEYS ||
		    scan_string(&r, &ks[nk], &kl[nk]) < 0)
			goto no;
		for (int i = 0; i < nk; i++)
			if (kl[i] == kl[nk] && !memcmp(ks[i], ks[nk], kl[i]))
				goto no;
		ws(&r);
		if (r.p >= r.end || *r.p != ':')
			goto no;
		r.p++;
		drop = controller_key(ks[nk], kl[nk]);
		mark = f->body.len;
		if (!drop && ((f->body.len && put1(&r, ',') < 0) ||
			      put(&r, ks[nk] - 1, kl[nk] + 2) < 0 ||
			      put1(&r, ':') < 0))
			goto no;
		if (value(&r, 1, key_is(ks[nk], kl[nk], "result") ? M_RESULTS
			  : M_PLAIN, &nm) < 0)
			goto no;
		if (key_is(ks[nk], kl[nk], "id")) {
			const char *v = f->body.data + mark;
			size_t vl = f->body.len - mark;

			if (vl >= 3 && vl <= 20 && v[0] == '"' &&
			    strspn(v + 1, "0123456789") == vl - 2) {
				f->msm_id = strtoll(v + 1, NULL, 10);
			} else if (nm.is_num && !nm.is_real && nm.i > 0) {
				f->msm_id = nm.i;
			} else {
				goto no;
			}
			have_id = 1;
		} else if (key_is(ks[nk], kl[nk], "time")) {
			if (!nm.is_num || nm.is_real || nm.i <= 0)
				goto no;
			f->time = nm.i;
			have_time = 1;
		}
		if (key_is(ks[nk], kl[nk], "dup") || key_is(ks[nk], kl[nk], "rcvd") ||
		    key_is(ks[nk], kl[nk], "sent") || key_is(ks[nk], kl[nk], "min") ||
		    key_is(ks[nk], kl[nk], "max") || key_is(ks[nk], kl[nk], "avg"))
			f->summary_keys = 1;
		if (drop)
			vt_buf_truncate(&f->body, mark);
		nk++;
		ws(&r);
		if (r.p >= r.end)
			goto no;
		if (*r.p == '}') {
			r.p++;
			break;
		}
		if (*r.p != ',')
			goto no;
		r.p++;
		ws(&r);
	}
end:
	ws(&r);
	if (r.p != r.end || !have_id || !have_time)
		goto no;
	return 1;
no:
	/* A body over its cap (reals print longer than a probe may write
	 * them) is declined like any other line the fast path is unsure of;
	 * only a failed allocation is an error. */
	return r.err == VT_ENOMEM ? VT_ENOMEM : 0;
}

/* Appends s[0..n) and then v in decimal, as "%lld" writes it (the
 * controller's fields, without printf's cost per call). */
static int add_ll(struct vt_buf *out, const char *s, size_t n, long long v)
{
	char d[24], *q = d + sizeof d;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
				     : (unsigned long long)v;
	int r;

	do
		*--q = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--q = '-';
	if ((r = vt_buf_add(out, s, n)) < 0)
		return r;
	return vt_buf_add(out, q, (size_t)(d + sizeof d - q));
}

#define ADD_LL(out, lit, v) add_ll(out, lit, sizeof lit - 1, v)

int wk_fast_enrich(const struct wk_fast *f, const struct vt_enrich *e,
		   struct vt_buf *out)
{
	const char *name = vt_result_msm_name(e->type);
	size_t mark = out->len;
	int ping, r;

	if (!name)
		return 0;
	ping = !strcmp(e->type, "ping");
	if (ping && f->summary_keys)
		return 0;
	if ((r = vt_buf_addc(out, '{')) < 0 ||
	    (f->body.len && (r = vt_buf_add(out, f->body.data, f->body.len)) < 0))
		goto fail;
	if (ping) {
		char mn[40], mx[40], av[40];

		r = vt_buf_addf(out, "%s\"dup\":%ld,\"rcvd\":%ld,\"sent\":%ld,",
				f->body.len ? "," : "", f->dup, f->rcvd, f->sent);
		if (r < 0)
			goto fail;
		if (f->rcvd == 0) {
			r = vt_buf_adds(out, "\"min\":-1,\"max\":-1,\"avg\":-1");
		} else {
			if (real_str(f->min, mn, sizeof mn) < 0 ||
			    real_str(f->max, mx, sizeof mx) < 0 ||
			    real_str(f->sum / (double)f->rcvd, av, sizeof av) < 0) {
				r = 0;
				goto fail;
			}
			r = vt_buf_addf(out, "\"min\":%s,\"max\":%s,\"avg\":%s",
					mn, mx, av);
		}
		if (r < 0)
			goto fail;
	}
	/* the controller's fields, as proto/enrich.c writes them */
	r = f->body.len || ping ? vt_buf_addc(out, ',') : 0;
	if (r == 0)
		r = ADD_LL(out, "\"msm_id\":", f->msm_id);
	if (r == 0)
		r = ADD_LL(out, ",\"prb_id\":", e->prb_id);
	if (r == 0)
		r = ADD_LL(out, ",\"timestamp\":", f->time);
	if (r == 0 && (r = vt_buf_adds(out, ",\"msm_name\":\"")) == 0 &&
	    (r = vt_buf_adds(out, name)) == 0)
		r = vt_buf_addc(out, '"');
	if (r == 0 && e->from) {
		size_t n = strlen(e->from);

		if (!plain(e->from, n)) {
			r = 0;
			goto fail;
		}
		if ((r = vt_buf_adds(out, ",\"from\":\"")) == 0 &&
		    (r = vt_buf_add(out, e->from, n)) == 0)
			r = vt_buf_addc(out, '"');
	}
	if (r == 0 && (r = vt_buf_adds(out, ",\"type\":\"")) == 0 &&
	    (r = vt_buf_adds(out, e->type)) == 0)
		r = vt_buf_addc(out, '"');
	if (r == 0 && e->group_id > 0)
		r = ADD_LL(out, ",\"group_id\":", e->group_id);
	if (r == 0)
		r = e->step > 0 ? ADD_LL(out, ",\"step\":", e->step)
				: vt_buf_adds(out, ",\"step\":null");
	if (r == 0)
		r = ADD_LL(out, ",\"stored_timestamp\":", e->stored);
	if (r == 0)
		r = vt_buf_addc(out, '}');
	if (r < 0)
		goto fail;
	return 1;
fail:
	vt_buf_truncate(out, mark);
	return r;
}
