/* msmobj.h - the measurement object of API.md ("Objects"), built in C from
 * the columns of one row (MSMOBJ_SQL), byte for byte the text PostgreSQL
 * gives for storage/migrations/012_api.sql's
 * vt_api_fields(vt_api_msm_json(m, base, true), fields)::text: jsonb's
 * output (keys ordered by length, then by bytes; ": " and ", "; its string
 * escapes), the definition's keys under the built ones.
 *
 * A pure function over the row's text values: no I/O. */
#ifndef VT_API_MSMOBJ_H
#define VT_API_MSMOBJ_H

#include <stddef.h>

#include "common/buf.h"
#include "common/err.h"

/* The row: $1 the measurement id.  Column order is enum msmobj_col. */
#define MSMOBJ_SQL \
	"SELECT m.is_public, m.id, m.type, m.af, m.description," \
	" extract(epoch FROM m.creation_time)::bigint, m.start_time," \
	" m.stop_time, m.status, extract(epoch FROM m.status_since)::bigint," \
	" m.is_oneoff, m.interval, m.spread, m.target, m.group_id," \
	" to_jsonb(m.tags)::text, m.definition::text, m.probes_requested," \
	" a.ids, a.sched, a.total FROM measurements m LEFT JOIN LATERAL" \
	" (SELECT array_agg(probe_id ORDER BY probe_id) FILTER (WHERE removed" \
	" IS NULL) ids, count(*) FILTER (WHERE removed IS NULL) sched," \
	" count(*) total FROM assignments WHERE msm_id = m.id) a ON true" \
	" WHERE m.id = $1::bigint"

enum msmobj_col {
	MC_IS_PUBLIC, MC_ID, MC_TYPE, MC_AF, MC_DESCRIPTION, MC_CREATION,
	MC_START, MC_STOP, MC_STATUS, MC_STATUS_WHEN, MC_IS_ONEOFF, MC_INTERVAL,
	MC_SPREAD, MC_TARGET, MC_GROUP_ID, MC_TAGS, MC_DEFINITION,
	MC_PROBES_REQUESTED, MC_PROBE_IDS, MC_SCHEDULED, MC_TOTAL,
	MC_NCOLS
};

/* The row's values as text, NULL for SQL NULL (booleans "t"/"f", the
 * probe ids as an integer[] literal "{1,2}", tags and definition as jsonb
 * text). */
struct msmobj_row {
	const char *v[MC_NCOLS];
};

/* Appends the object to out.  base: "https://host:port"; fields: NULL or
 * "" for every key, else a text[] literal "{a,b}" of the keys to keep
 * ("id" always stays).  VT_EPARSE when the definition or the probe ids do
 * not parse; out may then hold a part. */
int vt_msmobj_json(const struct msmobj_row *row, const char *base,
		   const char *fields, struct vt_buf *out) VT_WUR;

/* s (n bytes) as a JSON string the way PostgreSQL's jsonb prints it. */
int vt_msmobj_str(struct vt_buf *out, const char *s, size_t n) VT_WUR;

#endif
