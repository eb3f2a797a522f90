/* qcopy.c - result_queue's COPY stream (see qcopy.h). */
#include "controller/gateway/qcopy.h"

#include <string.h>

/* The row head of upload u's rows (field count and the five shared
 * columns) in pre, after the stream header pre starts with. */
static int row_head(struct vt_pgcopy *pre, const struct gw_db_upload *u)
{
	size_t srclen = u->src ? strlen(u->src) : 0;
	int rc;

	vt_pgcopy_reset(pre);
	if ((rc = vt_pgcopy_row(pre, GW_QCOPY_COLS)) < 0 ||
	    (rc = vt_pgcopy_i32(pre, u->probe_id)) < 0 ||
	    (rc = vt_pgcopy_bytes(pre, u->sid, strlen(u->sid))) < 0)
		return rc;
	if (vt_pgcopy_inet(pre, u->from) < 0 && (rc = vt_pgcopy_null(pre)) < 0)
		return rc;
	if ((rc = srclen ? vt_pgcopy_bytes(pre, u->src, srclen)
			 : vt_pgcopy_null(pre)) < 0)
		return rc;
	return vt_pgcopy_ts_ms(pre, u->received_ms);
}

int gw_qcopy_build(struct vt_pgcopy *c, const struct gw_db_upload *u, int nu)
{
	struct vt_pgcopy pre;
	const size_t skip = VT_PGCOPY_FRAME - 2;   /* pre's stream header */
	size_t need = 0;
	int rc = VT_OK;

	vt_pgcopy_init(&pre, 0);
	/* The size first: row heads, line lengths and lines. */
	for (int i = 0; i < nu && rc == 0; i++) {
		if (!u[i].n || (rc = row_head(&pre, &u[i])) < 0)
			continue;
		need += (size_t)u[i].n * (pre.b.len - skip + VT_PGCOPY_FIELD);
		for (int l = 0; l < u[i].n; l++)
			need += u[i].lens[l];
	}
	if (rc == 0 && need)
		rc = vt_pgcopy_reserve(c, need);
	for (int i = 0; i < nu && rc == 0; i++) {
		if (!u[i].n || (rc = row_head(&pre, &u[i])) < 0)
			continue;
		for (int l = 0; l < u[i].n && rc == 0; l++)
			if ((rc = vt_pgcopy_raw(c, pre.b.data + skip,
						pre.b.len - skip, 1)) == 0)
				rc = vt_pgcopy_bytes(c, u[i].lines[l],
						     u[i].lens[l]);
	}
	vt_pgcopy_free(&pre);
	return rc;
}
