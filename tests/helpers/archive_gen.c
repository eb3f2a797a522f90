/* archive_gen - writes a day of RIPE-like results (ping, traceroute, dns)
 * as PostgreSQL COPY text for the results table, for archive tests and
 * benches; or, with --object, that day of one measurement straight into
 * the archive, as vantage-archiver would have archived it.
 *
 *   archive_gen DAY PROBES FIRST_PROBE MSM:TYPE:INTERVAL...
 *   archive_gen --object STORE_URL DAY PROBES FIRST_PROBE MSM:TYPE:INTERVAL
 *
 * Each probe runs each measurement every INTERVAL seconds from its own
 * offset in the day; values vary deterministically.  Columns: msm_id,
 * prb_id, ts, day, stored, digest, result.
 *
 * --object makes the same results (as the first form prints them) into the
 * object results/YYYY/MM/DD/MSM.bz2 in the store, one bzip2 stream per
 * probe compressed by the archiver's own code (storage/archive_fmt.h) on
 * 2 threads, and prints the SQL that indexes it (the archive_objects row,
 * verified and expired, and its archive_index rows): no hot rows, no
 * archiver run, so a bench can make a month of a 1,000-probe measurement
 * in the time compression takes. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/buf.h"
#include "storage/archive.h"
#include "storage/archive_fmt.h"
#include "storage/objstore.h"

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double rtt(double base)
{
	return base + (double)(next() % 10000) / 1000.0;
}

static void b64(const unsigned char *p, size_t n, char *out)
{
	static const char t[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = t[p[i] >> 2];
		out[o++] = t[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		out[o++] = t[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		out[o++] = t[p[i + 2] & 63];
	}
	if (n - i == 1) {
		out[o++] = t[p[i] >> 2];
		out[o++] = t[(p[i] & 3) << 4];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		out[o++] = t[p[i] >> 2];
		out[o++] = t[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		out[o++] = t[(p[i + 1] & 15) << 2];
		out[o++] = '=';
	}
	out[o] = '\0';
}

static int line(char *b, size_t len, const char *type, long msm, long prb,
		long ts)
{
	int o = 0;
	long stored = ts + 30 + (long)(next() % 600);
	unsigned from = (unsigned)(prb * 7 % 250) + 1;

#define ADD(...) o += snprintf(b + o, len - (size_t)o, __VA_ARGS__)
	if (!strcmp(type, "ping")) {
		double base = 5 + (double)(prb % 80), r1 = rtt(base), r2 = rtt(base),
		       r3 = rtt(base);
		double mn = r1 < r2 ? (r1 < r3 ? r1 : r3) : (r2 < r3 ? r2 : r3);
		double mx = r1 > r2 ? (r1 > r3 ? r1 : r3) : (r2 > r3 ? r2 : r3);

		ADD("{\"af\":4,\"avg\":%.3f,\"dst_addr\":\"192.0.2.53\","
		    "\"dst_name\":\"192.0.2.53\",\"dup\":0,\"from\":\"198.51.100.%u\","
		    "\"fw\":5080,\"group_id\":%ld,\"lts\":%ld,\"max\":%.3f,"
		    "\"min\":%.3f,\"msm_id\":%ld,\"msm_name\":\"Ping\",\"prb_id\":%ld,"
		    "\"proto\":\"ICMP\",\"rcvd\":3,\"result\":[{\"rtt\":%.3f},"
		    "{\"rtt\":%.3f},{\"rtt\":%.3f}],\"sent\":3,\"size\":48,"
		    "\"src_addr\":\"10.%ld.%ld.2\",\"step\":240,"
		    "\"stored_timestamp\":%ld,\"timestamp\":%ld,\"ttl\":%ld,"
		    "\"type\":\"ping\"}", (r1 + r2 + r3) / 3, from, msm,
		    (long)(next() % 60), mx, mn, msm, prb, r1, r2, r3, prb / 250,
		    prb % 250, stored, ts, 64 - prb % 12);
	} else if (!strcmp(type, "traceroute")) {
		int hops = 4 + (int)(prb % 9);

		ADD("{\"af\":4,\"dst_addr\":\"192.0.2.53\",\"dst_name\":\"192.0.2.53\","
		    "\"endtime\":%ld,\"from\":\"198.51.100.%u\",\"fw\":5080,"
		    "\"group_id\":%ld,\"lts\":%ld,\"msm_id\":%ld,"
		    "\"msm_name\":\"Traceroute\",\"paris_id\":%ld,\"prb_id\":%ld,"
		    "\"proto\":\"UDP\",\"result\":[", ts + 3, from, msm,
		    (long)(next() % 60), msm, ts / 900 % 16 + 1, prb);
		for (int h = 1; h <= hops; h++) {
			ADD("%s{\"hop\":%d,\"result\":[", h > 1 ? "," : "", h);
			for (int k = 0; k < 3; k++) {
				if (next() % 17 == 0)
					ADD("%s{\"x\":\"*\"}", k ? "," : "");
				else
					ADD("%s{\"from\":\"203.0.113.%ld\",\"rtt\":%.3f,"
					    "\"size\":28,\"ttl\":%d}", k ? "," : "",
					    (prb * 3 + h) % 254 + 1, rtt(h * 2.5),
					    255 - h);
			}
			ADD("]}");
		}
		ADD("],\"size\":48,\"src_addr\":\"10.%ld.%ld.2\","
		    "\"stored_timestamp\":%ld,\"timestamp\":%ld,"
		    "\"type\":\"traceroute\"}", prb / 250, prb % 250, stored, ts);
	} else {
		unsigned char ab[64];
		char abuf[100];
		unsigned id = (unsigned)(next() & 0xffff);
		static const unsigned char q[] = {
			0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
			0x02, 'i', 'd', 0x06, 's', 'e', 'r', 'v', 'e', 'r', 0x00,
			0x00, 0x10, 0x00, 0x03, 0xc0, 0x0c, 0x00, 0x10, 0x00, 0x03,
			0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x09, 's', 'i', 't',
			'e', '-' };
		size_t n = 0;

		ab[n++] = (unsigned char)(id >> 8);
		ab[n++] = (unsigned char)id;
		memcpy(ab + n, q, sizeof q);
		n += sizeof q;
		ab[n++] = (unsigned char)('a' + prb % 4);
		ab[n++] = '.';
		ab[n++] = 'n';
		ab[n++] = 's';
		b64(ab, n, abuf);
		ADD("{\"af\":4,\"dst_addr\":\"192.0.2.53\",\"from\":\"198.51.100.%u\","
		    "\"fw\":5080,\"group_id\":%ld,\"lts\":%ld,\"msm_id\":%ld,"
		    "\"msm_name\":\"Tdig\",\"prb_id\":%ld,\"proto\":\"UDP\","
		    "\"result\":{\"ANCOUNT\":1,\"ARCOUNT\":0,\"ID\":%u,\"NSCOUNT\":0,"
		    "\"QDCOUNT\":1,\"abuf\":\"%s\",\"answers\":[{\"NAME\":\"id.server\","
		    "\"RDATA\":[\"site-%c.ns\"],\"TYPE\":\"TXT\"}],\"rt\":%.3f,"
		    "\"size\":%zu},\"src_addr\":\"10.%ld.%ld.2\","
		    "\"stored_timestamp\":%ld,\"timestamp\":%ld,\"type\":\"dns\"}",
		    from, msm, (long)(next() % 60), msm, prb, id, abuf,
		    (char)('a' + prb % 4), rtt(3 + (double)(prb % 40)), n,
		    prb / 250, prb % 250, stored, ts);
	}
#undef ADD
	return o;
}

/* One probe's segment of the object being made. */
struct oseg {
	struct vt_arc_seg seg;
	size_t            raw_off;
	struct vt_buf     out;
	int               ret;
};

