/* buf.h - owned, growable byte buffers with a size cap, and a read cursor.
 *
 * Every buffer fed by a peer has a cap (max): an append that would pass it
 * fails with VT_ETOOBIG and leaves the buffer unchanged.  The content is
 * always NUL-terminated (the NUL is not counted in len). */
#ifndef VT_BUF_H
#define VT_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <string.h>
#include "err.h"

struct vt_buf {
	char   *data;  /* NULL until the first append */
	size_t  len;   /* bytes in use */
	size_t  cap;   /* bytes allocated */
	size_t  max;   /* cap on len; 0 means SIZE_MAX/2 */
};

/* Initialises an empty buffer that will never hold more than max bytes. */
void vt_buf_init(struct vt_buf *b, size_t max);
/* Frees the storage; the buffer is empty and usable again.  NULL is fine. */
void vt_buf_free(struct vt_buf *b);
/* Empties the buffer, keeping its storage. */
void vt_buf_reset(struct vt_buf *b);
/* Makes room for n more bytes. */
int vt_buf_reserve(struct vt_buf *b, size_t n) VT_WUR;
/* Makes room for exactly n more bytes when there is less (one allocation
 * of the size, for content whose size is known in advance). */
int vt_buf_reserve_exact(struct vt_buf *b, size_t n) VT_WUR;
int vt_buf_add(struct vt_buf *b, const void *p, size_t n) VT_WUR;
int vt_buf_adds(struct vt_buf *b, const char *s) VT_WUR;
int vt_buf_addc(struct vt_buf *b, char c) VT_WUR;
int vt_buf_addf(struct vt_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3))) VT_WUR;
int vt_buf_vaddf(struct vt_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0))) VT_WUR;
/* vt_buf_add and vt_buf_addc inline while the bytes fit in the storage
 * (reserved ahead, e.g. at the size of the input), as in a parser's
 * loop that appends token by token; otherwise through vt_buf_add. */
static inline int vt_buf_add_fast(struct vt_buf *b, const void *p, size_t n)
{
	/* cap is 0 (then len too) or holds len bytes and the NUL */
	if (n < b->cap - b->len && n <= b->max - b->len) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return VT_OK;
	}
	return vt_buf_add(b, p, n);
}

static inline int vt_buf_addc_fast(struct vt_buf *b, char c)
{
	if (1 < b->cap - b->len && b->len < b->max) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return VT_OK;
	}
	return vt_buf_add(b, &c, 1);
}

/* Cuts the content back to its first n bytes (n is clamped to len), for
 * taking back what was appended since len was n. */
void vt_buf_truncate(struct vt_buf *b, size_t n);
/* Removes the first n bytes (n is clamped to len). */
void vt_buf_consume(struct vt_buf *b, size_t n);
/* Hands the storage to the caller (who frees it) and empties the buffer.
 * Never NULL for a buffer that could allocate: an empty buffer yields "". */
char *vt_buf_take(struct vt_buf *b, size_t *len);

/* A read cursor over bytes it does not own.  The first error sticks:
 * later reads return nothing and err keeps the first code. */
struct vt_cur {
	const uint8_t *p;
	size_t         len;
	size_t         off;
	int            err;
};

void vt_cur_init(struct vt_cur *c, const void *p, size_t len);
size_t vt_cur_left(const struct vt_cur *c);
/* Next line without its terminator: ends at the first '\n' (a '\r' before
 * it is dropped).  The last line may lack '\n'.  Returns 0 at the end. */
int vt_cur_line(struct vt_cur *c, const char **line, size_t *len);
/* Network byte order readers; set err to VT_EPARSE when short. */
uint8_t  vt_cur_u8(struct vt_cur *c);
uint16_t vt_cur_u16(struct vt_cur *c);
uint32_t vt_cur_u32(struct vt_cur *c);
/* Points *p at the next n bytes and skips them (VT_EPARSE when short). */
int vt_cur_bytes(struct vt_cur *c, size_t n, const uint8_t **p);
void vt_cur_seek(struct vt_cur *c, size_t off);

#endif
