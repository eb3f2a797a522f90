/* qcopy.c - result_queue's COPY stream (see qcopy.h). */
#include "controller/gateway/qcopy.h"

#include <stdint.h>
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

/* The length of the row head at p: the field count, then each of the
 * five shared fields' length word and bytes (-1: NULL, no bytes). */
static size_t head_len(const unsigned char *p)
{
	size_t n = 2;

	for (int f = 0; f < GW_QCOPY_COLS - 1; f++) {
		int32_t l = (int32_t)((uint32_t)p[n] << 24 | (uint32_t)p[n + 1] << 16 |
				      (uint32_t)p[n + 2] << 8 | p[n + 3]);

		n += 4 + (l > 0 ? (size_t)l : 0);
	}
	return n;
}

int gw_qcopy_build(struct vt_pgcopy *c, struct vt_pgcopy *heads,
		   const struct gw_db_upload *u, int nu)
{
	const size_t skip = VT_PGCOPY_FRAME - 2;   /* heads' stream header */
	size_t need = 0, at, hl;
	int rc = VT_OK;

	vt_pgcopy_reset(heads);
	/* Each upload's head once, side by side; the size: row heads, line
	 * lengths and lines. */
	for (int i = 0; i < nu && rc == 0; i++) {
		size_t before = heads->b.len ? heads->b.len : skip;

		if (!u[i].n || (rc = row_head(heads, &u[i])) < 0)
			continue;
		need += (size_t)u[i].n * (heads->b.len - before + VT_PGCOPY_FIELD);
		for (int l = 0; l < u[i].n; l++)
			need += u[i].lens[l];
	}
	if (rc == 0 && need)
		rc = vt_pgcopy_reserve(c, need);
	at = skip;
	for (int i = 0; i < nu && rc == 0; i++) {
		const char *h = heads->b.data + at;

		if (!u[i].n)
			continue;
		hl = head_len((const unsigned char *)h);
		for (int l = 0; l < u[i].n && rc == 0; l++)
			if ((rc = vt_pgcopy_raw(c, h, hl, 1)) == 0)
				rc = vt_pgcopy_bytes(c, u[i].lines[l], u[i].lens[l]);
		at += hl;
	}
	return rc;
}
