/* planner.c - the results planner: days, hot chunks, archived segments, and
 * the per-day merge (storage/planner.h). */
#include "storage/planner.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/pg.h"
#include "storage/archive.h"
#include "storage/archive_fmt.h"
#include "storage/objstore.h"
#include "storage/plan_merge.h"

#define DAY_S          86400LL
#define DAYS_MAX       1000000       /* days a plan may visit */
#define RANGE_MAX      ((uint64_t)8 << 20)   /* one Range read */
#define SPOOL_MEM_MAX  ((size_t)8 << 20)     /* a day kept in memory */
#define CHUNK_ROWS_MIN 100
#define CHUNK_ROWS_MAX 20000
#define CHUNK_BYTES    ((size_t)4 << 20)     /* aim of one hot chunk */

struct pday {
	int64_t day;
	int     archived;
};

struct vt_plan {
	struct vt_plan_db    db;
	struct vt_objstore  *store;
	int64_t              msm, start, stop;
	int64_t             *probes;       /* sorted, unique; NULL: all */
	size_t               nprobes;
	char                *probes_lit;   /* "{1,2}" for SQL; NULL: all */
	char                 s_msm[24], s_start[24], s_stop[24];

	struct pday         *days;
	size_t               ndays, di;

	struct vt_pspool     sp;
	struct vt_merge      m;
	int                  merging;
	int                  day_archived;  /* the day being merged */
	int64_t              day;
	PGresult            *segres;        /* its segments (archived days) */
	struct vt_arc_seg   *segs;
	size_t               nsegs;
	struct vt_buf        blob, dec;
	int                  chunk_rows;

	struct vt_plan_stats st;
	int                  ret;           /* 0 running, 1 done, < 0 failed */
	char                 err[1024];
};

static int fail(struct vt_plan *p, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct vt_plan *p, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof p->err, fmt, ap);
	va_end(ap);
	return code;
}

/* Runs one statement on a connection acquired for it alone. */
static int exec1(struct vt_plan *p, PGresult **res, const char *sql,
		 int n, const char *const *params)
{
	PGconn *c = p->db.acquire(p->db.arg);
	int r;

	*res = NULL;
	if (!c)
		return fail(p, VT_EDB, "no database connection");
	p->st.statements++;
	r = vt_pg_exec(c, res, p->err, sizeof p->err, sql, n, params);
	p->db.release(p->db.arg, c);
	return r;
}

static int cmp_ll(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_day(const void *a, const void *b)
{
	const struct pday *x = a, *y = b;

	return x->day < y->day ? -1 : x->day > y->day;
}

static int probe_wanted(const struct vt_plan *p, int64_t prb)
{
	return !p->probes ||
	       bsearch(&prb, p->probes, p->nprobes, sizeof *p->probes, cmp_ll);
}

static int add_day(struct pday **v, size_t *n, size_t *cap, int64_t day,
		   int archived)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct pday *nv;

		if (nc > DAYS_MAX)
			return VT_ELIMIT;
		if (!(nv = realloc(*v, nc * sizeof *nv)))
			return VT_ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[*n].day = day;
	(*v)[(*n)++].archived = archived;
	return VT_OK;
}

/* The days to visit: the measurement's verified archived days and every
 * day a partition of `results` covers, within [lo, hi]. */
static int plan_days(struct vt_plan *p, int64_t lo, int64_t hi)
{
	char s_lo[24], s_hi[24];
	const char *par[3] = { p->s_msm, s_lo, s_hi };
	PGresult *res = NULL;
	struct pday *v = NULL;
	size_t n = 0, cap = 0, k;
	int ret;

	snprintf(s_lo, sizeof s_lo, "%" PRId64, lo);
	snprintf(s_hi, sizeof s_hi, "%" PRId64, hi);
	ret = exec1(p, &res,
		"SELECT DISTINCT i.day - DATE '1970-01-01'"
		" FROM archive_index i JOIN archive_objects o ON o.id = i.object_id"
		" WHERE i.msm_id = $1::bigint AND o.verified IS NOT NULL"
		" AND i.day BETWEEN DATE '1970-01-01' + $2::integer"
		" AND DATE '1970-01-01' + $3::integer", 3, par);
	if (ret < 0)
		goto out;
	for (int i = 0; i < PQntuples(res); i++)
		if ((ret = add_day(&v, &n, &cap,
				   strtoll(PQgetvalue(res, i, 0), NULL, 10), 1)) < 0)
			goto out;
	PQclear(res);
	/* Hot days: each partition's bounds (one day each, as the worker
	 * makes them; any range works). */
	ret = exec1(p, &res,
		"SELECT b[1]::date - DATE '1970-01-01', b[2]::date - DATE '1970-01-01'"
		" FROM (SELECT regexp_match(pg_get_expr(c.relpartbound, c.oid),"
		" 'FROM \\(''([0-9-]+)''\\) TO \\(''([0-9-]+)''\\)') AS b"
		" FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid"
		" WHERE h.inhparent = 'results'::regclass) x WHERE b IS NOT NULL",
		0, NULL);
	if (ret < 0)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t from = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		int64_t to = strtoll(PQgetvalue(res, i, 1), NULL, 10);

		for (int64_t d = from > lo ? from : lo; d < to && d <= hi; d++)
			if ((ret = add_day(&v, &n, &cap, d, 0)) < 0)
				goto out;
	}
	if (n)
		qsort(v, n, sizeof *v, cmp_day);
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && v[k - 1].day == v[i].day) {
			v[k - 1].archived |= v[i].archived;
			continue;
		}
		v[k++] = v[i];
	}
	p->days = v;
	p->ndays = k;
	v = NULL;
	ret = VT_OK;
