/* binarr.h - one-dimensional PostgreSQL arrays in the binary wire format
 * (array_send/array_recv), for bulk parameters of unnest(): no escaping on
 * our side and no text parsing on the server's. */
#ifndef VT_WORKER_BINARR_H
#define VT_WORKER_BINARR_H

#include <stddef.h>
#include "common/buf.h"
#include "common/err.h"

/* Element and array type OIDs (pg_type.h). */
#define WK_OID_BYTEA   17u
#define WK_OID_INT8    20u
#define WK_OID_INT4    23u
#define WK_OID_TEXT    25u
#define WK_OID_BYTEA_ARR 1001u
#define WK_OID_INT4_ARR  1007u
#define WK_OID_TEXT_ARR  1009u
#define WK_OID_INT8_ARR  1016u

struct wk_arr {
	struct vt_buf b;
	unsigned      elem;     /* element type OID */
	int           n;        /* elements so far */
};

/* An empty array of elem, at most max bytes in all. */
void wk_arr_init(struct wk_arr *a, unsigned elem, size_t max);
/* Frees the buffer (NULL is fine); the array can be initialised again. */
void wk_arr_free(struct wk_arr *a);

/* Appends one element of the array's type: VT_ENOMEM or VT_ETOOBIG. */
int wk_arr_i64(struct wk_arr *a, long long v) VT_WUR;
int wk_arr_i32(struct wk_arr *a, long v) VT_WUR;
int wk_arr_bytes(struct wk_arr *a, const void *p, size_t len) VT_WUR;

/* Finishes the array: *len gets its size; the bytes (owned by a) or NULL
 * when out of memory. */
const char *wk_arr_done(struct wk_arr *a, int *len);

#endif
