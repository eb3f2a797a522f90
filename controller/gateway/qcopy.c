/* qcopy.c - result_queue's COPY stream (see qcopy.h). */
#include "controller/gateway/qcopy.h"

#include <stdlib.h>
#include <string.h>

/* Appends the row head of upload u's rows (field count and the five
 * shared columns) to heads. */
static int row_head(struct vt_pgcopy *heads, const struct gw_db_upload *u)
{
	size_t srclen = u->src ? strlen(u->src) : 0;
	int rc;

	if ((rc = vt_pgcopy_row(heads, GW_QCOPY_COLS)) < 0 ||
	    (rc = vt_pgcopy_i32(heads, u->probe_id)) < 0 ||
	    (rc = vt_pgcopy_bytes(heads, u->sid, strlen(u->sid))) < 0)
		return rc;
	if (vt_pgcopy_inet(heads, u->from) < 0 && (rc = vt_pgcopy_null(heads)) < 0)
		return rc;
	if ((rc = srclen ? vt_pgcopy_bytes(heads, u->src, srclen)
			 : vt_pgcopy_null(heads)) < 0)
		return rc;
	return vt_pgcopy_ts_ms(heads, u->received_ms);
}

/* Uploads whose head lengths gw_qcopy_build keeps on its stack (a
 * group of the dbq has at most GW_DBQ_GROUP_MAX); more take one
 * allocation. */
#define HEADS_ON_STACK 64

int gw_qcopy_build(struct vt_pgcopy *c, struct vt_pgcopy *heads,
		   const struct gw_db_upload *u, int nu)
{
	const size_t skip = VT_PGCOPY_FRAME - 2;   /* heads' stream header */
	size_t need = 0, at, on_stack[HEADS_ON_STACK], *hl = on_stack;
	int rc = VT_OK;

	vt_pgcopy_reset(heads);
	if (nu > HEADS_ON_STACK && !(hl = malloc((size_t)nu * sizeof *hl)))
		return VT_ENOMEM;
	/* Each upload's head once, side by side, its length kept as the
	 * encoding gave it; the size: row heads, line lengths and lines. */
	for (int i = 0; i < nu && rc == 0; i++) {
		size_t before = heads->b.len ? heads->b.len : skip;

		hl[i] = 0;
		if (!u[i].n || (rc = row_head(heads, &u[i])) < 0)
			continue;
		hl[i] = heads->b.len - before;
		need += (size_t)u[i].n * (hl[i] + VT_PGCOPY_FIELD);
		for (int l = 0; l < u[i].n; l++)
			need += u[i].lens[l];
	}
	if (rc == 0 && need)
		rc = vt_pgcopy_reserve(c, need);
	at = skip;
	for (int i = 0; i < nu && rc == 0; i++) {
		const char *h = heads->b.data + at;

		for (int l = 0; l < u[i].n && rc == 0; l++)
			if ((rc = vt_pgcopy_raw(c, h, hl[i], 1)) == 0)
				rc = vt_pgcopy_bytes(c, u[i].lines[l], u[i].lens[l]);
		at += hl[i];
	}
	if (hl != on_stack)
		free(hl);
	return rc;
}
