/* fastjson.h - the worker's fast path for the common result line: one pass
 * over the probe's bytes that yields exactly what proto/enrich.h produces
 * (same bytes out), without building a JSON tree.
 *
 * It only takes lines it is sure of: plain ASCII strings without escapes,
 * integers that fit 18 digits, reals that print without an exponent, no
 * duplicate keys, no controller fields to replace in place.  For anything
 * else it declines, and the caller uses vt_result_parse/vt_result_enrich,
 * which also give the reasons for rejecting a line. */
#ifndef VT_WORKER_FASTJSON_H
#define VT_WORKER_FASTJSON_H

#include <stddef.h>
#include "common/buf.h"
#include "proto/enrich.h"

struct wk_fast {
	long long     msm_id;
	long long     time;
	struct vt_buf body;     /* the kept top-level members, compact */
	int           summary_keys;  /* the probe sent dup/rcvd/sent/min/max/avg */
	long          sent, rcvd, dup;   /* ping summary from "result" */
	double        min, max, sum;
};

/* Initialises f (empty); wk_fast_free releases it (NULL is fine). */
void wk_fast_init(struct wk_fast *f);
void wk_fast_free(struct wk_fast *f);

/* Reads one result line.  1: taken (msm_id, time and the body are set);
 * 0: declined, use the full parser (also when the compact body would pass
 * its cap of twice VT_RESULT_MAX); VT_ENOMEM when an allocation failed,
 * never for anything in the line. */
int wk_fast_parse(const char *json, size_t len, struct wk_fast *f) VT_WUR;

/* Appends the enriched result to out, byte for byte what
 * vt_result_enrich gives for the same line and e.  1: done; 0: declined
 * (out unchanged), use vt_result_enrich; VT_ENOMEM, or VT_ETOOBIG when out
 * reached its cap (out unchanged). */
int wk_fast_enrich(const struct wk_fast *f, const struct vt_enrich *e,
		   struct vt_buf *out) VT_WUR;

#endif
