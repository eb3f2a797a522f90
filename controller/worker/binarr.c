/* binarr.c - binary PostgreSQL arrays (see binarr.h). */
#include "controller/worker/binarr.h"

#include <stdint.h>
#include <string.h>

#define HEAD 20         /* ndim, flags, element OID, dimension, lower bound */

static void put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

void wk_arr_init(struct wk_arr *a, unsigned elem, size_t max)
{
	vt_buf_init(&a->b, max);
	a->elem = elem;
	a->n = 0;
}

void wk_arr_free(struct wk_arr *a)
{
	if (!a)
		return;
	vt_buf_free(&a->b);
	a->n = 0;
}

/* Room for the header before the first element. */
static int begin(struct wk_arr *a, size_t n)
{
	int r;

	if (a->b.len == 0) {
		char h[HEAD] = { 0 };

		put32(h, 1);
		put32(h + 8, a->elem);
		put32(h + 16, 1);
		if ((r = vt_buf_add(&a->b, h, HEAD)) < 0)
			return r;
	}
	return vt_buf_reserve(&a->b, n);
}

int wk_arr_i64(struct wk_arr *a, long long v)
{
	char e[12];
	int r;

	if ((r = begin(a, sizeof e)) < 0)
		return r;
	put32(e, 8);
	put32(e + 4, (uint32_t)((unsigned long long)v >> 32));
	put32(e + 8, (uint32_t)v);
	a->n++;
	return vt_buf_add(&a->b, e, sizeof e);
}

int wk_arr_i32(struct wk_arr *a, long v)
{
	char e[8];
	int r;

	if ((r = begin(a, sizeof e)) < 0)
		return r;
	put32(e, 4);
	put32(e + 4, (uint32_t)v);
	a->n++;
	return vt_buf_add(&a->b, e, sizeof e);
}

int wk_arr_bytes(struct wk_arr *a, const void *p, size_t len)
{
	char e[4];
	int r;

	if (len > INT32_MAX)
		return VT_ETOOBIG;
	if ((r = begin(a, 4 + len)) < 0)
		return r;
	put32(e, (uint32_t)len);
	if ((r = vt_buf_add(&a->b, e, 4)) < 0)
		return r;
	a->n++;
	return vt_buf_add(&a->b, p, len);
}

const char *wk_arr_done(struct wk_arr *a, int *len)
{
	if (a->b.len == 0) {
		/* the empty array: no dimensions */
		char h[12] = { 0 };

		put32(h + 8, a->elem);
		if (vt_buf_add(&a->b, h, sizeof h) < 0)
			return NULL;
		*len = (int)a->b.len;
		return a->b.data;
	}
	put32(a->b.data + 12, (uint32_t)a->n);
	*len = (int)a->b.len;
	return a->b.data;
}
