/* test_catchment.c - the site in a DNS reply (proto/site.h) and the
 * catchment views (storage/catchment.h), on real replies: RIPE Atlas's
 * CHAOS hostname.bind from k-root, its intercepted version.bind, an SOA
 * reply with NSID from k-root, and NSD's hostname.bind with NSID (the
 * lab's server), with the site name swapped for the other sites. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/site.h"
#include "storage/catchment.h"
#include "tests/unit/check.h"

/* ../shared/samples dns_chaos[0]: msm 1423386, k-root hostname.bind */
static const char K_HOSTNAME[] =
	"iO6EAAABAAEAAQAACGhvc3RuYW1lBGJpbmQAABAAA8AMABAAAwAAAAAAFhVuczEuZmkt"
	"aGVsLmsucmlwZS5uZXTADAACAAMAAAAAAALADA==";
/* dns_chaos[1]: version.bind answered in class IN by a PowerDNS Recursor */
static const char K_VERSION_IN[] =
	"nfCAgAABAAEAAAAAB3ZlcnNpb24EYmluZAAAEAADwAwAEAABAAAfMAAdHFBvd2VyRE5T"
	"IFJlY3Vyc29yIDMuNS4yICRJZCQ=";
/* NSD 4 (the lab's server): hostname.bind "site-a.lab", NSID "site-a" */
static const char SITE_A[] =
	"eXKAAAABAAEAAAABCGhvc3RuYW1lBGJpbmQAABAAA8AMABAAAwAAAAAACwpzaXRlLWEu"
	"bGFiAAApBNAAAAAAAAoAAwAGc2l0ZS1h";
static const char SITE_B[] =
	"eXKAAAABAAEAAAABCGhvc3RuYW1lBGJpbmQAABAAA8AMABAAAwAAAAAACwpzaXRlLWIu"
	"bGFiAAApBNAAAAAAAAoAAwAGc2l0ZS1i";
/* the same without its NSID option */
static const char SITE_A_NONSID[] =
	"eXKAAAABAAEAAAABCGhvc3RuYW1lBGJpbmQAABAAA8AMABAAAwAAAAAACwpzaXRlLWEu"
	"bGFiAAApBNAAAAAAAAQAAwAA";

