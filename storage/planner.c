/* planner.c - the results planner: days, hot chunks, archived segments, and
 * the per-day merge (storage/planner.h).
 *
 * Two day slots: the day being merged (cur) and the next archived day
 * being fetched and decoded by a thread of its own meanwhile (nxt).  Every
 * statement runs on the caller's thread; the fetch thread only reads the
 * object store and decodes (on VT_PLAN_THREADS threads). */
#include "storage/planner.h"

#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
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
#define DAYS_MAX       1000000               /* days a plan may visit */
#define RANGE_MAX      ((uint64_t)4 << 20)   /* one Range read */
#define SPOOL_MEM_MAX  ((size_t)4 << 20)     /* a day kept in memory */
#define CHUNK_ROWS_MIN 100
#define CHUNK_ROWS_MAX 50000
#define CHUNK_BYTES    ((size_t)6 << 20)     /* aim of one hot chunk */
#define VT_PLAN_THREADS 2                    /* decoding threads of a day */

struct pday {
	int64_t day;
	int     archived;
};

enum { SLOT_EMPTY, SLOT_LOADING, SLOT_MERGING };

/* One day: its spool, its runs, its segments. */
struct slot {
	struct vt_plan     *p;
	int                 state;
	int64_t             day;
	int                 archived;     /* read from the archive */
	struct vt_pspool    sp;
	struct vt_merge     m;
	PGresult           *segres;       /* segments: index rows, key, size */
	struct vt_arc_seg  *segs;
	size_t              nsegs;
	struct vt_buf       blob;         /* one range read */
	/* The range being decoded: segments [r_first, r_first + r_n) whose
	 * bytes start in blob at object offset r_base. */
	pthread_mutex_t     lock;         /* sp, m, bad*, segments below */
	size_t              r_first, r_n;
	uint64_t            r_base;
	atomic_size_t       r_next;
	size_t              bad;          /* first failing segment (SIZE_MAX: none) */
	const char         *bad_why;
	int                 bad_ret;
	int                 spool_ret;
	pthread_t           tid;
	int                 thread;       /* a fetch thread runs */
	int                 ret;          /* what loading gave */
	long long           requests, segments;
	char                err[1024];
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
	struct slot          slots[2];
	struct slot         *cur, *nxt;
	int                  chunk_rows;
	atomic_int           cancel;
	struct vt_plan_stats st;
	int                  ret;           /* 0 running, 1 done, < 0 failed */
	char                 err[1024];
};

