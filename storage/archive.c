/* archive.c - the archiver: build, store, index, verify and expire the
 * objects of each day past the late window. */
#include "storage/archive.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/pg.h"
#include "common/vtime.h"
#include "storage/archive_fmt.h"

#define ARC_LOCK_ID "7245385090"   /* advisory lock: one archiver at a time */
#define ARC_OBJ_MAX ((size_t)4 << 30)

struct run {
	PGconn                    *db;
	struct vt_objstore        *st;
	const struct vt_arc_opts  *o;
	struct vt_arc_stats       *stats;
	char                      *err;
	size_t                     errlen;
};

/* One segment being built: its raw bytes in the object's raw buffer. */
struct job {
	struct vt_arc_seg  seg;
	size_t             raw_off;
	struct vt_buf      out;
	int                ret;
};

struct pool {
	struct job        *jobs;
	size_t             n;
	const char        *raw;
	atomic_size_t      next;
};

void vt_arc_opts_init(struct vt_arc_opts *o)
{
	memset(o, 0, sizeof *o);
	o->now = vt_now_ms() / 1000;
	o->late_days = VT_ARC_LATE_DAYS;
	o->margin_days = VT_ARC_MARGIN_DAYS;
	o->threads = 2;
}

int vt_arc_day_parse(const char *s, int64_t *days)
{
	struct tm tm = { 0 };
	const char *end;
	time_t t;

	if (!s || strlen(s) != 10)
		return VT_EPARSE;
	end = strptime(s, "%Y-%m-%d", &tm);
	if (!end || *end)
		return VT_EPARSE;
	t = timegm(&tm);
	*days = (int64_t)t / 86400;
	{
		char back[16];

		vt_arc_day_fmt(*days, back, sizeof back);
		if (strcmp(back, s))
			return VT_EPARSE;   /* 2026-02-30 and the like */
	}
	return VT_OK;
}

void vt_arc_day_fmt(int64_t days, char *buf, size_t len)
{
	time_t t = (time_t)(days * 86400);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

static void note(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct run *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!r->o->event)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->o->event(r->o->arg, "info", msg);
}

static void point(struct run *r, const char *name, const char *what)
{
	if (r->o->event)
		r->o->event(r->o->arg, name, what);
}

static void *compress_worker(void *arg)
{
	struct pool *p = arg;
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->n) {
		struct job *j = &p->jobs[i];

		j->ret = vt_arc_compress(p->raw + j->raw_off, j->seg.rlen,
					 &j->out, &j->seg.crc);
	}
	return NULL;
}

void vt_arc_run_threads(void *(*fn)(void *), void *arg, int threads, size_t n)
{
	pthread_t tid[16];
	int started = 0;

	if (threads > 16)
		threads = 16;
	for (int t = 1; t < threads && (size_t)t < n; t++) {
		if (pthread_create(&tid[started], NULL, fn, arg))
			break;
		started++;
	}
	fn(arg);
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
}

/* Segments of a stored object checked in parallel. */
struct vpool {
	const struct vt_arc_seg *segs;
	size_t                   n;
	const uint8_t           *obj;
	atomic_size_t            next;
	size_t                   bad;    /* first failing segment, n: none */
	const char              *why;
	int                      ret;
	pthread_mutex_t          lock;
};

static void *verify_worker(void *arg)
{
	struct vpool *v = arg;
	struct vt_buf dec;
	size_t i;

	vt_buf_init(&dec, VT_ARC_SEG_MAX);
	while ((i = atomic_fetch_add(&v->next, 1)) < v->n) {
		const char *why = NULL;
		int r;

		vt_buf_reset(&dec);
		r = vt_arc_decode(&v->segs[i], v->obj + v->segs[i].off,
				  v->segs[i].clen, &dec, &why);
		if (r < 0) {
			pthread_mutex_lock(&v->lock);
			if (i < v->bad) {
				v->bad = i;
				v->why = why;
				v->ret = r;
			}
			pthread_mutex_unlock(&v->lock);
		}
	}
	vt_buf_free(&dec);
	return NULL;
}

