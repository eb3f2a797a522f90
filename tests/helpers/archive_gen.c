/* archive_gen - writes a day of RIPE-like results (ping, traceroute, dns)
 * as PostgreSQL COPY text for the results table, for archive tests and
 * benches.
 *
 *   archive_gen DAY PROBES FIRST_PROBE MSM:TYPE:INTERVAL...
 *
 * Each probe runs each measurement every INTERVAL seconds from its own
 * offset in the day; values vary deterministically.  Columns: msm_id,
 * prb_id, ts, day, stored, digest, result. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int main(int argc, char **argv)
{
	struct tm tm = { 0 };
	char buf[16384];
	long nprobes, first;
	time_t day0;

	if (argc < 5 || !strptime(argv[1], "%Y-%m-%d", &tm)) {
		fprintf(stderr, "usage: archive_gen DAY PROBES FIRST_PROBE "
			"MSM:TYPE:INTERVAL...\n");
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