out:
	if (ret == VT_ELIMIT)
		fail(p, ret, "the range covers more than %d days", DAYS_MAX);
	PQclear(res);
	free(v);
	return ret;
}

int vt_plan_open(struct vt_plan **out, const struct vt_plan_db *db,
		 struct vt_objstore *store, const struct vt_plan_query *q,
		 char *errbuf, size_t errlen)
{
	struct vt_plan *p = NULL;
	struct vt_pg_array lit;
	int64_t lo, hi;
	int ret;

	*out = NULL;
	vt_pg_array_init(&lit, 0);
	if (!db || !db->acquire || !db->release || !q) {
		snprintf(errbuf, errlen, "planner: no database");
		ret = VT_EINVAL;
		goto out;
	}
	if (q->msm_id <= 0 || q->start > q->stop) {
		snprintf(errbuf, errlen, q->msm_id <= 0 ? "bad measurement id %lld"
			 : "start is after stop", q->msm_id);
		ret = VT_EINVAL;
		goto out;
	}
	if (q->probes && q->nprobes > VT_PLAN_PROBES_MAX) {
		snprintf(errbuf, errlen, "more than %d probes", VT_PLAN_PROBES_MAX);
		ret = VT_ELIMIT;
		goto out;
	}
	if (!(p = calloc(1, sizeof *p))) {
		ret = VT_ENOMEM;
		goto out;
	}
	p->db = *db;
	p->store = store;
	p->msm = q->msm_id;
	p->start = q->start;
	p->stop = q->stop;
	vt_pspool_init(&p->sp, SPOOL_MEM_MAX, NULL);
	vt_merge_init(&p->m, &p->sp, 0);
	vt_buf_init(&p->blob, 0);
	vt_buf_init(&p->dec, VT_ARC_SEG_MAX);
	p->chunk_rows = 2000;
	snprintf(p->s_msm, sizeof p->s_msm, "%lld", q->msm_id);
	snprintf(p->s_start, sizeof p->s_start, "%lld", q->start);
	snprintf(p->s_stop, sizeof p->s_stop, "%lld", q->stop);
	if (q->probes && q->nprobes) {
		size_t k = 0;

		if (!(p->probes = malloc(q->nprobes * sizeof *p->probes))) {
			ret = VT_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < q->nprobes; i++) {
			if (q->probes[i] <= 0 || q->probes[i] > INT32_MAX) {
				snprintf(errbuf, errlen, "bad probe id %lld", q->probes[i]);
				ret = VT_EINVAL;
				goto out;
			}
			p->probes[i] = q->probes[i];
		}
		qsort(p->probes, q->nprobes, sizeof *p->probes, cmp_ll);
		for (size_t i = 0; i < q->nprobes; i++)
			if (!k || p->probes[k - 1] != p->probes[i])
				p->probes[k++] = p->probes[i];
		p->nprobes = k;
		for (size_t i = 0; i < k; i++)
			if ((ret = vt_pg_array_ll(&lit, p->probes[i])) < 0)
				goto out;
		if (!vt_pg_array_done(&lit) || !(p->probes_lit = strdup(lit.b.data))) {
			ret = VT_ENOMEM;
			goto out;
		}
	}
	lo = q->start > 0 ? q->start / DAY_S : 0;
	hi = q->stop >= 0 ? q->stop / DAY_S : -1;
	if (hi > INT32_MAX / 2)
		hi = INT32_MAX / 2;
	if (hi >= lo && (ret = plan_days(p, lo, hi)) < 0) {
		snprintf(errbuf, errlen, "%s", p->err);
		goto out;
	}
	*out = p;
	p = NULL;
	ret = VT_OK;
out:
	vt_pg_array_free(&lit);
	vt_plan_free(p);
	return ret;
}

