/* qcopy.h - the COPY BINARY stream that loads uploads into result_queue
 * (gw_db_queue_many, the usual case: no refused line).
 *
 * Per-row work done once: the stream's size is known before it is
 * written, so it is allocated once (a group of uploads is a few MiB, which
 * doubling would copy about twice over), and the five columns an upload's
 * rows share (probe, session, address, SRC=, receive time) are encoded
 * once per upload, its address parsed once, into a scratch stream of row
 * heads (one pass gives the heads and the size), and copied from there in
 * front of each of its lines. */
#ifndef VT_GW_QCOPY_H
#define VT_GW_QCOPY_H

#include "common/err.h"
#include "common/pgbin.h"
#include "controller/gateway/db.h"

#define GW_QCOPY_COLS 6
#define GW_QCOPY_SQL \
	"COPY result_queue (probe_id, session_id, from_addr, src, received," \
	" line) FROM STDIN (FORMAT binary)"

/* A stream this large is kept for the next group (about the largest
 * group, GW_DBQ_GROUP_BYTES of requests). */
#define GW_QCOPY_KEEP (4u << 20)

/* Appends the rows of the nu uploads to c (empty; initialised by the
 * caller, who frees it): one row per line, in order, the columns of
 * GW_QCOPY_SQL; a from that is no address goes as NULL, as does an empty
 * or NULL src.  heads is scratch, initialised and freed by the caller
 * (kept from group to group, it allocates no more): reset here, it holds
 * afterwards each upload's row head once (heads->rows: the uploads with
 * lines), in order.  0, VT_ENOMEM or VT_ETOOBIG. */
int gw_qcopy_build(struct vt_pgcopy *c, struct vt_pgcopy *heads,
		   const struct gw_db_upload *u, int nu) VT_WUR;

#endif
