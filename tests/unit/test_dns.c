/* test_dns.c - DNS query building and reply decoding (proto/dns.h),
 * against replies taken from real RIPE Atlas results. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proto/dns.h"

/* hostname.bind CH TXT from k-root (samples/dns_chaos.json, 0) */
static const uint8_t k_hostname[] = {
0x88, 0xee, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x08, 0x68, 0x6f, 0x73, 0x74, 0x6e, 0x61, 0x6d, 0x65, 0x04, 0x62, 0x69, 0x6e, 0x64, 0x00, 0x00, 0x10, 0x00, 0x03, 0xc0, 0x0c, 0x00, 0x10, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x15, 0x6e, 0x73, 0x31, 0x2e, 0x66, 0x69, 0x2d, 0x68, 0x65, 0x6c, 0x2e, 0x6b, 0x2e, 0x72, 0x69, 0x70, 0x65, 0x2e, 0x6e, 0x65, 0x74, 0xc0, 0x0c, 0x00, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xc0, 0x0c
};

/* testzone. SOA with an NSID OPT record (samples/dns.json, 4) */
static const uint8_t testzone_soa[] = {
0xd2, 0x07, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x74, 0x65, 0x73, 0x74, 0x7a, 0x6f, 0x6e, 0x65, 0x00, 0x00, 0x06, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x03, 0x84, 0x00, 0x46, 0x03, 0x61, 0x72, 0x69, 0x05, 0x61, 0x6c, 0x70, 0x68, 0x61, 0x06, 0x61, 0x72, 0x69, 0x64, 0x6e, 0x73, 0x03, 0x6e, 0x65, 0x74, 0x02, 0x61, 0x75, 0x00, 0x07, 0x73, 0x75, 0x70, 0x70, 0x6f, 0x72, 0x74, 0x0b, 0x61, 0x72, 0x69, 0x73, 0x65, 0x72, 0x76, 0x69, 0x63, 0x65, 0x73, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x53, 0xa1, 0x6c, 0x45, 0x00, 0x00, 0x07, 0x08, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x1b, 0xaf, 0x80, 0x00, 0x00, 0x07, 0x08, 0x00, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x03, 0x00, 0x08, 0x64, 0x6e, 0x73, 0x32, 0x2e, 0x61, 0x6d, 0x73
};

static void test_query(void)
{
	/* dig +noedns: id.server. CH TXT, id 0x1234, no RD */
	static const uint8_t want[] = {
		0x12, 0x34, 0x00, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		2, 'i', 'd', 6, 's', 'e', 'r', 'v', 'e', 'r', 0,
		0, 16, 0, 3
	};
	static const uint8_t want_opt[] = {
		0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0x00, 0, 4, 0, 3, 0, 0
	};
	struct vt_dns_query q = { .qname = "id.server.", .qtype = 16, .qclass = 3,
				  .id = 0x1234 };
	struct vt_dns_header h;
	struct vt_buf b;

	vt_buf_init(&b, 512);
	CHECK_INT(vt_dns_build_query(&q, &b), 0);
	CHECK_INT(b.len, sizeof(want));
	CHECK(b.len == sizeof(want) && memcmp(b.data, want, b.len) == 0);

	/* the same without the trailing dot, with RD, DO, NSID and 4096 */
	vt_buf_reset(&b);
	q.qname = "id.server";
	q.rd = 1;
	q.edns0 = 4096;
	q.dnssec_ok = 1;
	q.nsid = 1;
	CHECK_INT(vt_dns_build_query(&q, &b), 0);
	CHECK_INT(b.len, sizeof(want) + sizeof(want_opt));
	CHECK(b.len == sizeof(want) + sizeof(want_opt) &&
	      memcmp(b.data + sizeof(want), want_opt, sizeof(want_opt)) == 0);
	CHECK_INT(vt_dns_parse_header(b.data, b.len, &h), 0);
	CHECK_INT(h.flags, 0x0100);
	CHECK_INT(h.arcount, 1);

	/* NSID alone gives a 512-byte OPT */
	vt_buf_reset(&b);
	q.edns0 = 0;
	q.dnssec_ok = 0;
	CHECK_INT(vt_dns_build_query(&q, &b), 0);
	CHECK_INT((uint8_t)b.data[sizeof(want) + 3], 0x02);
	CHECK_INT((uint8_t)b.data[sizeof(want) + 4], 0x00);

	/* the root, and names that do not fit */
	vt_buf_reset(&b);
	q.qname = ".";
	CHECK_INT(vt_dns_build_query(&q, &b), 0);
	CHECK_INT(b.len, 12 + 1 + 4 + 15);
	q.qname = "a..b.";
	CHECK_INT(vt_dns_build_query(&q, &b), VT_EINVAL);
	q.qname = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.";
	CHECK_INT(vt_dns_build_query(&q, &b), VT_EINVAL);
	vt_buf_free(&b);
}