/* Compresses every job on up to `threads` threads (this one included). */
static int compress_all(struct pool *p, int threads)
{
	vt_arc_run_threads(compress_worker, p, threads, p->n);
	for (size_t i = 0; i < p->n; i++)
		if (p->jobs[i].ret < 0)
			return p->jobs[i].ret;
	return VT_OK;
}

static int sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL))
		return VT_ENOMEM;
	for (unsigned i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	return VT_OK;
}

static void object_key(const char *day, int64_t msm, char *key, size_t len)
{
	/* day is YYYY-MM-DD */
	if (msm)
		snprintf(key, len, "results/%.4s/%.2s/%.2s/%" PRId64 ".bz2",
			 day, day + 5, day + 8, msm);
	else
		snprintf(key, len, "results/%.4s/%.2s/%.2s/oneoff.bz2",
			 day, day + 5, day + 8);
}

/* Builds the array literals of the index columns, one element per segment
 * (prb_id is NULL in the one-off object). */
static int index_arrays(const struct job *jobs, size_t n, int oneoff,
			struct vt_pg_array col[10])
{
	int r = VT_OK;

	for (size_t i = 0; i < n && r >= 0; i++) {
		const struct vt_arc_seg *s = &jobs[i].seg;

		if ((r = vt_pg_array_ll(&col[0], s->seg)) < 0 ||
		    (r = vt_pg_array_ll(&col[1], s->msm_id)) < 0 ||
		    (r = oneoff ? vt_pg_array_raw(&col[2], "NULL")
				: vt_pg_array_ll(&col[2], s->prb_id)) < 0 ||
		    (r = vt_pg_array_ll(&col[3], (long long)s->off)) < 0 ||
		    (r = vt_pg_array_ll(&col[4], (long long)s->clen)) < 0 ||
		    (r = vt_pg_array_ll(&col[5], (long long)s->rlen)) < 0 ||
		    (r = vt_pg_array_ll(&col[6], s->count)) < 0 ||
		    (r = vt_pg_array_ll(&col[7], s->first_ts)) < 0 ||
		    (r = vt_pg_array_ll(&col[8], s->last_ts)) < 0 ||
		    (r = vt_pg_array_ll(&col[9], s->crc)) < 0)
			break;
	}
	return r;
}

/* Writes the object row and its segment rows in one transaction. */
static int write_index(struct run *r, const char *day, int64_t msm,
		       const char *key, size_t size, const char *sha,
		       const char *etag, const struct job *jobs, size_t n,
		       int64_t results, int64_t raw)
{
	struct vt_pg_array col[10];
	char s_size[32], s_n[32], s_res[32], s_raw[32], s_msm[32];
	const char *p[20];
	int ret;

	for (int c = 0; c < 10; c++)
		vt_pg_array_init(&col[c], 0);
	if ((ret = index_arrays(jobs, n, !msm, col)) < 0)
		goto out;
	snprintf(s_size, sizeof s_size, "%zu", size);
	snprintf(s_n, sizeof s_n, "%zu", n);
	snprintf(s_res, sizeof s_res, "%" PRId64, results);
	snprintf(s_raw, sizeof s_raw, "%" PRId64, raw);
	snprintf(s_msm, sizeof s_msm, "%" PRId64, msm);
	p[0] = day; p[1] = msm ? s_msm : NULL; p[2] = key;
	p[3] = vt_objstore_url(r->st); p[4] = s_size; p[5] = sha; p[6] = etag;
	p[7] = s_n; p[8] = s_res; p[9] = s_raw;
	for (int c = 0; c < 10; c++)
		if (!(p[10 + c] = vt_pg_array_done(&col[c]))) {
			ret = VT_ENOMEM;
			goto out;
		}
	/* One statement is one transaction: the index appears whole or not. */
	ret = vt_pg_exec(r->db, NULL, r->err, r->errlen,
		"WITH o AS (INSERT INTO archive_objects (day, msm_id, key, store,"
		" size, sha256, etag, segments, results, raw_bytes)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id)"
		" INSERT INTO archive_index (object_id, day, seg, msm_id, prb_id,"
		" off, clen, rlen, count, first_ts, last_ts, crc)"
		" SELECT o.id, $1, u.* FROM o, unnest($11::int[], $12::bigint[],"
		" $13::int[], $14::bigint[], $15::bigint[], $16::bigint[],"
		" $17::int[], $18::bigint[], $19::bigint[], $20::bigint[]) AS u",
		20, p);
out:
	for (int c = 0; c < 10; c++)
		vt_pg_array_free(&col[c]);
	return ret;
}

