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

/* Makes room in b for one value of n bytes and its length word; appends
 * the length word (-1: NULL).  Arrays and COPY rows lay values out alike. */
static int field(struct vt_buf *b, size_t n, int32_t len)
{
	char e[4];
	int r;

	if ((r = vt_buf_reserve(b, 4 + n)) < 0)
		return r;
	put32(e, (uint32_t)len);
	return vt_buf_add(b, e, 4);
}

static int put_i64(struct vt_buf *b, long long v)
{
	char e[8];
	int r;

	if ((r = field(b, sizeof e, 8)) < 0)
		return r;
	put32(e, (uint32_t)((unsigned long long)v >> 32));
	put32(e + 4, (uint32_t)v);
	return vt_buf_add(b, e, sizeof e);
}

static int put_i32(struct vt_buf *b, long v)
{
	char e[4];
	int r;

	if ((r = field(b, sizeof e, 4)) < 0)
		return r;
	put32(e, (uint32_t)v);
	return vt_buf_add(b, e, sizeof e);
}

static int put_bytes(struct vt_buf *b, const void *p, size_t len)
{
	int r;

	if (len > INT32_MAX)
		return VT_ETOOBIG;
	if ((r = field(b, len, (int32_t)len)) < 0)
		return r;
	return len ? vt_buf_add(b, p, len) : VT_OK;
}

static int put_inet(struct vt_buf *b, const char *addr)
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
	if ((r = field(b, 4 + n, (int32_t)(4 + n))) < 0)
		return r;
	return vt_buf_add(b, e, 4 + n);
}

/* Writes the header before the first element; counts one more. */
static int begin(struct vt_pgbin *a)
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
	a->n++;
	return VT_OK;
}

int vt_pgbin_i64(struct vt_pgbin *a, long long v)
{
	int r = begin(a);

	return r < 0 ? r : put_i64(&a->b, v);
}

int vt_pgbin_i32(struct vt_pgbin *a, long v)
{
	int r = begin(a);

	return r < 0 ? r : put_i32(&a->b, v);
}

int vt_pgbin_bytes(struct vt_pgbin *a, const void *p, size_t len)
{
	int r;

	if (len > INT32_MAX)
		return VT_ETOOBIG;
	r = begin(a);
	return r < 0 ? r : put_bytes(&a->b, p, len);
}

int vt_pgbin_null(struct vt_pgbin *a)
{
	int r = begin(a);

	if (r == 0 && (r = field(&a->b, 0, -1)) == 0)
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
	unsigned char e[16];
	int r;

	if (!addr || (inet_pton(AF_INET, addr, e) != 1 &&
		      inet_pton(AF_INET6, addr, e) != 1))
		return VT_EINVAL;
	r = begin(a);
	return r < 0 ? r : put_inet(&a->b, addr);
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

/* COPY BINARY: the signature, flags and header extension length. */
static const char copy_head[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0";

void vt_pgcopy_init(struct vt_pgcopy *c, size_t max)
{
	vt_buf_init(&c->b, max);
	c->rows = 0;
}

void vt_pgcopy_free(struct vt_pgcopy *c)
{
	if (!c)
		return;
	vt_buf_free(&c->b);
	c->rows = 0;
}

void vt_pgcopy_reset(struct vt_pgcopy *c)
{
	vt_buf_reset(&c->b);
	c->rows = 0;
}

int vt_pgcopy_row(struct vt_pgcopy *c, int nfields)
{
	char n[2] = { (char)(nfields >> 8), (char)nfields };
	int r;

	if (c->b.len == 0 && (r = vt_buf_add(&c->b, copy_head, sizeof copy_head)) < 0)
		return r;
	if ((r = vt_buf_add(&c->b, n, 2)) < 0)
		return r;
	c->rows++;
	return VT_OK;
}

int vt_pgcopy_reserve(struct vt_pgcopy *c, size_t n)
{
	if (n > SIZE_MAX / 2)
		return VT_ETOOBIG;
	return vt_buf_reserve_exact(&c->b, n + (c->b.len ? 0 : sizeof copy_head) + 2);
}

int vt_pgcopy_raw(struct vt_pgcopy *c, const void *p, size_t len, int nrows)
{
	int r;

	if (c->b.len == 0 && (r = vt_buf_add(&c->b, copy_head, sizeof copy_head)) < 0)
		return r;
	if ((r = vt_buf_add(&c->b, p, len)) < 0)
		return r;
	c->rows += nrows;
	return VT_OK;
}

int vt_pgcopy_i64(struct vt_pgcopy *c, long long v)
{
	return put_i64(&c->b, v);
}

int vt_pgcopy_i32(struct vt_pgcopy *c, long v)
{
	return put_i32(&c->b, v);
}

int vt_pgcopy_bytes(struct vt_pgcopy *c, const void *p, size_t len)
{
	return put_bytes(&c->b, p, len);
}

int vt_pgcopy_null(struct vt_pgcopy *c)
{
	return field(&c->b, 0, -1);
}

int vt_pgcopy_ts_ms(struct vt_pgcopy *c, int64_t unix_ms)
{
	return put_i64(&c->b, (long long)(unix_ms - PG_EPOCH_MS) * 1000);
}

int vt_pgcopy_date(struct vt_pgcopy *c, long long unix_s)
{
	long long d = unix_s / 86400 - (unix_s % 86400 < 0);

	/* days since 2000-01-01 */
	return put_i32(&c->b, (long)(d - PG_EPOCH_MS / 86400000));
}

int vt_pgcopy_inet(struct vt_pgcopy *c, const char *addr)
{
	return put_inet(&c->b, addr);
}

const char *vt_pgcopy_done(struct vt_pgcopy *c, size_t *len)
{
	static const char trailer[2] = { (char)0xff, (char)0xff };

	if (c->b.len == 0 && vt_buf_add(&c->b, copy_head, sizeof copy_head) < 0)
		return NULL;
	if (vt_buf_add(&c->b, trailer, 2) < 0)
		return NULL;
	*len = c->b.len;
	return c->b.data;
}