/* Names segment i of the day being read, for errors. */
static void seg_name(const struct vt_plan *p, size_t i, char *buf, size_t len)
{
	const struct vt_arc_seg *s = &p->segs[i];
	char who[48];

	if (s->prb_id)
		snprintf(who, sizeof who, "probe %" PRId64, s->prb_id);
	else
		snprintf(who, sizeof who, "msm %" PRId64, s->msm_id);
	snprintf(buf, len, "%s: segment %d (%s, bytes %" PRIu64 "+%" PRIu64 ")",
		 PQgetvalue(p->segres, (int)i, 10), s->seg, who, s->off, s->clen);
}

/* Decodes segments [first, first + n) of the day, whose bytes start at
 * p->blob (fetched from offset base), into the spool as runs. */
static int decode_range(struct vt_plan *p, size_t first, size_t n,
			uint64_t base)
{
	for (size_t i = first; i < first + n; i++) {
		const struct vt_arc_seg *s = &p->segs[i];
		const char *why = NULL;
		char name[512];
		uint64_t off;
		int r;

		vt_buf_reset(&p->dec);
		r = vt_arc_decode(s, (const uint8_t *)p->blob.data + (s->off - base),
				  s->clen, &p->dec, &why);
		if (r < 0) {
			seg_name(p, i, name, sizeof name);
			return fail(p, r, "%s: %s", name, why ? why : vt_strerror(r));
		}
		p->st.segments++;
		if ((r = vt_pspool_add(&p->sp, p->dec.data, p->dec.len, &off)) < 0 ||
		    (r = vt_merge_add(&p->m, off, p->dec.len, s->prb_id, i)) < 0)
			return fail(p, r, "spooling the day: %s", vt_strerror(r));
	}
	return VT_OK;
}

/* Reads the day's segments from the archive into the spool. */
static int read_archived(struct vt_plan *p, const char *day)
{
	const char *par[5] = { p->s_msm, day, p->probes_lit, p->s_start, p->s_stop };
	size_t first = 0;
	int ret;

	if (!p->store)
		return fail(p, VT_EUNSUPP, "measurement %s on %s is in the archive, "
			    "and no archive store is configured", p->s_msm, day);
	ret = exec1(p, &p->segres,
		"SELECT i.msm_id, coalesce(i.prb_id::text, ''), i.seg, i.off,"
		" i.clen, i.rlen, i.count, i.first_ts, i.last_ts, i.crc,"
		" o.key, o.size"
		" FROM archive_index i JOIN archive_objects o ON o.id = i.object_id"
		" WHERE i.msm_id = $1::bigint AND i.day = $2::date"
		" AND o.verified IS NOT NULL"
		" AND ($3::integer[] IS NULL OR i.prb_id IS NULL"
		"      OR i.prb_id = ANY ($3::integer[]))"
		" AND i.last_ts >= $4::bigint AND i.first_ts <= $5::bigint"
		" ORDER BY o.key, i.off", 5, par);
	if (ret < 0)
		return ret;
	p->nsegs = (size_t)PQntuples(p->segres);
	if (!p->nsegs)
		return VT_OK;
	if (!(p->segs = calloc(p->nsegs, sizeof *p->segs)))
		return fail(p, VT_ENOMEM, "out of memory");
	for (size_t i = 0; i < p->nsegs; i++) {
		const char *f[VT_ARC_SEG_NFIELDS];
		uint64_t size = strtoull(PQgetvalue(p->segres, (int)i, 11), NULL, 10);

		for (int c = 0; c < VT_ARC_SEG_NFIELDS; c++)
			f[c] = PQgetvalue(p->segres, (int)i, c);
		if (vt_arc_seg_parse(f, &p->segs[i]) < 0 ||
		    p->segs[i].off > size || p->segs[i].clen > size - p->segs[i].off)
			return fail(p, VT_ECORRUPT, "%s: index row of segment %s is "
				    "malformed or past the object's end",
				    PQgetvalue(p->segres, (int)i, 10), f[2]);
		if (i && !strcmp(PQgetvalue(p->segres, (int)i, 10),
				 PQgetvalue(p->segres, (int)i - 1, 10)) &&
		    p->segs[i - 1].off + p->segs[i - 1].clen > p->segs[i].off)
			return fail(p, VT_ECORRUPT, "%s: index segments overlap",
				    PQgetvalue(p->segres, (int)i, 10));
	}
	/* Adjacent segments of one object share a read, up to RANGE_MAX. */
	for (size_t i = 1; i <= p->nsegs; i++) {
		const struct vt_arc_seg *a = &p->segs[first];
		const struct vt_arc_seg *b = i < p->nsegs ? &p->segs[i] : NULL;
		const char *key = PQgetvalue(p->segres, (int)first, 10);
		char name[512];
		uint64_t end;

		end = p->segs[i - 1].off + p->segs[i - 1].clen;
		if (b && !strcmp(key, PQgetvalue(p->segres, (int)i, 10)) &&
		    b->off == end && b->off + b->clen - a->off <= RANGE_MAX)
			continue;
		vt_buf_reset(&p->blob);
		p->st.requests++;
		ret = vt_objstore_get(p->store, key, a->off, end - a->off, &p->blob,
				      p->err, sizeof p->err);
		if (ret < 0) {
			char why[sizeof p->err];

			snprintf(why, sizeof why, "%s", p->err);
			seg_name(p, first, name, sizeof name);
			return fail(p, ret, "%s: %s", name, why);
		}
		if ((ret = decode_range(p, first, i - first, a->off)) < 0)
			return ret;
		first = i;
	}
	return VT_OK;
}

