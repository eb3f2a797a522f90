/* pgbin.c - binary PostgreSQL arrays (see pgbin.h). */
#include "common/pgbin.h"

#include <string.h>
#include <arpa/inet.h>

#define HEAD 20         /* ndim, flags, element OID, dimension, lower bound */
#define PG_EPOCH_MS 946684800000LL   /* 2000-01-01 in Unix milliseconds */
#define PGSQL_AF_INET  2             /* PostgreSQL's own family codes */
#define PGSQL_AF_INET6 3

static void put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

void vt_pgbin_init(struct vt_pgbin *a, unsigned elem, size_t max)
{
	vt_buf_init(&a->b, max);
	a->elem = elem;
	a->n = 0;
	a->nulls = 0;
}

void vt_pgbin_free(struct vt_pgbin *a)
{
	if (!a)
		return;
	vt_buf_free(&a->b);
	a->n = 0;
	a->nulls = 0;
}

/* Writes the header before the first element, then makes room for one
 * element of n bytes and its length word; appends the length word. */
static int begin(struct vt_pgbin *a, size_t n, int32_t len)
{
	char e[4];
	int r;

	if (a->b.len == 0) {
		char h[HEAD] = { 0 };

		put32(h, 1);
		put32(h + 8, a->elem);
		put32(h + 16, 1);
		if ((r = vt_buf_add(&a->b, h, HEAD)) < 0)
			return r;
	}
	if ((r = vt_buf_reserve(&a->b, 4 + n)) < 0)
		return r;
	put32(e, (uint32_t)len);
	a->n++;
	return vt_buf_add(&a->b, e, 4);
}

int vt_pgbin_i64(struct vt_pgbin *a, long long v)
{
	char e[8];
	int r;

	if ((r = begin(a, sizeof e, 8)) < 0)
		return r;
	put32(e, (uint32_t)((unsigned long long)v >> 32));
	put32(e + 4, (uint32_t)v);
	return vt_buf_add(&a->b, e, sizeof e);
}

int vt_pgbin_i32(struct vt_pgbin *a, long v)
{
	char e[4];
	int r;

	if ((r = begin(a, sizeof e, 4)) < 0)
		return r;
	put32(e, (uint32_t)v);
	return vt_buf_add(&a->b, e, sizeof e);
}

int vt_pgbin_bytes(struct vt_pgbin *a, const void *p, size_t len)
{
	int r;

	if (len > INT32_MAX)
		return VT_ETOOBIG;
	if ((r = begin(a, len, (int32_t)len)) < 0)
		return r;
	return len ? vt_buf_add(&a->b, p, len) : VT_OK;
}

int vt_pgbin_null(struct vt_pgbin *a)
{
	int r = begin(a, 0, -1);

	if (r == 0)
		a->nulls = 1;
	return r;
}

int vt_pgbin_ts_ms(struct vt_pgbin *a, int64_t unix_ms)
{
	/* microseconds since 2000-01-01 (integer datetimes) */
	return vt_pgbin_i64(a, (long long)(unix_ms - PG_EPOCH_MS) * 1000);
}

int vt_pgbin_inet(struct vt_pgbin *a, const char *addr)
{
	unsigned char e[4 + 16];
	size_t n;
	int r;

	if (addr && inet_pton(AF_INET, addr, e + 4) == 1) {
		e[0] = PGSQL_AF_INET;
		e[1] = 32;
		n = 4;
	} else if (addr && inet_pton(AF_INET6, addr, e + 4) == 1) {
		e[0] = PGSQL_AF_INET6;
		e[1] = 128;
		n = 16;
	} else {
		return VT_EINVAL;
	}
	e[2] = 0;               /* inet, not cidr */
	e[3] = (unsigned char)n;
	if ((r = begin(a, 4 + n, (int32_t)(4 + n))) < 0)
		return r;
	return vt_buf_add(&a->b, e, 4 + n);
}

const char *vt_pgbin_done(struct vt_pgbin *a, int *len)
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
	put32(a->b.data + 4, (uint32_t)a->nulls);
	put32(a->b.data + 12, (uint32_t)a->n);
	*len = (int)a->b.len;
	return a->b.data;
}
