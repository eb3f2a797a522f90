#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VT_BUF_HARD_MAX (SIZE_MAX / 2)

void vt_buf_init(struct vt_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : VT_BUF_HARD_MAX;
}

void vt_buf_free(struct vt_buf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void vt_buf_reset(struct vt_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

int vt_buf_reserve(struct vt_buf *b, size_t n)
{
	size_t need, ncap;
	char *nd;

	if (n > b->max || b->len > b->max - n)
		return VT_ETOOBIG;
	need = b->len + n + 1;
	if (need <= b->cap)
		return VT_OK;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > VT_BUF_HARD_MAX / 2 ? need : ncap * 2;
	nd = realloc(b->data, ncap);
	if (!nd)
		return VT_ENOMEM;
	b->data = nd;
	b->cap = ncap;
	return VT_OK;
}

int vt_buf_reserve_exact(struct vt_buf *b, size_t n)
{
	char *nd;

	if (n > b->max || b->len > b->max - n)
		return VT_ETOOBIG;
	if (b->len + n + 1 <= b->cap)
		return VT_OK;
	if (b->len == 0) {
		/* nothing to keep: no copy of the old bytes */
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
	if (!(nd = realloc(b->data, b->len + n + 1)))
		return VT_ENOMEM;
	b->data = nd;
	b->cap = b->len + n + 1;
	return VT_OK;
}

int vt_buf_add(struct vt_buf *b, const void *p, size_t n)
{
	int r = vt_buf_reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return VT_OK;
}

void vt_buf_truncate(struct vt_buf *b, size_t n)
{
	if (n < b->len) {
		b->len = n;
		b->data[n] = '\0';
	}
}

int vt_buf_adds(struct vt_buf *b, const char *s)
{
	return vt_buf_add(b, s, strlen(s));
}

int vt_buf_addc(struct vt_buf *b, char c)
{
	return vt_buf_add(b, &c, 1);
}

int vt_buf_vaddf(struct vt_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, r;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return VT_EINVAL;
	r = vt_buf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return VT_OK;
}

int vt_buf_addf(struct vt_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vt_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void vt_buf_consume(struct vt_buf *b, size_t n)
{
	if (n >= b->len) {
		vt_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *vt_buf_take(struct vt_buf *b, size_t *len)
{
	char *d = b->data;

	if (!d) {
		d = calloc(1, 1);
		if (len)
			*len = 0;
		return d;
	}
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return d;
}

void vt_cur_init(struct vt_cur *c, const void *p, size_t len)
{
	c->p = p;
	c->len = len;
	c->off = 0;
	c->err = 0;
}

size_t vt_cur_left(const struct vt_cur *c)
{
	return c->err ? 0 : c->len - c->off;
}

int vt_cur_line(struct vt_cur *c, const char **line, size_t *len)
{
	const uint8_t *s, *nl;
	size_t left = vt_cur_left(c), n;

	if (!left)
		return 0;
	s = c->p + c->off;
	nl = memchr(s, '\n', left);
	n = nl ? (size_t)(nl - s) : left;
	c->off += nl ? n + 1 : n;
	if (n && s[n - 1] == '\r')
		n--;
	*line = (const char *)s;
	*len = n;
	return 1;
}

static int cur_need(struct vt_cur *c, size_t n)
{
	if (c->err)
		return 0;
	if (c->len - c->off < n) {
		c->err = VT_EPARSE;
		return 0;
	}
	return 1;
}

uint8_t vt_cur_u8(struct vt_cur *c)
{
	if (!cur_need(c, 1))
		return 0;
	return c->p[c->off++];
}

uint16_t vt_cur_u16(struct vt_cur *c)
{
	uint16_t v;

	if (!cur_need(c, 2))
		return 0;
	v = (uint16_t)(c->p[c->off] << 8 | c->p[c->off + 1]);
	c->off += 2;
	return v;
}

uint32_t vt_cur_u32(struct vt_cur *c)
{
	uint32_t v;

	if (!cur_need(c, 4))
		return 0;
	v = (uint32_t)c->p[c->off] << 24 | (uint32_t)c->p[c->off + 1] << 16 |
	    (uint32_t)c->p[c->off + 2] << 8 | c->p[c->off + 3];
	c->off += 4;
	return v;
}

int vt_cur_bytes(struct vt_cur *c, size_t n, const uint8_t **p)
{
	if (!cur_need(c, n))
		return c->err;
	*p = c->p + c->off;
	c->off += n;
	return VT_OK;
}

void vt_cur_seek(struct vt_cur *c, size_t off)
{
	if (c->err)
		return;
	if (off > c->len)
		c->err = VT_EPARSE;
	else
		c->off = off;
}