struct opool {
	struct oseg   *segs;
	size_t         n;
	const char    *raw;
	atomic_size_t  next;
};

static void *compress_worker(void *arg)
{
	struct opool *p = arg;
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->n) {
		struct oseg *g = &p->segs[i];

		g->ret = vt_arc_compress(p->raw + g->raw_off, g->seg.rlen, &g->out,
					 &g->seg.crc);
	}
	return NULL;
}

/* --object: the day's object of one measurement, and its index as SQL. */
static int make_object(const char *url, const char *day, time_t day0,
		       long nprobes, long first, long msm, const char *type,
		       long every)
{
	struct vt_objstore *st = NULL;
	struct vt_buf raw, obj;
	struct opool pool = { 0 };
	char key[256], etag[VT_OBJ_ETAG_MAX], err[512], buf[16384];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	long results = 0;
	int ret = 1;

	vt_buf_init(&raw, 0);
	vt_buf_init(&obj, 0);
	snprintf(key, sizeof key, "results/%.4s/%.2s/%.2s/%ld.bz2", day, day + 5,
		 day + 8, msm);
	if (vt_objstore_open(url, &st, err, sizeof err) < 0) {
		fprintf(stderr, "archive_gen: %s\n", err);
		goto out;
	}
	if (!(pool.segs = calloc((size_t)nprobes, sizeof *pool.segs)))
		goto out;
	for (long p = first; p < first + nprobes; p++) {
		long off = (p * 7919 + msm) % every;
		struct oseg *g = &pool.segs[pool.n];

		g->raw_off = raw.len;
		vt_buf_init(&g->out, 0);
		for (long ts = day0 + off; ts < day0 + 86400; ts += every) {
			int n = line(buf, sizeof buf, type, msm, p, ts);

			if (!g->seg.count)
				g->seg.first_ts = ts;
			g->seg.last_ts = ts;
			g->seg.count++;
			if (vt_buf_add(&raw, buf, (size_t)n) < 0 ||
			    vt_buf_addc(&raw, '\n') < 0)
				goto out;
		}
		if (!g->seg.count)
			continue;
		g->seg.seg = (int32_t)pool.n++;
		g->seg.msm_id = msm;
		g->seg.prb_id = p;
		g->seg.rlen = raw.len - g->raw_off;
		results += g->seg.count;
	}
	pool.raw = raw.data;
	atomic_init(&pool.next, 0);
	vt_arc_run_threads(compress_worker, &pool, 2, pool.n);
	for (size_t i = 0; i < pool.n; i++) {
		struct oseg *g = &pool.segs[i];

		if (g->ret < 0) {
			fprintf(stderr, "archive_gen: compression failed: %s\n", vt_strerror(g->ret));
			goto out;
		}
		g->seg.off = obj.len;
		g->seg.clen = g->out.len;
		if (vt_buf_add(&obj, g->out.data, g->out.len) < 0)
			goto out;
		vt_buf_free(&g->out);
	}
	if (!EVP_Digest(obj.data, obj.len, md, &mdlen, EVP_sha256(), NULL))
		goto out;
	if (vt_objstore_put(st, key, obj.data, obj.len, etag, err, sizeof err) < 0) {
		fprintf(stderr, "archive_gen: %s: %s\n", key, err);
		goto out;
	}
	printf("INSERT INTO archive_objects (day, msm_id, key, store, size, sha256,"
	       " etag, segments, results, raw_bytes, verified, expired) VALUES"
	       " ('%s', %ld, '%s', '%s', %zu, '", day, msm, key, url, obj.len);
	for (unsigned i = 0; i < mdlen; i++)
		printf("%02x", md[i]);
	printf("', '%s', %zu, %ld, %zu, now(), now());\n", etag, pool.n, results,
	       raw.len);
	if (pool.n) {
		printf("INSERT INTO archive_index (object_id, day, seg, msm_id, prb_id,"
		       " off, clen, rlen, count, first_ts, last_ts, crc) SELECT"
		       " currval(pg_get_serial_sequence('archive_objects', 'id')),"
		       " '%s', v.* FROM (VALUES", day);
		for (size_t i = 0; i < pool.n; i++) {
			const struct vt_arc_seg *g = &pool.segs[i].seg;

			printf("%s(%d, %" PRId64 "::bigint, %" PRId64 ", %" PRIu64
			       "::bigint, %" PRIu64 "::bigint, %" PRIu64 "::bigint, %u,"
			       " %" PRId64 "::bigint, %" PRId64 "::bigint, %u::bigint)",
			       i ? ", " : "", g->seg, g->msm_id, g->prb_id, g->off,
			       g->clen, g->rlen, g->count, g->first_ts, g->last_ts,
			       g->crc);
		}
		printf(") v;\n");
	}
	ret = fflush(stdout) ? 1 : 0;
out:
	if (pool.segs)
		for (size_t i = 0; i < pool.n; i++)
			vt_buf_free(&pool.segs[i].out);
	free(pool.segs);
	vt_buf_free(&raw);
	vt_buf_free(&obj);
	vt_objstore_free(st);
	if (ret)
		fprintf(stderr, "archive_gen: making %s failed\n", key);
	return ret;
}