/* Builds, stores and indexes the object of (day, msm); msm 0 is the day's
 * one-off object. */
static int archive_object(struct run *r, const char *day, int64_t msm)
{
	char key[256], sha[65], etag[VT_OBJ_ETAG_MAX], s_msm[32];
	const char *p[2] = { day, s_msm };
	struct vt_buf raw, obj;
	struct pool pool = { 0 };
	PGresult *res = NULL;
	size_t nrows, njobs = 0;
	int64_t rawlen;
	int ret;

	vt_buf_init(&raw, ARC_OBJ_MAX);
	vt_buf_init(&obj, ARC_OBJ_MAX);
	object_key(day, msm, key, sizeof key);
	snprintf(s_msm, sizeof s_msm, "%" PRId64, msm);
	if (msm)
		ret = vt_pg_exec(r->db, &res, r->err, r->errlen,
			"SELECT prb_id, ts, result FROM results"
			" WHERE day = $1 AND msm_id = $2"
			" ORDER BY prb_id, ts, digest", 2, p);
	else
		ret = vt_pg_exec(r->db, &res, r->err, r->errlen,
			"SELECT r.msm_id, r.ts, r.result FROM results r"
			" JOIN measurements m ON m.id = r.msm_id AND m.is_oneoff"
			" WHERE r.day = $1 ORDER BY r.msm_id, r.ts, r.prb_id, r.digest",
			1, p);
	if (ret < 0)
		goto out;
	nrows = (size_t)PQntuples(res);
	if (!nrows) {
		ret = VT_OK;
		goto out;
	}
	if (!(pool.jobs = calloc(nrows, sizeof *pool.jobs))) {
		ret = VT_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nrows; i++) {
		int64_t group = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
		int64_t ts = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
		const char *line = PQgetvalue(res, (int)i, 2);
		size_t len = (size_t)PQgetlength(res, (int)i, 2);
		struct job *j = njobs ? &pool.jobs[njobs - 1] : NULL;

		if (memchr(line, '\n', len)) {
			snprintf(r->err, r->errlen, "%s: a result of msm %s on %s"
				 " holds a newline; cannot archive it", key,
				 PQgetvalue(res, (int)i, 0), day);
			ret = VT_EINVAL;
			goto out;
		}
		if (!j || (msm ? j->seg.prb_id : j->seg.msm_id) != group) {
			j = &pool.jobs[njobs];
			j->seg.seg = (int32_t)njobs++;
			j->seg.msm_id = msm ? msm : group;
			j->seg.prb_id = msm ? group : 0;
			j->seg.first_ts = ts;
			j->raw_off = raw.len;
			vt_buf_init(&j->out, 0);
		}
		j->seg.last_ts = ts;
		j->seg.count++;
		if ((ret = vt_buf_add(&raw, line, len)) < 0 ||
		    (ret = vt_buf_addc(&raw, '\n')) < 0) {
			snprintf(r->err, r->errlen, "%s: over the object size cap", key);
			goto out;
		}
		j->seg.rlen = raw.len - j->raw_off;
	}
	rawlen = (int64_t)raw.len;
	PQclear(res);
	res = NULL;
	if (r->o->dry_run) {
		note(r, "would archive %s: %zu results in %zu segments, %" PRId64
		     " bytes raw", key, nrows, njobs, rawlen);
		ret = VT_OK;
		goto out;
	}
	pool.n = njobs;
	pool.raw = raw.data;
	atomic_init(&pool.next, 0);
	if ((ret = compress_all(&pool, r->o->threads)) < 0) {
		snprintf(r->err, r->errlen, "%s: compression failed: %s", key,
			 vt_strerror(ret));
		goto out;
	}
	vt_buf_free(&raw);
	for (size_t i = 0; i < njobs; i++) {
		struct job *j = &pool.jobs[i];

		j->seg.off = obj.len;
		j->seg.clen = j->out.len;
		if ((ret = vt_buf_add(&obj, j->out.data, j->out.len)) < 0) {
			snprintf(r->err, r->errlen, "%s: over the object size cap", key);
			goto out;
		}
		vt_buf_free(&j->out);
	}
	if ((ret = sha256_hex(obj.data, obj.len, sha)) < 0)
		goto out;
	/* The object first ... */
	ret = vt_objstore_put(r->st, key, obj.data, obj.len, etag, r->err,
			      r->errlen);
	if (ret < 0)
		goto out;
	point(r, "after-put", key);
	/* ... the index last: it is the commit record. */
	ret = write_index(r, day, msm, key, obj.len, sha, etag, pool.jobs,
			  njobs, (int64_t)nrows, rawlen);
	if (ret < 0)
		goto out;
	point(r, "after-index", key);
	r->stats->objects_written++;
	r->stats->results_archived += (int64_t)nrows;
	r->stats->raw_bytes += rawlen;
	r->stats->stored_bytes += (int64_t)obj.len;
	note(r, "archived %s: %zu results in %zu segments, %" PRId64
	     " -> %zu bytes", key, nrows, njobs, rawlen, obj.len);
out:
	if (pool.jobs)
		for (size_t i = 0; i < njobs; i++)
			vt_buf_free(&pool.jobs[i].out);
	free(pool.jobs);
	PQclear(res);
	vt_buf_free(&raw);
	vt_buf_free(&obj);
	return ret;
}

