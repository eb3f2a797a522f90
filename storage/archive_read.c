/* archive_read.c - the archive reader: index lookup, merged Range reads
 * and checked decoding of one measurement-day. */
#include "storage/archive.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/pg.h"
#include "storage/archive_fmt.h"

#define READ_RANGE_MAX ((size_t)1 << 31)

/* Hands the lines of one decoded segment to fn, filtering by time. */
static int emit(const struct vt_arc_query *q, const struct vt_arc_seg *s,
		const struct vt_buf *dec, vt_arc_line_fn fn, void *arg,
		struct vt_arc_read_stats *st)
{
	/* A one-off segment holds every probe of its measurement. */
	int byprobe = q->prb_id && !s->prb_id;
	int whole = s->first_ts >= q->start && s->last_ts <= q->stop && !byprobe;
	const char *line = dec->data, *end = dec->data + dec->len;
	int r;

	for (const char *next; line < end; line = next) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);

		next = line + len + 1;

		if (!whole) {
			int64_t ts, prb;

			if (vt_arc_line_info(line, len, &ts, &prb) < 0 ||
			    ts < q->start || ts > q->stop ||
			    (byprobe && prb != q->prb_id))
				continue;
		}
		st->results++;
		if ((r = fn(arg, line, len)) != 0)
			return r;
	}
	return VT_OK;
}

int vt_archive_get(PGconn *db, struct vt_objstore *store,
		   const struct vt_arc_query *q, vt_arc_line_fn fn, void *arg,
		   struct vt_arc_read_stats *stats, char *errbuf,
		   size_t errlen)
{
	struct vt_arc_read_stats dummy;
	struct vt_arc_read_stats *st = stats ? stats : &dummy;
	char s_msm[32], s_prb[32], s_start[32], s_stop[32];
	const char *p[5] = { s_msm, q->day, s_prb, s_start, s_stop };
	struct vt_arc_seg *segs = NULL;
	struct vt_arc_range *ranges = NULL;
	struct vt_buf blob, dec;
	PGresult *res = NULL;
	size_t n, nr;
	int64_t day;
	int ret;

	memset(st, 0, sizeof *st);
	vt_buf_init(&blob, READ_RANGE_MAX);
	vt_buf_init(&dec, VT_ARC_SEG_MAX);
	if (vt_arc_day_parse(q->day, &day) < 0) {
		snprintf(errbuf, errlen, "bad day '%s' (YYYY-MM-DD)", q->day);
		return VT_EINVAL;
	}
	snprintf(s_msm, sizeof s_msm, "%" PRId64, q->msm_id);
	snprintf(s_prb, sizeof s_prb, "%" PRId64, q->prb_id);
	snprintf(s_start, sizeof s_start, "%" PRId64, q->start);
	snprintf(s_stop, sizeof s_stop, "%" PRId64, q->stop);
	/* Only verified objects count as archived.  Segments live in one
	 * object per (measurement, day). */
	ret = vt_pg_exec(db, &res, errbuf, errlen,
		"SELECT i.msm_id, coalesce(i.prb_id::text, ''), i.seg, i.off,"
		" i.clen, i.rlen, i.count, i.first_ts, i.last_ts, i.crc,"
		" o.key, o.size"
		" FROM archive_index i JOIN archive_objects o ON o.id = i.object_id"
		" WHERE i.msm_id = $1 AND i.day = $2 AND o.verified IS NOT NULL"
		" AND ($3::bigint = 0 OR i.prb_id = $3::bigint OR i.prb_id IS NULL)"
		" AND i.last_ts >= $4::bigint AND i.first_ts <= $5::bigint"
		" ORDER BY i.off", 5, p);
	if (ret < 0)
		goto out;
	n = (size_t)PQntuples(res);
	if (!n) {
		PGresult *any = NULL;

		/* Archived, but nothing matches?  Or not archived at all? */
		ret = vt_pg_exec(db, &any, errbuf, errlen,
			"SELECT 1 FROM archive_index i JOIN archive_objects o"
			" ON o.id = i.object_id WHERE i.msm_id = $1 AND i.day = $2"
			" AND o.verified IS NOT NULL LIMIT 1", 2, p);
		if (ret >= 0 && PQntuples(any) == 0) {
			snprintf(errbuf, errlen, "measurement %s on %s is not in "
				 "the archive", s_msm, q->day);
			ret = VT_ENOTFOUND;
		}
		PQclear(any);
		goto out;
	}
	if (!(segs = calloc(n, sizeof *segs)) ||
	    !(ranges = calloc(n, sizeof *ranges))) {
		ret = VT_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *f[VT_ARC_SEG_NFIELDS];
		uint64_t size = strtoull(PQgetvalue(res, (int)i, 11), NULL, 10);

		for (int c = 0; c < VT_ARC_SEG_NFIELDS; c++)
			f[c] = PQgetvalue(res, (int)i, c);
		if (vt_arc_seg_parse(f, &segs[i]) < 0 ||
		    segs[i].off > size || segs[i].clen > size - segs[i].off) {
			snprintf(errbuf, errlen, "%s: index row of segment %s is "
				 "malformed or past the object's end",
				 PQgetvalue(res, (int)i, 10), f[2]);
			ret = VT_ECORRUPT;
			goto out;
		}
	}
	if ((ret = vt_arc_plan(segs, n, ranges, &nr)) < 0) {
		snprintf(errbuf, errlen, "%s: index segments overlap",
			 PQgetvalue(res, 0, 10));
		ret = VT_ECORRUPT;
		goto out;
	}
	for (size_t k = 0; k < nr; k++) {
		const struct vt_arc_range *rg = &ranges[k];
		const char *key = PQgetvalue(res, (int)rg->first, 10);

		vt_buf_reset(&blob);
		st->requests++;
		ret = vt_objstore_get(store, key, rg->off, rg->len, &blob, errbuf,
				      errlen);
		if (ret < 0)
			goto out;
		st->bytes += rg->len;
		for (size_t i = rg->first; i < rg->first + rg->n; i++) {
			const struct vt_arc_seg *s = &segs[i];
			const char *why = NULL;

			vt_buf_reset(&dec);
			ret = vt_arc_decode(s, (const uint8_t *)blob.data +
					    (s->off - rg->off), s->clen, &dec, &why);
			if (ret < 0) {
				char who[48];

				if (s->prb_id)
					snprintf(who, sizeof who, "probe %" PRId64,
						 s->prb_id);
				else
					snprintf(who, sizeof who, "msm %" PRId64,
						 s->msm_id);
				snprintf(errbuf, errlen, "%s: segment %d (%s, bytes "
					 "%" PRIu64 "+%" PRIu64 "): %s", key, s->seg,
					 who, s->off, s->clen,
					 why ? why : vt_strerror(ret));
				goto out;
			}
			st->segments++;
			if ((ret = emit(q, s, &dec, fn, arg, st)) != 0)
				goto out;
		}
	}
	ret = VT_OK;
out:
	PQclear(res);
	free(segs);
	free(ranges);
	vt_buf_free(&blob);
	vt_buf_free(&dec);
	return ret;
}