/* Reads the day's hot rows into the spool, one run per probe.  *gone is
 * set when the day turned out to be expired into the archive. */
static int read_hot(struct vt_plan *p, const char *day, int *gone)
{
	char s_prb[24] = "-2147483648", s_ts[24] = "-9223372036854775808";
	char s_dig[80] = "", s_lim[24];
	const char *par[9] = { p->s_msm, day, s_prb, s_ts, s_dig, p->s_start,
			       p->s_stop, p->probes_lit, s_lim };
	int64_t run_prb = 0;
	uint64_t run_off = 0;
	int ret, rows;

	*gone = 0;
	do {
		PGresult *res = NULL;
		size_t bytes = 0;

		snprintf(s_lim, sizeof s_lim, "%d", p->chunk_rows);
		/* One snapshot for the rows and the expiry flag: expiry deletes
		 * a day's rows and marks its object in one transaction. */
		ret = exec1(p, &res,
			"SELECT g.gone, r.prb_id, r.ts, encode(r.digest, 'hex'), r.result"
			" FROM (SELECT EXISTS (SELECT 1 FROM archive_index i"
			"  JOIN archive_objects o ON o.id = i.object_id"
			"  WHERE i.msm_id = $1::bigint AND i.day = $2::date"
			"  AND o.expired IS NOT NULL) AS gone) g"
			" LEFT JOIN LATERAL (SELECT prb_id, ts, digest, result"
			"  FROM results WHERE day = $2::date AND msm_id = $1::bigint"
			"  AND (prb_id, ts, digest) > ($3::integer, $4::bigint,"
			"       decode($5, 'hex'))"
			"  AND ts >= $6::bigint AND ts <= $7::bigint"
			"  AND ($8::integer[] IS NULL OR prb_id = ANY ($8::integer[]))"
			"  ORDER BY prb_id, ts, digest LIMIT $9::integer) r ON true"
			" ORDER BY r.prb_id, r.ts, r.digest", 9, par);
		if (ret < 0)
			return ret;
		rows = PQntuples(res);
		if (rows && PQgetvalue(res, 0, 0)[0] == 't') {
			PQclear(res);
			*gone = 1;
			return VT_OK;
		}
		if (rows == 1 && PQgetisnull(res, 0, 1))
			rows = 0;
		for (int i = 0; i < rows; i++) {
			int64_t prb = strtoll(PQgetvalue(res, i, 1), NULL, 10);
			const char *line = PQgetvalue(res, i, 4);
			size_t len = (size_t)PQgetlength(res, i, 4);
			uint64_t off;

			if (memchr(line, '\n', len)) {
				ret = fail(p, VT_EPARSE, "a hot result of msm %s, probe "
					   "%" PRId64 " at %s holds a newline", p->s_msm,
					   prb, PQgetvalue(res, i, 2));
				PQclear(res);
				return ret;
			}
			if (prb != run_prb) {
				if (run_prb && (ret = vt_merge_add(&p->m, run_off,
						p->sp.size - run_off, run_prb,
						(size_t)run_prb)) < 0)
					break;
				run_prb = prb;
				run_off = p->sp.size;
			}
			if ((ret = vt_pspool_add(&p->sp, line, len, &off)) < 0 ||
			    (ret = vt_pspool_add(&p->sp, "\n", 1, NULL)) < 0)
				break;
			bytes += len + 1;
		}
		if (rows) {
			snprintf(s_prb, sizeof s_prb, "%s", PQgetvalue(res, rows - 1, 1));
			snprintf(s_ts, sizeof s_ts, "%s", PQgetvalue(res, rows - 1, 2));
			snprintf(s_dig, sizeof s_dig, "%s", PQgetvalue(res, rows - 1, 3));
		}
		PQclear(res);
		if (ret < 0)
			return fail(p, ret, "spooling the day: %s", vt_strerror(ret));
		/* Aim at about CHUNK_BYTES a statement. */
		if (bytes > CHUNK_BYTES && p->chunk_rows > CHUNK_ROWS_MIN)
			p->chunk_rows /= 2;
		else if (rows == p->chunk_rows && bytes < CHUNK_BYTES / 2 &&
			 p->chunk_rows < CHUNK_ROWS_MAX)
			p->chunk_rows *= 2;
		if (rows < atoi(s_lim))
			break;
	} while (1);
	if (run_prb && (ret = vt_merge_add(&p->m, run_off, p->sp.size - run_off,
					   run_prb, (size_t)run_prb)) < 0)
		return fail(p, ret, "spooling the day: %s", vt_strerror(ret));
	return VT_OK;
}