/* An object row as the archiver needs it. */
struct objrow {
	char     id[24];
	int64_t  msm;          /* 0: one-off object */
	char     key[256];
	uint64_t size;
	char     sha[65];
	int64_t  results;
	int      verified;
	int      expired;
};

static int load_objects(struct run *r, const char *day, struct objrow **out,
			size_t *n)
{
	const char *p[1] = { day };
	PGresult *res = NULL;
	struct objrow *v;
	int ret;

	*out = NULL;
	*n = 0;
	ret = vt_pg_exec(r->db, &res, r->err, r->errlen,
		"SELECT id, coalesce(msm_id, 0), key, size, sha256, results,"
		" verified IS NOT NULL, expired IS NOT NULL"
		" FROM archive_objects WHERE day = $1 ORDER BY id", 1, p);
	if (ret < 0)
		return ret;
	if (!(v = calloc((size_t)PQntuples(res) + 1, sizeof *v))) {
		PQclear(res);
		return VT_ENOMEM;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		snprintf(v[i].id, sizeof v[i].id, "%s", PQgetvalue(res, i, 0));
		v[i].msm = strtoll(PQgetvalue(res, i, 1), NULL, 10);
		snprintf(v[i].key, sizeof v[i].key, "%s", PQgetvalue(res, i, 2));
		v[i].size = strtoull(PQgetvalue(res, i, 3), NULL, 10);
		snprintf(v[i].sha, sizeof v[i].sha, "%s", PQgetvalue(res, i, 4));
		v[i].results = strtoll(PQgetvalue(res, i, 5), NULL, 10);
		v[i].verified = PQgetvalue(res, i, 6)[0] == 't';
		v[i].expired = PQgetvalue(res, i, 7)[0] == 't';
	}
	*n = (size_t)PQntuples(res);
	*out = v;
	PQclear(res);
	return VT_OK;
}