static int efail(char *err, size_t len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int efail(char *err, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return code;
}

#define SFAIL(s, code, ...) efail((s)->err, sizeof (s)->err, code, __VA_ARGS__)

/* Runs one statement on a connection acquired for it alone. */
static int exec1(struct vt_plan *p, char *err, size_t errlen, PGresult **res,
		 const char *sql, int n, const char *const *params)
{
	PGconn *c = p->db.acquire(p->db.arg);
	int r;

	*res = NULL;
	if (!c)
		return efail(err, errlen, VT_EDB, "no database connection");
	p->st.statements++;
	r = vt_pg_exec(c, res, err, errlen, sql, n, params);
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

/* The days to visit, in one statement: the measurement's verified archived
 * days, and every day a partition of `results` covers, within [lo, hi].
 * When every day of [lo, hi] is archived the partitions are not listed (a
 * one-time filter): deparsing their bounds opens each partition, which in
 * a fresh connection (the CLI's) costs more than the rest of a short
 * request. */
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
	ret = exec1(p, p->err, sizeof p->err, &res,
		"WITH a AS (SELECT DISTINCT i.day AS d"
		"  FROM archive_index i JOIN archive_objects o ON o.id = i.object_id"
		"  WHERE i.msm_id = $1::bigint AND o.verified IS NOT NULL"
		"  AND i.day BETWEEN DATE '1970-01-01' + $2::integer"
		"  AND DATE '1970-01-01' + $3::integer)"
		" SELECT 1, d - DATE '1970-01-01', 0 FROM a"
		" UNION ALL"
		" SELECT 0, b[1]::date - DATE '1970-01-01', b[2]::date - DATE '1970-01-01'"
		" FROM (SELECT regexp_match(pg_get_expr(c.relpartbound, c.oid),"
		"  'FROM \\(''([0-9-]+)''\\) TO \\(''([0-9-]+)''\\)') AS b"
		"  FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid"
		"  WHERE h.inhparent = 'results'::regclass"
		"  AND (SELECT count(*) FROM a) <= $3::bigint - $2::bigint) x"
		" WHERE b IS NOT NULL",
		3, par);
	if (ret < 0)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t from = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		int64_t to = strtoll(PQgetvalue(res, i, 2), NULL, 10);

		if (PQgetvalue(res, i, 0)[0] == '1') {
			if ((ret = add_day(&v, &n, &cap, from, 1)) < 0)
				goto out;
			continue;
		}
		/* A partition: one day each as the worker makes them. */
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
		efail(p->err, sizeof p->err, ret, "the range covers more than %d days",
		      DAYS_MAX);
	PQclear(res);
	free(v);
	return ret;
}

static void slot_init(struct vt_plan *p, struct slot *s)
{
	memset(s, 0, sizeof *s);
	s->p = p;
	vt_pspool_init(&s->sp, SPOOL_MEM_MAX, NULL);
	vt_merge_init(&s->m, &s->sp, 0);
	vt_buf_init(&s->blob, 0);
	pthread_mutex_init(&s->lock, NULL);
	s->bad = SIZE_MAX;
}

/* Waits for the slot's fetch thread; returns what loading gave. */
static int slot_join(struct slot *s)
{
	if (s->thread) {
		pthread_join(s->tid, NULL);
		s->thread = 0;
	}
	return s->ret;
}

/* Empties a slot for its next day (its thread must be joined). */
static void slot_clear(struct slot *s)
{
	vt_merge_clear(&s->m);
	vt_pspool_reset(&s->sp);
	vt_buf_free(&s->blob);
	PQclear(s->segres);
	s->segres = NULL;
	free(s->segs);
	s->segs = NULL;
	s->nsegs = 0;
	s->bad = SIZE_MAX;
	s->bad_why = NULL;
	s->bad_ret = s->spool_ret = s->ret = 0;
	s->requests = s->segments = 0;
	s->state = SLOT_EMPTY;
	s->err[0] = '\0';
}

static void slot_free(struct slot *s)
{
	slot_join(s);
	slot_clear(s);
	vt_merge_free(&s->m);
	vt_pspool_free(&s->sp);
	pthread_mutex_destroy(&s->lock);
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
		ret = efail(errbuf, errlen, VT_EINVAL, "planner: no database");
		goto out;
	}
	if (q->msm_id <= 0) {
		ret = efail(errbuf, errlen, VT_EINVAL, "bad measurement id %lld",
			    q->msm_id);
		goto out;
	}
	if (q->start > q->stop) {
		ret = efail(errbuf, errlen, VT_EINVAL, "start is after stop");
		goto out;
	}
	if (q->probes && q->nprobes > VT_PLAN_PROBES_MAX) {
		ret = efail(errbuf, errlen, VT_ELIMIT, "more than %d probes",
			    VT_PLAN_PROBES_MAX);
		goto out;
	}
	if (!(p = calloc(1, sizeof *p))) {
		ret = efail(errbuf, errlen, VT_ENOMEM, "out of memory");
		goto out;
	}
	p->db = *db;
	p->store = store;
	p->msm = q->msm_id;
	p->start = q->start;
	p->stop = q->stop;
	slot_init(p, &p->slots[0]);
	slot_init(p, &p->slots[1]);
	p->cur = &p->slots[0];
	p->nxt = &p->slots[1];
	atomic_init(&p->cancel, 0);
	p->chunk_rows = 4000;
	snprintf(p->s_msm, sizeof p->s_msm, "%lld", q->msm_id);
	snprintf(p->s_start, sizeof p->s_start, "%lld", q->start);
	snprintf(p->s_stop, sizeof p->s_stop, "%lld", q->stop);
	if (q->probes && q->nprobes) {
		size_t k = 0;

		if (!(p->probes = malloc(q->nprobes * sizeof *p->probes))) {
			ret = efail(errbuf, errlen, VT_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < q->nprobes; i++) {
			if (q->probes[i] <= 0 || q->probes[i] > INT32_MAX) {
				ret = efail(errbuf, errlen, VT_EINVAL, "bad probe id %lld",
					    q->probes[i]);
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
			if (vt_pg_array_ll(&lit, p->probes[i]) < 0)
				break;
		if (!vt_pg_array_done(&lit) || !(p->probes_lit = strdup(lit.b.data))) {
			ret = efail(errbuf, errlen, VT_ENOMEM, "out of memory");
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

/* Names segment i of the slot's day, for errors. */
static void seg_name(const struct slot *s, size_t i, char *buf, size_t len)
{
	const struct vt_arc_seg *g = &s->segs[i];
	char who[48];

	if (g->prb_id)
		snprintf(who, sizeof who, "probe %" PRId64, g->prb_id);
	else
		snprintf(who, sizeof who, "msm %" PRId64, g->msm_id);
	snprintf(buf, len, "%s: segment %d (%s, bytes %" PRIu64 "+%" PRIu64 ")",
		 PQgetvalue(s->segres, (int)i, 10), g->seg, who, g->off, g->clen);
}

/* Decodes the segments of the slot's current range, on several threads:
 * each segment is checked against its index row and added to the spool
 * as one run. */
static void *decode_worker(void *arg)
{
	struct slot *s = arg;
	struct vt_buf dec;
	size_t i;

	vt_buf_init(&dec, VT_ARC_SEG_MAX);
	while ((i = atomic_fetch_add(&s->r_next, 1)) < s->r_n) {
		const struct vt_arc_seg *g = &s->segs[s->r_first + i];
		const char *why = NULL;
		uint64_t off;
		int r;

		if (atomic_load(&s->p->cancel))
			break;
		vt_buf_reset(&dec);
		r = vt_arc_decode(g, (const uint8_t *)s->blob.data + (g->off - s->r_base),
				  g->clen, &dec, &why);
		pthread_mutex_lock(&s->lock);
		if (r < 0) {
			if (s->r_first + i < s->bad) {
				s->bad = s->r_first + i;
				s->bad_why = why;
				s->bad_ret = r;
			}
		} else if (!s->spool_ret) {
			s->segments++;
			if ((r = vt_pspool_add(&s->sp, dec.data, dec.len, &off)) < 0 ||
			    (r = vt_merge_add(&s->m, off, dec.len, g->prb_id,
					      s->r_first + i)) < 0)
				s->spool_ret = r;
		}
		pthread_mutex_unlock(&s->lock);
	}
	vt_buf_free(&dec);
	return NULL;
}

static void decode_range(struct slot *s)
{
	atomic_store(&s->r_next, 0);
	vt_arc_run_threads(decode_worker, s, VT_PLAN_THREADS, s->r_n);
}

/* Fetches and decodes the slot's segments into its spool (any thread: no
 * statement here).  Adjacent segments of one object share a read, up to
 * RANGE_MAX. */
static int arc_fetch(struct slot *s)
{
	size_t first = 0;
	char name[512], why[1024];
	int ret;

	for (size_t i = 1; i <= s->nsegs; i++) {
		const struct vt_arc_seg *a = &s->segs[first];
		const struct vt_arc_seg *b = i < s->nsegs ? &s->segs[i] : NULL;
		const char *key = PQgetvalue(s->segres, (int)first, 10);
		uint64_t end = s->segs[i - 1].off + s->segs[i - 1].clen;

		if (b && !strcmp(key, PQgetvalue(s->segres, (int)i, 10)) &&
		    b->off == end && b->off + b->clen - a->off <= RANGE_MAX)
			continue;
		if (atomic_load(&s->p->cancel))
			return SFAIL(s, VT_ECLOSED, "stopped");
		vt_buf_reset(&s->blob);
		s->requests++;
		ret = vt_objstore_get(s->p->store, key, a->off, end - a->off, &s->blob,
				      why, sizeof why);
		if (ret < 0) {
			seg_name(s, first, name, sizeof name);
			return SFAIL(s, ret, "%s: %s", name, why);
		}
		s->r_first = first;
		s->r_n = i - first;
		s->r_base = a->off;
		decode_range(s);
		if (atomic_load(&s->p->cancel))
			return SFAIL(s, VT_ECLOSED, "stopped");
		if (s->bad != SIZE_MAX) {
			seg_name(s, s->bad, name, sizeof name);
			return SFAIL(s, s->bad_ret, "%s: %s", name,
				     s->bad_why ? s->bad_why : vt_strerror(s->bad_ret));
		}
		if (s->spool_ret)
			return SFAIL(s, s->spool_ret, "spooling the day: %s",
				     vt_strerror(s->spool_ret));
		first = i;
	}
	vt_buf_free(&s->blob);
	if ((ret = vt_pspool_flush(&s->sp)) < 0)
		return SFAIL(s, ret, "spooling the day: %s", vt_strerror(ret));
	return VT_OK;
}

/* Looks up the segments of the slot's day that the query needs (on the
 * caller's thread). */
static int arc_query(struct vt_plan *p, struct slot *s, const char *day)
{
	const char *par[5] = { p->s_msm, day, p->probes_lit, p->s_start, p->s_stop };
	int ret;

	s->archived = 1;
	if (!p->store)
		return SFAIL(s, VT_EUNSUPP, "measurement %s on %s is in the archive,"
			     " and no archive store is configured", p->s_msm, day);
	ret = exec1(p, s->err, sizeof s->err, &s->segres,
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
	p->st.days_archived++;
	s->nsegs = (size_t)PQntuples(s->segres);
	if (!s->nsegs)
		return VT_OK;
	if (!(s->segs = calloc(s->nsegs, sizeof *s->segs)))
		return SFAIL(s, VT_ENOMEM, "out of memory");
	for (size_t i = 0; i < s->nsegs; i++) {
		const char *f[VT_ARC_SEG_NFIELDS];
		const char *key = PQgetvalue(s->segres, (int)i, 10);
		uint64_t size = strtoull(PQgetvalue(s->segres, (int)i, 11), NULL, 10);
		struct vt_arc_seg *g = &s->segs[i];

		for (int c = 0; c < VT_ARC_SEG_NFIELDS; c++)
			f[c] = PQgetvalue(s->segres, (int)i, c);
		if (vt_arc_seg_parse(f, g) < 0 || g->off > size ||
		    g->clen > size - g->off)
			return SFAIL(s, VT_ECORRUPT, "%s: index row of segment %s is "
				     "malformed or past the object's end", key, f[2]);
		if (i && !strcmp(key, PQgetvalue(s->segres, (int)i - 1, 10)) &&
		    g[-1].off + g[-1].clen > g->off)
			return SFAIL(s, VT_ECORRUPT, "%s: index segments overlap", key);
	}
	return VT_OK;
}

/* Reads the slot's day from `results` into its spool, one run per probe,
 * in keyset chunks.  *gone is set when the day was expired into the
 * archive meanwhile: expiry deletes a day's rows and marks its object in
 * one transaction, so a chunk sees all of the rest or none, and a check
 * after the last chunk tells a finished day from a vanished one. */
static int read_hot(struct vt_plan *p, struct slot *s, const char *day, int *gone)
{
	char s_prb[24] = "-2147483648", s_ts[24] = "-9223372036854775808";
	char s_dig[80] = "", s_lim[24];
	const char *par[9] = { p->s_msm, day, s_prb, s_ts, s_dig, p->s_start,
			       p->s_stop, p->probes_lit, s_lim };
	PGresult *res = NULL;
	int64_t run_prb = 0;
	uint64_t run_off = 0;
	int ret, rows, lim;

	*gone = 0;
	s->archived = 0;
	do {
		size_t bytes = 0;

		lim = p->chunk_rows;
		snprintf(s_lim, sizeof s_lim, "%d", lim);
		ret = exec1(p, s->err, sizeof s->err, &res,
			"SELECT prb_id, ts, encode(digest, 'hex'), result FROM results"
			" WHERE day = $2::date AND msm_id = $1::bigint"
			" AND (prb_id, ts, digest) > ($3::integer, $4::bigint,"
			"      decode($5, 'hex'))"
			" AND ts >= $6::bigint AND ts <= $7::bigint"
			" AND ($8::integer[] IS NULL OR prb_id = ANY ($8::integer[]))"
			" ORDER BY prb_id, ts, digest LIMIT $9::integer", 9, par);
		if (ret < 0)
			return ret;
		rows = PQntuples(res);
		for (int i = 0; i < rows; i++) {
			int64_t prb = strtoll(PQgetvalue(res, i, 0), NULL, 10);
			const char *line = PQgetvalue(res, i, 3);
			size_t len = (size_t)PQgetlength(res, i, 3);

			if (memchr(line, '\n', len)) {
				ret = SFAIL(s, VT_EPARSE, "a hot result of msm %s, probe "
					    "%" PRId64 " at %s holds a newline", p->s_msm,
					    prb, PQgetvalue(res, i, 1));
				goto out;
			}
			if (prb != run_prb) {
				if (run_prb && (ret = vt_merge_add(&s->m, run_off,
						s->sp.size - run_off, run_prb,
						(size_t)run_prb)) < 0)
					goto spool;
				run_prb = prb;
				run_off = s->sp.size;
			}
			if ((ret = vt_pspool_add(&s->sp, line, len, NULL)) < 0 ||
			    (ret = vt_pspool_add(&s->sp, "\n", 1, NULL)) < 0)
				goto spool;
			bytes += len + 1;
		}
		if (rows) {
			snprintf(s_prb, sizeof s_prb, "%s", PQgetvalue(res, rows - 1, 0));
			snprintf(s_ts, sizeof s_ts, "%s", PQgetvalue(res, rows - 1, 1));
			snprintf(s_dig, sizeof s_dig, "%s", PQgetvalue(res, rows - 1, 2));
		}
		PQclear(res);
		res = NULL;
		/* Aim at about CHUNK_BYTES a statement. */
		if (rows) {
			size_t want = CHUNK_BYTES / (bytes / (size_t)rows + 1);

			p->chunk_rows = want < CHUNK_ROWS_MIN ? CHUNK_ROWS_MIN :
					want > CHUNK_ROWS_MAX ? CHUNK_ROWS_MAX : (int)want;
		}
	} while (rows == lim);
	if (run_prb && (ret = vt_merge_add(&s->m, run_off, s->sp.size - run_off,
					   run_prb, (size_t)run_prb)) < 0)
		goto spool;
	ret = exec1(p, s->err, sizeof s->err, &res,
		"SELECT EXISTS (SELECT 1 FROM archive_index i"
		" JOIN archive_objects o ON o.id = i.object_id"
		" WHERE i.msm_id = $1::bigint AND i.day = $2::date"
		" AND o.expired IS NOT NULL)", 2, par);
	if (ret < 0)
		goto out;
	*gone = PQgetvalue(res, 0, 0)[0] == 't';
	if ((ret = vt_pspool_flush(&s->sp)) < 0)
		goto spool;
	ret = VT_OK;
	goto out;
spool:
	SFAIL(s, ret, "spooling the day: %s", vt_strerror(ret));
out:
	PQclear(res);
	return ret;
}

/* Loads the slot's day on this thread. */
static int slot_load(struct vt_plan *p, struct slot *s, const struct pday *d)
{
	char day[16];
	int ret, gone = 0;

	vt_arc_day_fmt(d->day, day, sizeof day);
	s->day = d->day;
	s->state = SLOT_LOADING;
	if (!d->archived) {
		if ((ret = read_hot(p, s, day, &gone)) < 0)
			return ret;
		if (!gone) {
			p->st.days_hot++;
			return VT_OK;
		}
		slot_clear(s);
		s->day = d->day;
		s->state = SLOT_LOADING;
		p->st.days_switched++;
	}
	if ((ret = arc_query(p, s, day)) < 0)
		return ret;
	return arc_fetch(s);
}

static void *fetch_thread(void *arg)
{
	struct slot *s = arg;

	s->ret = arc_fetch(s);
	return NULL;
}

/* Starts loading the archived day d into the slot in the background (the
 * statement on this thread).  Errors are kept for when the day is due. */
static void slot_prefetch(struct vt_plan *p, struct slot *s, const struct pday *d)
{
	char day[16];

	vt_arc_day_fmt(d->day, day, sizeof day);
	s->day = d->day;
	s->state = SLOT_LOADING;
	if ((s->ret = arc_query(p, s, day)) < 0)
		return;
	if (!s->nsegs)
		return;
	if (pthread_create(&s->tid, NULL, fetch_thread, s) == 0)
		s->thread = 1;
	else
		s->ret = arc_fetch(s);
}

/* The error of a run that failed in the merge. */
static int merge_fail(struct vt_plan *p, struct slot *s, int r)
{
	char name[512], day[16];

	if (s->archived && s->m.bad < s->nsegs) {
		seg_name(s, s->m.bad, name, sizeof name);
	} else {
		vt_arc_day_fmt(s->day, day, sizeof day);
		snprintf(name, sizeof name, "hot results of msm %s, probe %zu on %s",
			 p->s_msm, s->m.bad, day);
	}
	return efail(p->err, sizeof p->err, r, "%s: %s", name, r == VT_EPARSE ?
		     "a result without an integer timestamp" : vt_strerror(r));
}

/* Makes the next day the current one, merging.  0: no day left. */
static int next_day(struct vt_plan *p)
{
	struct slot *s = p->cur;
	int r;

	if (p->nxt->state == SLOT_LOADING) {
		p->cur = p->nxt;
		p->nxt = s;
		s = p->cur;
		r = slot_join(s);
	} else if (p->di < p->ndays) {
		r = slot_load(p, s, &p->days[p->di++]);
	} else {
		return 0;
	}
	p->st.requests += s->requests;
	p->st.segments += s->segments;
	s->requests = s->segments = 0;
	if (r < 0) {
		snprintf(p->err, sizeof p->err, "%s", s->err);
		return r;
	}
	if (s->sp.fd >= 0)
		p->st.spilled_days++;
	if ((r = vt_merge_start(&s->m)) < 0)
		return merge_fail(p, s, r);
	s->state = SLOT_MERGING;
	/* While this day is merged, the next archived one is fetched. */
	if (p->di < p->ndays && p->days[p->di].archived)
		slot_prefetch(p, p->nxt, &p->days[p->di++]);
	return 1;
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
		struct slot *s = p->cur;

		if (s->state == SLOT_MERGING) {
			r = vt_merge_next(&s->m, &line, &ll, &ts, &prb);
			if (r < 0)
				return p->ret = merge_fail(p, s, r);
			if (r) {
				if (ts < p->start || ts > p->stop || !probe_wanted(p, prb))
					continue;
				p->st.results++;
				*json = line;
				*len = ll;
				return 1;
			}
			slot_clear(s);
		}
		if ((r = next_day(p)) <= 0) {
			p->ret = r ? r : 1;
			return r;
		}
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
	atomic_store(&p->cancel, 1);
	slot_free(&p->slots[0]);
	slot_free(&p->slots[1]);
	free(p->days);
	free(p->probes);
	free(p->probes_lit);
	free(p);
}

void vt_plan_tune_malloc(void)
{
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
}
