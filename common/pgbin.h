/* pgbin.h - one-dimensional PostgreSQL arrays in the binary wire format
 * (array_send/array_recv), for bulk parameters of unnest(): no escaping on
 * our side and no text parsing on the server's.  Sent with PQexecParams,
 * parameter format 1 and the array type's OID.
 *
 * Layout: int32 ndim (1, or 0 for the empty array), int32 flags (1 when an
 * element is NULL), uint32 element OID, then per dimension int32 length and
 * int32 lower bound (1); then per element int32 byte length (-1: NULL) and
 * the element's own binary form.  All integers big-endian. */
#ifndef VT_COMMON_PGBIN_H
#define VT_COMMON_PGBIN_H

#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"
#include "common/err.h"

/* Element and array type OIDs (pg_type.h). */
#define VT_OID_BYTEA        17u
#define VT_OID_INT8         20u
#define VT_OID_INT4         23u
#define VT_OID_TEXT         25u
#define VT_OID_INET        869u
#define VT_OID_TIMESTAMPTZ 1184u
#define VT_OID_BYTEA_ARR  1001u
#define VT_OID_INT4_ARR   1007u
#define VT_OID_TEXT_ARR   1009u
#define VT_OID_INT8_ARR   1016u
#define VT_OID_INET_ARR   1041u
#define VT_OID_TIMESTAMPTZ_ARR 1185u

struct vt_pgbin {
	struct vt_buf b;
	unsigned      elem;     /* element type OID */
	int           n;        /* elements so far */
	int           nulls;    /* 1 once a NULL was added */
};

/* An empty array of elem, at most max bytes in all (0: no cap). */
void vt_pgbin_init(struct vt_pgbin *a, unsigned elem, size_t max);
/* Frees the buffer (NULL is fine); the array can be initialised again. */
void vt_pgbin_free(struct vt_pgbin *a);

/* Append one element of the array's type; 0, VT_ENOMEM or VT_ETOOBIG. */
int vt_pgbin_i64(struct vt_pgbin *a, long long v) VT_WUR;
int vt_pgbin_i32(struct vt_pgbin *a, long v) VT_WUR;
/* bytea or text (text must be valid in the server encoding). */
int vt_pgbin_bytes(struct vt_pgbin *a, const void *p, size_t len) VT_WUR;
/* A NULL element (any type). */
int vt_pgbin_null(struct vt_pgbin *a) VT_WUR;
/* timestamptz from Unix milliseconds. */
int vt_pgbin_ts_ms(struct vt_pgbin *a, int64_t unix_ms) VT_WUR;
/* inet from its text form (an IPv4 or IPv6 address, no prefix length);
 * VT_EINVAL when it is neither. */
int vt_pgbin_inet(struct vt_pgbin *a, const char *addr) VT_WUR;

/* Finishes the array: *len gets its size; the bytes (owned by a) or NULL
 * when out of memory.  No element may be added after it. */
const char *vt_pgbin_done(struct vt_pgbin *a, int *len);

/* COPY ... FROM STDIN (FORMAT binary): rows of values in the same binary
 * forms, for bulk loads (heap multi-inserts: one WAL record per page, not
 * per row).  Layout: the 19-byte header (signature, flags 0, no
 * extension), per row an int16 field count and per field an int32 byte
 * length (-1: NULL) and the value; the int16 -1 trailer.  Sent with
 * vt_pg_copy_in (common/pg.h). */
struct vt_pgcopy {
	struct vt_buf b;
	int           rows;
};

/* Empty, at most max bytes in all (0: no cap). */
void vt_pgcopy_init(struct vt_pgcopy *c, size_t max);
void vt_pgcopy_free(struct vt_pgcopy *c);
/* Empties the stream, keeping its storage (for the next one). */
void vt_pgcopy_reset(struct vt_pgcopy *c);
/* Starts a row of nfields values; each then takes one call below, in the
 * order of the COPY's column list.  0, VT_ENOMEM or VT_ETOOBIG. */
int vt_pgcopy_row(struct vt_pgcopy *c, int nfields) VT_WUR;
int vt_pgcopy_i64(struct vt_pgcopy *c, long long v) VT_WUR;
int vt_pgcopy_i32(struct vt_pgcopy *c, long v) VT_WUR;
int vt_pgcopy_bytes(struct vt_pgcopy *c, const void *p, size_t len) VT_WUR;
int vt_pgcopy_null(struct vt_pgcopy *c) VT_WUR;
int vt_pgcopy_ts_ms(struct vt_pgcopy *c, int64_t unix_ms) VT_WUR;
/* date: the UTC day of Unix time unix_s */
int vt_pgcopy_date(struct vt_pgcopy *c, long long unix_s) VT_WUR;
/* VT_EINVAL when addr is no IPv4 or IPv6 address (nothing added) */
int vt_pgcopy_inet(struct vt_pgcopy *c, const char *addr) VT_WUR;
/* Bytes a row's field takes in the stream besides its value (its length
 * word), and the stream's header and trailer together. */
#define VT_PGCOPY_FIELD 4u
#define VT_PGCOPY_FRAME 21u
/* Makes room for n more bytes of rows, the header (when none is written
 * yet) and the trailer: a stream whose size is known is allocated once.
 * 0, VT_ENOMEM or VT_ETOOBIG. */
int vt_pgcopy_reserve(struct vt_pgcopy *c, size_t n) VT_WUR;
/* Appends nrows rows encoded already (as the calls above lay them out,
 * each starting with its field count), e.g. a prefix shared by many rows
 * followed by each row's own last field.  0, VT_ENOMEM or VT_ETOOBIG. */
int vt_pgcopy_raw(struct vt_pgcopy *c, const void *p, size_t len, int nrows) VT_WUR;
/* Adds the trailer: the bytes to send (owned by c) and *len, or NULL when
 * out of memory.  Nothing may be added after it. */
const char *vt_pgcopy_done(struct vt_pgcopy *c, size_t *len);

#endif