static void day_clear(struct vt_plan *p)
{
	vt_merge_clear(&p->m);
	vt_pspool_reset(&p->sp);
	PQclear(p->segres);
	p->segres = NULL;
	free(p->segs);
	p->segs = NULL;
	p->nsegs = 0;
	p->merging = 0;
}

/* The error of a run that failed in the merge. */
static int merge_fail(struct vt_plan *p, int r)
{
	char name[512], day[16];

	if (p->day_archived && p->m.bad < p->nsegs) {
		seg_name(p, p->m.bad, name, sizeof name);
	} else {
		vt_arc_day_fmt(p->day, day, sizeof day);
		snprintf(name, sizeof name, "hot results of msm %s, probe %zu on %s",
			 p->s_msm, p->m.bad, day);
	}
	return fail(p, r, "%s: %s", name, r == VT_EPARSE ?
		    "a result without an integer timestamp" : vt_strerror(r));
}

/* Reads one day into the spool and starts its merge. */
static int load_day(struct vt_plan *p, const struct pday *d)
{
	char day[16];
	int ret, gone = 0;

	vt_arc_day_fmt(d->day, day, sizeof day);
	p->day = d->day;
	p->day_archived = d->archived;
	if (!d->archived) {
		if ((ret = read_hot(p, day, &gone)) < 0)
			return ret;
		if (gone) {
			day_clear(p);
			p->day_archived = 1;
			p->st.days_switched++;
		} else {
			p->st.days_hot++;
		}
	}
	if (p->day_archived) {
		if ((ret = read_archived(p, day)) < 0)
			return ret;
		p->st.days_archived++;
	}
	if ((ret = vt_pspool_flush(&p->sp)) < 0)
		return fail(p, ret, "spooling the day: %s", vt_strerror(ret));
	if (p->sp.fd >= 0)
		p->st.spilled_days++;
	p->merging = 1;
	if ((ret = vt_merge_start(&p->m)) < 0)
		return merge_fail(p, ret);
	return VT_OK;
}

int vt_plan_next(struct vt_plan *p, const char **json, size_t *len)
{
	const char *line;
	size_t ll;
	int64_t ts, prb;
	int r;

	if (p->ret)
		return p->ret < 0 ? p->ret : 0;
	for (;;) {
		if (p->merging) {
			r = vt_merge_next(&p->m, &line, &ll, &ts, &prb);
			if (r < 0)
				return p->ret = merge_fail(p, r);
			if (r) {
				if (ts < p->start || ts > p->stop || !probe_wanted(p, prb))
					continue;
				p->st.results++;
				*json = line;
				*len = ll;
				return 1;
			}
			day_clear(p);
		}
		if (p->di == p->ndays) {
			p->ret = 1;
			return 0;
		}
		if ((r = load_day(p, &p->days[p->di++])) < 0)
			return p->ret = r;
	}
}

const char *vt_plan_error(const struct vt_plan *p)
{
	return p && p->ret < 0 ? p->err : "";
}

void vt_plan_stats(const struct vt_plan *p, struct vt_plan_stats *st)
{
	*st = p->st;
}

void vt_plan_free(struct vt_plan *p)
{
	if (!p)
		return;
	day_clear(p);
	vt_merge_free(&p->m);
	vt_pspool_free(&p->sp);
	vt_buf_free(&p->blob);
	vt_buf_free(&p->dec);
	free(p->days);
	free(p->probes);
	free(p->probes_lit);
	free(p);
}
