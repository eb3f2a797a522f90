/* test_gw_qcopy.c - result_queue's COPY stream (controller/gateway/qcopy.h):
 * the very bytes the field-by-field encoding gives (every row its six
 * columns: IPv4, IPv6 and unparsable addresses, SRC= set, empty and
 * missing, empty lines, an upload without lines), each upload's row head
 * encoded once (the heads scratch holds them once each, in order, the
 * same bytes as the rows' heads), allocated once (the
 * buffer's capacity is the stream's size: no growth by doubling), a kept
 * stream reused without allocating, uploads without lines giving an
 * empty stream, and groups of more uploads than the build keeps head
 * lengths for on its stack. */
#include <stdlib.h>
#include <string.h>

#include "common/pgbin.h"
#include "controller/gateway/qcopy.h"
#include "tests/unit/check.h"

/* The five shared fields of upload u's rows, field by field, after the
 * field count. */
static int ref_head(struct vt_pgcopy *c, const struct gw_db_upload *u)
{
	size_t srclen = u->src ? strlen(u->src) : 0;

	if (vt_pgcopy_row(c, GW_QCOPY_COLS) < 0 ||
	    vt_pgcopy_i32(c, u->probe_id) < 0 ||
	    vt_pgcopy_bytes(c, u->sid, strlen(u->sid)) < 0)
		return -1;
	if (vt_pgcopy_inet(c, u->from) < 0 && vt_pgcopy_null(c) < 0)
		return -1;
	if ((srclen ? vt_pgcopy_bytes(c, u->src, srclen) : vt_pgcopy_null(c)) < 0 ||
	    vt_pgcopy_ts_ms(c, u->received_ms) < 0)
		return -1;
	return 0;
}

/* The stream as gw_db_queue_many wrote it before: field by field, every
 * row its head encoded afresh. */
static int reference(struct vt_pgcopy *c, const struct gw_db_upload *u, int nu)
{
	for (int i = 0; i < nu; i++)
		for (int l = 0; l < u[i].n; l++)
			if (ref_head(c, &u[i]) < 0 ||
			    vt_pgcopy_bytes(c, u[i].lines[l], u[i].lens[l]) < 0)
				return -1;
	return 0;
}

/* The row heads of the uploads with lines, one after another. */
static int ref_heads(struct vt_pgcopy *c, const struct gw_db_upload *u, int nu)
{
	for (int i = 0; i < nu; i++)
		if (u[i].n && ref_head(c, &u[i]) < 0)
			return -1;
	return 0;
}

/* Each upload with lines has its head in heads once, in order. */
static void heads_once(const struct vt_pgcopy *h, const struct gw_db_upload *u,
		       int nu)
{
	struct vt_pgcopy r;
	int with = 0;

	for (int i = 0; i < nu; i++)
		with += u[i].n > 0;
	vt_pgcopy_init(&r, 0);
	CHECK_INT(ref_heads(&r, u, nu), 0);
	CHECK_INT(h->rows, with);
	CHECK_INT(h->b.len, r.b.len);
	CHECK(h->b.len == r.b.len &&
	      (!r.b.len || memcmp(h->b.data, r.b.data, r.b.len) == 0));
	vt_pgcopy_free(&r);
}

/* Builds both streams of the nu uploads and compares them. */
static void same(const struct gw_db_upload *u, int nu, int rows)
{
	struct vt_pgcopy a, b, h;
	const char *pa, *pb;
	size_t la = 0, lb = 0;

	vt_pgcopy_init(&a, 0);
	vt_pgcopy_init(&b, 0);
	vt_pgcopy_init(&h, 0);
	CHECK_INT(gw_qcopy_build(&a, &h, u, nu), 0);
	heads_once(&h, u, nu);
	vt_pgcopy_free(&h);
	CHECK_INT(reference(&b, u, nu), 0);
	CHECK_INT(a.rows, rows);
	CHECK_INT(b.rows, rows);
	/* allocated once, to the size: header, rows, trailer and the
	 * buffer's NUL */
	if (rows) {
		size_t before = a.b.len;

		CHECK_INT(a.b.cap, before + 2 + 1);
	}
	pa = vt_pgcopy_done(&a, &la);
	pb = vt_pgcopy_done(&b, &lb);
	CHECK(pa && pb);
	CHECK_INT(la, lb);
	CHECK(pa && pb && la == lb && memcmp(pa, pb, la) == 0);
	if (rows)
		CHECK_INT(a.b.cap, la + 1);   /* the trailer fitted */
	vt_pgcopy_free(&a);
	vt_pgcopy_free(&b);
}