static char *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long l;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (l = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)l + 1)) &&
	    fread(b, 1, (size_t)l, f) == (size_t)l) {
		*n = (size_t)l;
		b[l] = '\0';
	} else {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static void test_b64(void)
{
	uint8_t out[16];
	size_t n;

	CHECK_INT(vt_b64_decode("Zm9vYmFy", 8, out, sizeof out, &n), 0);
	CHECK(n == 6 && !memcmp(out, "foobar", 6));
	CHECK_INT(vt_b64_decode("Zm9vYg==", 8, out, sizeof out, &n), 0);
	CHECK(n == 4 && !memcmp(out, "foob", 4));
	CHECK_INT(vt_b64_decode("Zm9vYmE=", 8, out, sizeof out, &n), 0);
	CHECK(n == 5 && !memcmp(out, "fooba", 5));
	CHECK_INT(vt_b64_decode("", 0, out, sizeof out, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(vt_b64_decode("Zm9", 3, out, sizeof out, &n), VT_EPARSE);
	CHECK_INT(vt_b64_decode("Zm9v YmFy", 9, out, sizeof out, &n), VT_EPARSE);
	CHECK_INT(vt_b64_decode("Zm==Zm9v", 8, out, sizeof out, &n), VT_EPARSE);
	CHECK_INT(vt_b64_decode("Zh==", 4, out, sizeof out, &n), VT_EPARSE);
	CHECK_INT(vt_b64_decode("Zm9vYmFy", 8, out, 5, &n), VT_ETOOBIG);
}

static void test_site(void)
{
	char site[VT_SITE_MAX];
	enum vt_site_how how;
	size_t n;
	char *dns;

	CHECK_INT(vt_site_from_abuf(K_HOSTNAME, strlen(K_HOSTNAME), site, &how), 0);
	CHECK_STR(site, "ns1.fi-hel.k.ripe.net");
	CHECK_STR(vt_site_how_name(how), "hostname.bind");
	/* a version.bind in class IN names no site */
	CHECK_INT(vt_site_from_abuf(K_VERSION_IN, strlen(K_VERSION_IN), site, &how),
		  VT_ENOTFOUND);
	CHECK_INT(how, VT_SITE_NONE);
	/* TXT wins over NSID */
	CHECK_INT(vt_site_from_abuf(SITE_A, strlen(SITE_A), site, &how), 0);
	CHECK_STR(site, "site-a.lab");
	CHECK_INT(how, VT_SITE_HOSTNAME_BIND);
	CHECK_INT(vt_site_from_abuf(SITE_A_NONSID, strlen(SITE_A_NONSID), site, &how), 0);
	CHECK_STR(site, "site-a.lab");
	/* k-root's SOA reply with NSID (samples dns[2], msm 1004048) */
	dns = read_file("tests/data/catchment/k_root_soa_nsid.abuf", &n);
	CHECK(dns != NULL);
	if (dns) {
		while (n && (dns[n - 1] == '\n'))
			n--;
		CHECK_INT(vt_site_from_abuf(dns, n, site, &how), 0);
		CHECK_STR(site, "k3.ams-ix.k.ripe.net");
		CHECK_STR(vt_site_how_name(how), "nsid");
		/* cut short: malformed, never a site */
		CHECK_INT(vt_site_from_abuf(dns, n - 8, site, &how), VT_EPARSE);
		free(dns);
	}
	/* not base64, a query (QR clear), empty */
	CHECK_INT(vt_site_from_abuf("!!!!", 4, site, &how), VT_EPARSE);
	{
		uint8_t q[12] = { 1, 2, 0, 0 };

		CHECK_INT(vt_site_from_reply(q, sizeof q, site, &how), VT_EPARSE);
	}
	CHECK_INT(vt_site_from_abuf("", 0, site, &how), VT_EPARSE);
}

static int add(struct vt_catch *c, long long prb, long long ts, const char *abuf,
	       double rt)
{
	char j[1024];

	if (abuf)
		snprintf(j, sizeof j, "{\"type\":\"dns\",\"af\":6,\"prb_id\":%lld,"
			 "\"timestamp\":%lld,\"result\":{\"rt\":%.3f,\"size\":60,"
			 "\"abuf\":\"%s\"}}", prb, ts, rt, abuf);
	else
		snprintf(j, sizeof j, "{\"type\":\"dns\",\"prb_id\":%lld,\"timestamp\":"
			 "%lld,\"error\":{\"timeout\":5000}}", prb, ts);
	return vt_catch_add(c, j, strlen(j));
}

static int ping(struct vt_catch *c, long long prb, double avg)
{
	char j[256];

	snprintf(j, sizeof j, "{\"type\":\"ping\",\"prb_id\":%lld,\"timestamp\":1,"
		 "\"avg\":%g}", prb, avg);
	return vt_catch_add_ping(c, j, strlen(j));
}

/* JSON text in a static buffer (the next call overwrites it). */
static const char *dump(const json_t *j, size_t flags)
{
	static char buf[4096];
	char *s = json_dumps(j, flags);

	snprintf(buf, sizeof buf, "%s", s ? s : "(null)");
	free(s);
	return buf;
}

static json_t *site_of(json_t *v, const char *name)
{
	size_t i;
	json_t *s;

	json_array_foreach(json_object_get(v, "sites"), i, s)
		if (!strcmp(json_string_value(json_object_get(s, "site")), name))
			return s;
	return NULL;
}

static long long geti(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static double getd(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static void test_views(void)
{
	struct vt_catch *c = NULL;
	json_t *v, *a, *b, *p, *ch;
	long long *ids = NULL;
	size_t n = 0;

	CHECK_INT(vt_catch_new(&c, 1001, 100, 400), 0);
	CHECK_INT(add(c, 1, 100, SITE_A, 1.0), 1);
	CHECK_INT(add(c, 2, 100, SITE_B, 5.0), 1);
	CHECK_INT(add(c, 3, 100, SITE_A, 2.0), 1);
	CHECK_INT(add(c, 1, 200, SITE_A, 1.5), 1);
	CHECK_INT(add(c, 2, 200, SITE_B, 6.0), 1);
	CHECK_INT(add(c, 3, 200, NULL, 0), 0);          /* a timeout */
	CHECK_INT(add(c, 1, 300, SITE_B, 7.0), 1);      /* p1 moves to b */
	CHECK_INT(add(c, 2, 300, SITE_B, 5.5), 1);
	CHECK_INT(add(c, 3, 300, SITE_A, 2.5), 1);
	CHECK_INT(add(c, 1, 400, SITE_A, 1.2), 1);      /* and back */
	CHECK_INT(add(c, 4, 400, K_HOSTNAME, 30.0), 1);
	CHECK_INT(add(c, 5, 400, K_VERSION_IN, 9.0), 0);
	{
		const char *rs = "{\"prb_id\":6,\"timestamp\":400,\"resultset\":["
			"{\"time\":400,\"error\":{\"timeout\":5000}},"
			"{\"time\":400,\"result\":{\"rt\":3.0,\"abuf\":\"" "eXKAAAABAAEAAAABCGhvc3"
			"RuYW1lBGJpbmQAABAAA8AMABAAAwAAAAAACwpzaXRlLWIubGFiAAApBNAAAAAAAAoAAwAG"
			"c2l0ZS1i\"}}]}";

		CHECK_INT(vt_catch_add(c, rs, strlen(rs)), 1);
	}
	/* not results */
	CHECK_INT(vt_catch_add(c, "[]", 2), VT_EPARSE);
	CHECK_INT(vt_catch_add(c, "{}", 2), VT_EPARSE);
	CHECK_INT(vt_catch_add(c, "{\"prb_id\":1}", 12), VT_EPARSE);
	CHECK_INT(vt_catch_add(c, "{\"prb_id\":", 10), VT_EPARSE);
	vt_catch_join_ping(c, 2002);
	CHECK_INT(ping(c, 1, 10), 1);
	CHECK_INT(ping(c, 1, 20), 1);
	CHECK_INT(ping(c, 2, 30), 1);
	CHECK_INT(ping(c, 3, -1), 0);                    /* all lost */
	CHECK_INT(ping(c, 99, 5), 0);                    /* not in the DNS results */
	vt_catch_set_probe(c, 1, "NL", 64496);
	vt_catch_set_probe(c, 2, "NL", 64496);
	vt_catch_set_probe(c, 3, "DE", 64497);
	vt_catch_set_probe(c, 99, "FR", 1);              /* unknown: ignored */
	CHECK_INT(vt_catch_probe_ids(c, &ids, &n), 0);
	CHECK_INT(n, 6);
	CHECK(ids && ids[0] == 1 && ids[5] == 6);
	free(ids);

	v = vt_catch_json(c);
	CHECK(v != NULL);
	if (!v)
		goto out;
	printf("# %s\n", dump(v, JSON_COMPACT));
	CHECK_INT(geti(v, "results"), 13);
	CHECK_INT(geti(v, "answered"), 11);
	CHECK_INT(geti(v, "unanswered"), 2);
	CHECK_INT(json_array_size(json_object_get(v, "sites")), 3);
	a = site_of(v, "site-a.lab");
	b = site_of(v, "site-b.lab");
	CHECK(a && b && site_of(v, "ns1.fi-hel.k.ripe.net"));
	if (!a || !b)
		goto out;
	CHECK_INT(geti(a, "probe_count"), 2);
	CHECK_INT(geti(a, "results"), 5);
	CHECK(getd(a, "rtt_median") == 1.5 && getd(a, "rtt_p90") == 2.5);
	CHECK_STR(dump(json_object_get(a, "probes"), JSON_COMPACT), "[1,3]");
	CHECK_STR(dump(json_object_get(a, "countries"), JSON_COMPACT), "[\"DE\",\"NL\"]");
	CHECK_STR(dump(json_object_get(a, "asns"), JSON_COMPACT), "[64496,64497]");
	CHECK(getd(a, "ping_median") == 15 && getd(a, "ping_p90") == 15);
	CHECK_INT(geti(b, "probe_count"), 2);            /* p2 and p6 */
	CHECK_INT(geti(b, "results"), 5);
	CHECK(getd(b, "rtt_median") == 5.5 && getd(b, "rtt_p90") == 7.0);
	CHECK(getd(b, "ping_median") == 30);
	p = json_array_get(json_object_get(v, "probes"), 0);
	CHECK_INT(geti(p, "prb_id"), 1);
	CHECK_STR(json_string_value(json_object_get(p, "site")), "site-a.lab");
	CHECK(getd(p, "rtt") == 1.2);
	CHECK_INT(geti(p, "timestamp"), 400);
	CHECK_INT(geti(p, "changes"), 2);
	CHECK_INT(geti(p, "asn"), 64496);
	CHECK(getd(p, "ping_avg") == 15);
	p = json_array_get(json_object_get(v, "probes"), 2);
	CHECK_INT(geti(p, "unanswered"), 1);
	CHECK(json_is_null(json_object_get(p, "ping_avg")));
	p = json_array_get(json_object_get(v, "probes"), 4);
	CHECK_INT(geti(p, "prb_id"), 5);
	CHECK(json_is_null(json_object_get(p, "site")));
	ch = json_object_get(v, "changes");
	CHECK_INT(json_array_size(ch), 2);
	CHECK_STR(dump(json_array_get(ch, 0), JSON_COMPACT | JSON_SORT_KEYS),
		  "{\"first_after\":300,\"from\":\"site-a.lab\",\"last_before\":200,"
		  "\"prb_id\":1,\"to\":\"site-b.lab\"}");
	CHECK_STR(dump(json_array_get(ch, 1), JSON_COMPACT | JSON_SORT_KEYS),
		  "{\"first_after\":400,\"from\":\"site-b.lab\",\"last_before\":300,"
		  "\"prb_id\":1,\"to\":\"site-a.lab\"}");
	CHECK(json_is_false(json_object_get(v, "changes_truncated")));
out:
	json_decref(v);
	vt_catch_free(c);
}

/* Caps: more sites than kept are counted, not kept; a flapping probe's
 * changes stop at the cap and say so. */
static void test_caps(void)
{
	struct vt_catch *c = NULL;
	json_t *v;
	int i;

	CHECK_INT(vt_catch_new(&c, 1, 0, 0), 0);
	for (i = 0; i < VT_CATCH_CHANGES_MAX + 10; i++)
		if (add(c, 7, i, i % 2 ? SITE_A : SITE_B, 1) != 1)
			break;
	CHECK_INT(i, VT_CATCH_CHANGES_MAX + 10);
	v = vt_catch_json(c);
	CHECK(v && json_is_true(json_object_get(v, "changes_truncated")));
	CHECK(v && json_array_size(json_object_get(v, "changes")) == VT_CATCH_CHANGES_MAX);
	json_decref(v);
	vt_catch_free(c);
	vt_catch_free(NULL);
}

static void test_fmt(void)
{
	char b[32];
	json_t *n = json_real(1.23456), *z = json_null();

	CHECK_STR(vt_catch_fmt_time(1767679200, b, sizeof b), "2026-01-06 06:00:00");
	CHECK_STR(vt_catch_fmt_time(0, b, sizeof b), "-");
	CHECK_STR(vt_catch_fmt_time(1767679200, b, 4), "-");
	CHECK_STR(vt_catch_fmt_ms(n, b, sizeof b), "1.235");
	CHECK_STR(vt_catch_fmt_ms(z, b, sizeof b), "-");
	json_decref(n);
}

int main(void)
{
	test_fmt();
	test_b64();
	test_site();
	test_views();
	test_caps();
	return CHECK_DONE();
}