/* Checks the stored object against its index row by row. */
static int check_object(struct run *r, const struct objrow *ob)
{
	const char *p[1] = { ob->id };
	struct vt_arc_seg *segs = NULL;
	struct vt_buf obj;
	PGresult *res = NULL;
	char sha[65];
	size_t n = 0, bad;
	int ret;

	vt_buf_init(&obj, ARC_OBJ_MAX);
	ret = vt_pg_exec(r->db, &res, r->err, r->errlen,
		"SELECT msm_id, coalesce(prb_id::text, ''), seg, off, clen, rlen,"
		" count, first_ts, last_ts, crc FROM archive_index"
		" WHERE object_id = $1 ORDER BY seg", 1, p);
	if (ret < 0)
		goto out;
	n = (size_t)PQntuples(res);
	if (!(segs = calloc(n + 1, sizeof *segs))) {
		ret = VT_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *f[VT_ARC_SEG_NFIELDS];

		for (int c = 0; c < VT_ARC_SEG_NFIELDS; c++)
			f[c] = PQgetvalue(res, (int)i, c);
		if (vt_arc_seg_parse(f, &segs[i]) < 0) {
			snprintf(r->err, r->errlen, "%s: index row %zu is malformed",
				 ob->key, i);
			ret = VT_ECORRUPT;
			goto out;
		}
	}
	if (vt_arc_check_layout(segs, n, ob->size, &bad) < 0) {
		snprintf(r->err, r->errlen, "%s: index segment %zu does not fit "
			 "the object of %" PRIu64 " bytes", ob->key, bad, ob->size);
		ret = VT_ECORRUPT;
		goto out;
	}
	ret = vt_objstore_get(r->st, ob->key, 0, 0, &obj, r->err, r->errlen);
	if (ret < 0)
		goto out;
	if (obj.len != ob->size) {
		snprintf(r->err, r->errlen, "%s: object is %zu bytes, the index "
			 "says %" PRIu64, ob->key, obj.len, ob->size);
		ret = VT_ECORRUPT;
		goto out;
	}
	if ((ret = sha256_hex(obj.data, obj.len, sha)) < 0)
		goto out;
	if (strcmp(sha, ob->sha)) {
		snprintf(r->err, r->errlen, "%s: SHA-256 differs from the index",
			 ob->key);
		ret = VT_ECORRUPT;
		goto out;
	}
	{
		struct vpool vp;

		memset(&vp, 0, sizeof vp);
		vp.segs = segs;
		vp.n = n;
		vp.obj = (const uint8_t *)obj.data;
		vp.bad = n;
		atomic_init(&vp.next, 0);
		pthread_mutex_init(&vp.lock, NULL);
		vt_arc_run_threads(verify_worker, &vp, r->o->threads, n);
		pthread_mutex_destroy(&vp.lock);
		if (vp.bad < n) {
			snprintf(r->err, r->errlen, "%s: segment %zu: %s", ob->key,
				 vp.bad, vp.why ? vp.why : vt_strerror(vp.ret));
			ret = vp.ret;
			goto out;
		}
	}
	point(r, "during-verify", ob->key);
	ret = VT_OK;
out:
	free(segs);
	PQclear(res);
	vt_buf_free(&obj);
	return ret;
}

static int verify_object(struct run *r, struct objrow *ob)
{
	const char *p[1] = { ob->id };
	int ret;

	if (r->o->dry_run) {
		note(r, "would verify %s", ob->key);
		return VT_OK;
	}
	ret = check_object(r, ob);
	if (ret == VT_ECORRUPT || ret == VT_ENOTFOUND) {
		/* The hot rows are still there (expiry needs a passing check):
		 * drop the index so that the next run writes the object anew. */
		char keep[1024];

		r->stats->verify_failed++;
		snprintf(keep, sizeof keep, "%s", r->err);
		if (!ob->expired &&
		    vt_pg_exec(r->db, NULL, r->err, r->errlen,
			       "DELETE FROM archive_objects WHERE id = $1 AND "
			       "expired IS NULL", 1, p) == 0)
			snprintf(r->err, r->errlen, "%s (index dropped; the next "
				 "run archives it again)", keep);
		else
			snprintf(r->err, r->errlen, "%s", keep);
		return ret;
	}
	if (ret < 0)
		return ret;
	ret = vt_pg_exec(r->db, NULL, r->err, r->errlen,
			 "UPDATE archive_objects SET verified = now() WHERE id = $1",
			 1, p);
	if (ret < 0)
		return ret;
	ob->verified = 1;
	r->stats->objects_verified++;
	note(r, "verified %s", ob->key);
	return VT_OK;
}

