/* line.h - one queued result line as the worker reads and enriches it:
 * the fast path (fastjson.h) when it takes the line, proto/enrich.h
 * otherwise.  No I/O; the fuzz target runs the same code as the worker.
 *
 * Every outcome is either the stored JSON or a reason to reject the line
 * (malformed, unknown measurement type, too big once enriched); only a
 * failed allocation is an error of the worker's own. */
#ifndef VT_WORKER_LINE_H
#define VT_WORKER_LINE_H

#include <stddef.h>
#include "common/buf.h"
#include "controller/worker/fastjson.h"
#include "proto/enrich.h"

/* Cap on one stored (enriched) result: numbers may print longer than the
 * probe wrote them ("1e14" is stored as 100000000000000.0). */
#define WK_STORED_MAX (VT_RESULT_MAX * 2)

struct wk_line {
	struct wk_fast    fast;
	int               fast_ok;    /* the fast path took the line */
	struct vt_result *res;        /* full parse, when it was needed */
	long long         msm_id;
	long long         time;
};

void wk_line_init(struct wk_line *l);
/* Releases what l holds (l itself is the caller's); NULL is fine. */
void wk_line_free(struct wk_line *l);

/* Reads the line: VT_OK with msm_id and time set, VT_EPARSE with the
 * reason in err, or VT_ENOMEM. */
int wk_line_parse(struct wk_line *l, const char *line, size_t len,
		  char *err, size_t errlen) VT_WUR;

/* Appends the stored JSON for e to out (out's own cap applies; give it
 * WK_STORED_MAX).  VT_OK; VT_EINVAL (unknown measurement type),
 * VT_ETOOBIG (the stored result would pass the cap) or VT_EPARSE, each
 * with the reason in err and out unchanged; VT_ENOMEM. */
int wk_line_enrich(struct wk_line *l, const char *line, size_t len,
		   const struct vt_enrich *e, struct vt_buf *out, char *err,
		   size_t errlen) VT_WUR;

#endif
