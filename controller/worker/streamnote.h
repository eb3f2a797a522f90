/* streamnote.h - the worker's NOTIFY vantage_stream (proto/stream.h):
 * which rows a batch stored, for live stream servers. */
#ifndef VT_WK_STREAMNOTE_H
#define VT_WK_STREAMNOTE_H

#include <libpq-fe.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"
#include "proto/stream.h"

/* The (msm_id, seq) of the rows a batch stored.  Zeroed is empty. */
struct wk_seqs {
	struct vt_stream_row *v;
	size_t n, cap;
};

/* Adds the rows of res (columns msm_id, seq; a NULL seq is skipped). */
int wk_seqs_add(struct wk_seqs *s, const PGresult *res) VT_WUR;
/* Adds one row. */
int wk_seqs_put(struct wk_seqs *s, long long msm, long long seq) VT_WUR;
/* Appends to sql the statements that send the notifications (none when
 * no row was stored); sorts s. */
int wk_seqs_notify_sql(struct wk_seqs *s, struct vt_buf *sql) VT_WUR;
void wk_seqs_free(struct wk_seqs *s);

#endif