static int expire_object(struct run *r, const char *day, struct objrow *ob)
{
	const char *p[3] = { day, NULL, ob->id };
	char s_msm[32];
	PGresult *res = NULL;
	int64_t rows;
	int ret;

	snprintf(s_msm, sizeof s_msm, "%" PRId64, ob->msm);
	if (r->o->dry_run) {
		note(r, "would expire the %" PRId64 " hot rows of %s", ob->results,
		     ob->key);
		return VT_OK;
	}
	if ((ret = vt_pg_cmd(r->db, "BEGIN", r->err, r->errlen)) < 0)
		return ret;
	if (ob->msm) {
		p[1] = s_msm;
		ret = vt_pg_exec(r->db, &res, r->err, r->errlen,
			"DELETE FROM results WHERE day = $1 AND msm_id = $2",
			2, p);
	} else {
		p[1] = ob->id;
		ret = vt_pg_exec(r->db, &res, r->err, r->errlen,
			"DELETE FROM results WHERE day = $1 AND msm_id IN"
			" (SELECT msm_id FROM archive_index WHERE object_id = $2)",
			2, p);
	}
	if (ret < 0)
		goto fail;
	rows = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	res = NULL;
	if (rows != ob->results && rows != 0) {
		snprintf(r->err, r->errlen, "%s: %" PRId64 " hot rows now, %" PRId64
			 " archived: not expiring (archive the day again after "
			 "checking why)", ob->key, rows, ob->results);
		ret = VT_ECORRUPT;
		goto fail;
	}
	point(r, "during-expiry", ob->key);
	p[0] = ob->id;
	ret = vt_pg_exec(r->db, NULL, r->err, r->errlen,
		"UPDATE archive_objects SET expired = now() WHERE id = $1", 1, p);
	if (ret < 0)
		goto fail;
	if ((ret = vt_pg_cmd(r->db, "COMMIT", r->err, r->errlen)) < 0)
		goto fail;
	ob->expired = 1;
	r->stats->objects_expired++;
	r->stats->rows_expired += rows;
	note(r, "expired %" PRId64 " hot rows of %s", rows, ob->key);
	point(r, "after-expiry", ob->key);
	return VT_OK;
fail:
	PQclear(res);
	vt_pg_try(r->db, "ROLLBACK");
	return ret;
}

/* Drops the day's own partition of results once it is empty. */
static int drop_partition(struct run *r, const char *day, int64_t d)
{
	char next[16], bound[80], sql[256];
	const char *p[2] = { day, bound };
	PGresult *res = NULL;
	int ret;

	vt_arc_day_fmt(d + 1, next, sizeof next);
	snprintf(bound, sizeof bound, "FOR VALUES FROM ('%s') TO ('%s')", day,
		 next);
	ret = vt_pg_exec(r->db, &res, r->err, r->errlen,
		"SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)"
		" FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
		" JOIN pg_namespace n ON n.oid = c.relnamespace"
		" WHERE i.inhparent = 'results'::regclass"
		" AND pg_get_expr(c.relpartbound, c.oid) = $2"
		" AND NOT EXISTS (SELECT 1 FROM results WHERE day = $1::date)",
		2, p);
	if (ret < 0 || PQntuples(res) != 1)
		goto out;
	snprintf(sql, sizeof sql, "DROP TABLE %s", PQgetvalue(res, 0, 0));
	if (r->o->dry_run) {
		note(r, "would drop the empty partition %s", PQgetvalue(res, 0, 0));
		goto out;
	}
	if ((ret = vt_pg_cmd(r->db, sql, r->err, r->errlen)) < 0)
		goto out;
	r->stats->partitions_dropped++;
	note(r, "dropped the empty partition %s", PQgetvalue(res, 0, 0));
out:
	PQclear(res);
	return ret;
}