int main(int argc, char **argv)
{
	struct tm tm = { 0 };
	char buf[16384];
	const char *url = NULL;
	long nprobes, first;
	time_t day0;

	if (argc > 2 && !strcmp(argv[1], "--object")) {
		url = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc < 5 || (url && argc != 5) || !strptime(argv[1], "%Y-%m-%d", &tm)) {
		fprintf(stderr, "usage: archive_gen [--object STORE_URL] DAY PROBES "
			"FIRST_PROBE MSM:TYPE:INTERVAL...\n"
			"(--object: one MSM:TYPE:INTERVAL)\n");
		return 2;
	}
	day0 = timegm(&tm);
	nprobes = atol(argv[2]);
	first = atol(argv[3]);
	for (int a = 4; a < argc; a++) {
		char type[32];
		long msm, every;

		if (sscanf(argv[a], "%ld:%31[a-z]:%ld", &msm, type, &every) != 3 ||
		    every <= 0) {
			fprintf(stderr, "archive_gen: bad spec '%s'\n", argv[a]);
			return 2;
		}
		if (url)
			return make_object(url, argv[1], day0, nprobes, first, msm,
					   type, every);
		for (long p = first; p < first + nprobes; p++) {
			long off = (p * 7919 + msm) % every;

			for (long ts = day0 + off; ts < day0 + 86400; ts += every) {
				uint64_t h = 1469598103934665603ULL;
				int n = line(buf, sizeof buf, type, msm, p, ts);

				for (int i = 0; i < n; i++)
					h = (h ^ (unsigned char)buf[i]) * 1099511628211ULL;
				printf("%ld\t%ld\t%ld\t%s\t%ld\t\\\\x%016" PRIx64 "\t%s\n",
				       msm, p, ts, argv[1], ts + 60, h, buf);
			}
		}
	}
	return 0;
}