static void test_name_wire(void)
{
	uint8_t w[256];
	size_t n;
	char name[300];
	int i;

	CHECK_INT(vt_dns_name_to_wire("a\\.b.c\\065.", w, &n), 0);
	CHECK_INT(n, 1 + 3 + 1 + 2 + 1);
	CHECK(memcmp(w, "\x03" "a.b" "\x02" "cA" "\x00", n) == 0);
	/* 127 one-byte labels: 255 wire bytes, the longest allowed */
	for (i = 0; i < 127; i++) {
		name[2 * i] = 'x';
		name[2 * i + 1] = '.';
	}
	name[254] = '\0';
	CHECK_INT(vt_dns_name_to_wire(name, w, &n), 0);
	CHECK_INT(n, 255);
	name[253] = 'y';
	name[254] = '.';
	name[255] = '\0';
	CHECK_INT(vt_dns_name_to_wire(name, w, &n), VT_EINVAL);
	CHECK_INT(vt_dns_name_to_wire("a\\", w, &n), VT_EINVAL);
}

static void test_chaos_reply(void)
{
	struct vt_dns_reader r;
	struct vt_dns_rr *rr = malloc(sizeof(*rr));
	const uint8_t *s;
	size_t pos = 0, n;
	char tn[16];

	CHECK_INT(vt_dns_reader_init(&r, k_hostname, sizeof(k_hostname)), 0);
	CHECK_INT(r.h.id, 35054);
	CHECK_INT(r.h.qdcount, 1);
	CHECK_INT(r.h.ancount, 1);
	CHECK_INT(r.h.nscount, 1);
	CHECK_INT(r.h.arcount, 0);
	CHECK_INT(vt_dns_reader_next(&r, rr), 1);
	CHECK_INT(rr->section, VT_DNS_SEC_AN);
	CHECK_STR(rr->name, "hostname.bind.");
	CHECK_INT(rr->type, VT_DNS_T_TXT);
	CHECK_INT(rr->klass, VT_DNS_C_CH);
	CHECK_STR(vt_dns_type_name(rr->type, tn, sizeof(tn)), "TXT");
	CHECK_INT(vt_dns_txt_next(rr, &pos, &s, &n), 1);
	CHECK(n == 21 && memcmp(s, "ns1.fi-hel.k.ripe.net", n) == 0);
	CHECK_INT(vt_dns_txt_next(rr, &pos, &s, &n), 0);
	CHECK_INT(vt_dns_reader_next(&r, rr), 1);
	CHECK_INT(rr->section, VT_DNS_SEC_NS);
	CHECK_INT(rr->type, VT_DNS_T_NS);
	CHECK_INT(vt_dns_reader_next(&r, rr), 0);
	/* every truncation fails cleanly or reads fewer records */
	for (size_t cut = 0; cut < sizeof(k_hostname); cut++) {
		int rc = vt_dns_reader_init(&r, k_hostname, cut), k = 0;

		if (rc == 0)
			while ((rc = vt_dns_reader_next(&r, rr)) == 1)
				k++;
		CHECK(rc == VT_EPARSE && k < 2);
	}
	free(rr);
}