static int do_day(struct run *r, const char *day, int64_t d)
{
	int64_t today = r->o->now / 86400;
	int due = d < today - r->o->late_days;
	int expire_due = d < today - r->o->late_days - r->o->margin_days;
	struct objrow *obs = NULL;
	size_t nobs = 0;
	PGresult *res = NULL;
	const char *p[1] = { day };
	int ret, oneoff_hot = 0, all_expired = 1;

	if (!due) {
		note(r, "%s is inside the %d-day late window: not archived", day,
		     r->o->late_days);
		return VT_OK;
	}
	r->stats->days++;
	if ((ret = load_objects(r, day, &obs, &nobs)) < 0)
		goto out;
	/* Periodic measurements with hot rows and no object yet. */
	ret = vt_pg_exec(r->db, &res, r->err, r->errlen,
		"SELECT r.msm_id, coalesce(bool_or(m.is_oneoff), false)"
		" FROM results r LEFT JOIN measurements m ON m.id = r.msm_id"
		" WHERE r.day = $1 GROUP BY r.msm_id ORDER BY r.msm_id", 1, p);
	if (ret < 0)
		goto out;
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t msm = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		int oneoff = PQgetvalue(res, i, 1)[0] == 't', have = 0;

		if (oneoff) {
			oneoff_hot = 1;
			continue;
		}
		for (size_t k = 0; k < nobs; k++)
			if (obs[k].msm == msm)
				have = 1;
		if (have)
			continue;
		if ((ret = archive_object(r, day, msm)) < 0)
			goto out;
	}
	if (oneoff_hot) {
		int have = 0;

		for (size_t k = 0; k < nobs; k++)
			if (obs[k].msm == 0)
				have = 1;
		if (!have && (ret = archive_object(r, day, 0)) < 0)
			goto out;
	}
	free(obs);
	obs = NULL;
	if ((ret = load_objects(r, day, &obs, &nobs)) < 0)
		goto out;
	for (size_t k = 0; k < nobs; k++)
		if (!obs[k].verified && (ret = verify_object(r, &obs[k])) < 0)
			goto out;
	for (size_t k = 0; k < nobs; k++) {
		if (obs[k].expired)
			continue;
		if (!expire_due || !obs[k].verified) {
			all_expired = 0;
			continue;
		}
		if ((ret = expire_object(r, day, &obs[k])) < 0)
			goto out;
	}
	if (expire_due && all_expired && !r->o->dry_run)
		ret = drop_partition(r, day, d);
	else if (!expire_due)
		note(r, "%s: hot rows stay until %d days past the late window",
		     day, r->o->margin_days);
out:
	PQclear(res);
	free(obs);
	return ret;
}

int vt_archive_run(PGconn *db, struct vt_objstore *st,
		   const struct vt_arc_opts *o, struct vt_arc_stats *stats,
		   char *errbuf, size_t errlen)
{
	struct vt_arc_stats dummy;
	struct run r = { db, st, o, stats ? stats : &dummy, errbuf, errlen };
	PGresult *res = NULL;
	int ret;

	memset(r.stats, 0, sizeof *r.stats);
	ret = vt_pg_exec(db, &res, errbuf, errlen,
			 "SELECT pg_try_advisory_lock(" ARC_LOCK_ID ")", 0, NULL);
	if (ret < 0)
		return ret;
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		PQclear(res);
		snprintf(errbuf, errlen, "another archiver is running");
		return VT_EAGAIN;
	}
	PQclear(res);
	res = NULL;
	if (o->day) {
		int64_t d;

		if (vt_arc_day_parse(o->day, &d) < 0) {
			snprintf(errbuf, errlen, "bad day '%s' (YYYY-MM-DD)", o->day);
			ret = VT_EINVAL;
			goto out;
		}
		ret = do_day(&r, o->day, d);
		goto out;
	}
	{
		char cutoff[16];
		const char *p[1] = { cutoff };

		vt_arc_day_fmt(o->now / 86400 - o->late_days, cutoff, sizeof cutoff);
		ret = vt_pg_exec(db, &res, errbuf, errlen,
			"SELECT day::text FROM (SELECT DISTINCT day FROM results"
			" WHERE day < $1::date UNION SELECT day FROM archive_objects"
			" WHERE expired IS NULL) d ORDER BY 1", 1, p);
		if (ret < 0)
			goto out;
		/* A day that fails does not hold the others back; the first
		 * error is the one returned. */
		for (int i = 0; i < PQntuples(res); i++) {
			const char *day = PQgetvalue(res, i, 0);
			char keep[1024];
			int64_t d;
			int r2;

			if (vt_arc_day_parse(day, &d) < 0)
				continue;
			if (ret < 0)
				snprintf(keep, sizeof keep, "%s", errbuf);
			r2 = do_day(&r, day, d);
			if (ret < 0)
				snprintf(errbuf, errlen, "%s", keep);
			else if (r2 < 0)
				ret = r2;
			if (vt_pg_broken(db))
				break;
		}
	}
out:
	PQclear(res);
	vt_pg_try(db, "SELECT pg_advisory_unlock(" ARC_LOCK_ID ")");
	return ret;
}