int main(void)
{
	static char big[70000];
	const char *l1[] = { "{\"id\":\"1001\",\"time\":1700000000}", "",
			     "{\"x\":\"\xc3\xa9\"}" };
	size_t n1[] = { 31, 0, 11 };
	const char *l2[] = { big, "{}" };
	size_t n2[2] = { sizeof big, 2 };
	const char *l3[] = { "{\"a\":1}" };
	size_t n3[] = { 7 };
	struct gw_db_upload u[4] = {
		{ 17, "abcdef0123456789", "192.0.2.1", NULL, 1700000000123LL,
		  l1, n1, 3, NULL, NULL, NULL, 0 },
		{ 2000000000L, "s", "2001:db8::7", "oneoff", 946684800000LL,
		  l2, n2, 2, NULL, NULL, NULL, 0 },
		{ 5, "t", "not an address", "", 0, NULL, NULL, 0, NULL, NULL,
		  NULL, 0 },
		{ 6, "u", NULL, "s", 1, l3, n3, 1, NULL, NULL, NULL, 0 },
	};
	struct vt_pgcopy e, eh;

	memset(big, 'y', sizeof big);
	same(u, 1, 3);
	same(u, 4, 6);
	same(&u[1], 1, 2);
	same(&u[3], 1, 1);
	/* an upload with no line adds nothing, not even the header */
	vt_pgcopy_init(&e, 0);
	vt_pgcopy_init(&eh, 0);
	CHECK_INT(gw_qcopy_build(&e, &eh, &u[2], 1), 0);
	CHECK_INT(e.rows, 0);
	CHECK_INT(e.b.len, 0);
	CHECK_INT(eh.rows, 0);
	vt_pgcopy_free(&e);
	vt_pgcopy_free(&eh);
	/* a stream kept for the next group (the gateway keeps one per sink
	 * thread): reset, it takes a group no larger without allocating,
	 * and holds the same bytes as a fresh one */
	{
		struct vt_pgcopy k, f, kh, fh;
		const char *p0, *h0, *pk, *pf;
		size_t cap0, lk = 0, lf = 0;

		vt_pgcopy_init(&k, 0);
		vt_pgcopy_init(&f, 0);
		vt_pgcopy_init(&kh, 0);
		vt_pgcopy_init(&fh, 0);
		CHECK_INT(gw_qcopy_build(&k, &kh, u, 4), 0);
		p0 = k.b.data;
		h0 = kh.b.data;
		cap0 = k.b.cap;
		vt_pgcopy_reset(&k);
		CHECK_INT(k.rows, 0);
		CHECK_INT(k.b.len, 0);
		/* the kept heads are reset by the build, not by the caller */
		CHECK_INT(gw_qcopy_build(&k, &kh, &u[1], 1), 0);
		CHECK(k.b.data == p0);
		CHECK(kh.b.data == h0);
		CHECK_INT(k.b.cap, cap0);
		heads_once(&kh, &u[1], 1);
		CHECK_INT(gw_qcopy_build(&f, &fh, &u[1], 1), 0);
		pk = vt_pgcopy_done(&k, &lk);
		pf = vt_pgcopy_done(&f, &lf);
		CHECK(pk && pf && lk == lf && memcmp(pk, pf, lk) == 0);
		CHECK_INT(k.rows, 2);
		vt_pgcopy_free(&k);
		vt_pgcopy_free(&f);
		vt_pgcopy_free(&kh);
		vt_pgcopy_free(&fh);
	}
	/* many uploads of many rows: still one allocation */
	{
		enum { NU = 64, NL = 300 };
		struct gw_db_upload *m = calloc(NU, sizeof *m);
		const char **lp = calloc(NL, sizeof *lp);
		size_t *ln = calloc(NL, sizeof *ln);

		CHECK(m && lp && ln);
		if (m && lp && ln) {
			for (int l = 0; l < NL; l++) {
				lp[l] = big;
				ln[l] = 100 + (size_t)l * 7;
			}
			for (int i = 0; i < NU; i++)
				m[i] = (struct gw_db_upload){ i + 1, "sess", "198.51.100.9",
					i % 2 ? "oneoff" : NULL, 1700000000000LL + i, lp, ln,
					NL - i, NULL, NULL, NULL, 0 };
			same(m, NU, NU * NL - NU * (NU - 1) / 2);
		}
		free(m);
		free(lp);
		free(ln);
	}
	/* more uploads than the build keeps head lengths for on its stack,
	 * heads of every length (sessions, addresses, SRC= of each kind),
	 * some uploads without lines among them */
	{
		enum { NU = 150 };
		static const char *const from[] = { "192.0.2.1", "2001:db8::1",
						    NULL, "bad" };
		static const char *const src[] = { NULL, "", "s", "longer src" };
		static const char *const sid[] = { "a", "0123456789abcdef",
						   "sess" };
		struct gw_db_upload *m = calloc(NU, sizeof *m);
		int rows = 0;

		CHECK(m != NULL);
		for (int i = 0; m && i < NU; i++) {
			int n = i % 7 == 3 ? 0 : 1 + i % 3;

			m[i] = (struct gw_db_upload){ i, sid[i % 3], from[i % 4],
				src[i / 4 % 4], 1700000000000LL + i, l1, n1, n,
				NULL, NULL, NULL, 0 };
			rows += n;
		}
		if (m)
			same(m, NU, rows);
		free(m);
	}
	return CHECK_DONE();
}