static void test_soa_reply(void)
{
	struct vt_dns_reader r;
	struct vt_dns_rr *rr = malloc(sizeof(*rr));
	struct vt_dns_soa *soa = malloc(sizeof(*soa));

	CHECK_INT(vt_dns_reader_init(&r, testzone_soa, sizeof(testzone_soa)), 0);
	CHECK_INT(vt_dns_reader_next(&r, rr), 1);
	CHECK_STR(rr->name, "testzone.");
	CHECK_INT(rr->type, VT_DNS_T_SOA);
	CHECK_INT(rr->ttl, 900);
	CHECK_INT(vt_dns_soa_parse(testzone_soa, sizeof(testzone_soa), rr, soa), 0);
	CHECK_STR(soa->mname, "ari.alpha.aridns.net.au.");
	CHECK_STR(soa->rname, "support.ariservices.com.");
	CHECK_INT(soa->serial, 1403087941);
	CHECK_INT(soa->minimum, 1800);
	CHECK_INT(vt_dns_reader_next(&r, rr), 1);
	CHECK_INT(rr->section, VT_DNS_SEC_AR);
	CHECK_INT(rr->type, VT_DNS_T_OPT);
	CHECK_STR(rr->name, ".");
	CHECK_INT(rr->rdlength, 12);
	CHECK_INT(vt_dns_reader_next(&r, rr), 0);
	/* SOA rdata cut short: the names run past rdlength */
	{
		uint8_t m[sizeof(testzone_soa)];
		struct vt_dns_rr rr2;

		memcpy(m, testzone_soa, sizeof(m));
		CHECK_INT(vt_dns_reader_init(&r, m, sizeof(m)), 0);
		CHECK_INT(vt_dns_reader_next(&r, &rr2), 1);
		rr2.rdlength = 10;
		CHECK_INT(vt_dns_soa_parse(m, sizeof(m), &rr2, soa), VT_EPARSE);
	}
	free(rr);
	free(soa);
}

static void test_hostile_names(void)
{
	/* a pointer to itself, a forward pointer, a pointer loop */
	static const uint8_t self[] = { 0,0,0,0, 0,1, 0,0,0,0,0,0, 0xc0, 12, 0,1,0,1 };
	static const uint8_t fwd[] = { 0,0,0,0, 0,1, 0,0,0,0,0,0, 0xc0, 14, 1, 'a', 0, 0,1,0,1 };
	static const uint8_t loop2[] = { 0,0,0,0, 0,1, 0,0,0,0,0,0,
		1, 'a', 0xc0, 16, 1, 'b', 0xc0, 12, 0,1,0,1 };
	static const uint8_t bad_label[] = { 0,0,0,0, 0,1, 0,0,0,0,0,0, 0x41, 0, 0,1,0,1 };
	static const uint8_t odd[] = { 0,0,0,0, 0,1, 0,0,0,0,0,0, 3, 'a', '.', 0xff, 0, 0,1,0,1 };
	struct vt_dns_reader r;
	char name[VT_DNS_TEXT_NAME];
	size_t off = 12;

	CHECK_INT(vt_dns_reader_init(&r, self, sizeof(self)), VT_EPARSE);
	CHECK_INT(vt_dns_reader_init(&r, fwd, sizeof(fwd)), VT_EPARSE);
	CHECK_INT(vt_dns_reader_init(&r, loop2, sizeof(loop2)), VT_EPARSE);
	CHECK_INT(vt_dns_reader_init(&r, bad_label, sizeof(bad_label)), VT_EPARSE);
	CHECK_INT(vt_dns_read_name(odd, sizeof(odd), &off, name, sizeof(name)), 0);
	CHECK_STR(name, "a\\.\\255.");
	CHECK_INT(off, 17);
}

int main(void)
{
	test_query();
	test_name_wire();
	test_chaos_reply();
	test_soa_reply();
	test_hostile_names();
	return CHECK_DONE();
}
