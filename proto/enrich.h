/* enrich.h - a probe's result JSON, and the fields the controller adds
 * (PROTOCOL.md, "Result JSON": msm_id, prb_id, timestamp, msm_name, from,
 * type, group_id, step, stored_timestamp, and the ping summary).
 *
 * Pure functions: the probe's bytes in, the stored JSON out. */
#ifndef VT_PROTO_ENRICH_H
#define VT_PROTO_ENRICH_H

#include <stddef.h>
#include "common/buf.h"

#define VT_RESULT_MAX 1000000       /* bytes of one result line */

struct vt_result;

/* Parses one result as a probe wrote it (the JSON after "RESULT ").  It must
 * be an object with "id" (the measurement id, a string of digits or a
 * number) and "time" (unix seconds).  On VT_EPARSE a reason is written to
 * err. */
int vt_result_parse(const char *json, size_t len, struct vt_result **out,
		    char *err, size_t errlen) VT_WUR;
void vt_result_free(struct vt_result *r);
long long vt_result_msm_id(const struct vt_result *r);
long long vt_result_time(const struct vt_result *r);

/* What the controller knows and the probe does not. */
struct vt_enrich {
	const char *type;           /* "ping", "traceroute", "dns" (the measurement's) */
	long        prb_id;         /* from the authenticated session */
	const char *from;           /* address the probe came from, or NULL */
	long long   group_id;       /* 0: omitted */
	long        step;           /* interval; <= 0: null (one-offs) */
	long long   stored;         /* stored_timestamp, unix seconds */
};

/* Appends the enriched result as compact JSON to out: the probe's fields in
 * its order except "id" and "time" (replaced by msm_id and timestamp), for
 * ping the summary (dup, rcvd, sent, min, max, avg; -1 when nothing came
 * back), then msm_id, prb_id, timestamp, msm_name, from, type, group_id,
 * step, stored_timestamp.  Numbers keep up to 15 significant digits, so the
 * probe's values come out as they went in. */
int vt_result_enrich(const struct vt_result *r, const struct vt_enrich *e,
		     struct vt_buf *out) VT_WUR;

/* "Ping", "Traceroute", "Tdig" (dns) or NULL for an unknown type. */
const char *vt_result_msm_name(const char *type);

#endif
