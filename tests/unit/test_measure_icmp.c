/* test_measure_icmp.c - ICMP reply decoding (probe/measure/icmp.h) and the
 * address policy of the measurement engine. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/evloop.h"
#include "probe/measure/icmp.h"
#include "probe/measure/measure.h"
#include "probe/measure/rawnet.h"

/* A v4 time exceeded quoting a 40-byte UDP probe, with an RFC 4884
 * extension holding one MPLS label stack entry. */
static size_t v4_time_exceeded(uint8_t *p, int rfc4884)
{
	size_t n = 0;

	memset(p, 0, 512);
	p[0] = 11;                           /* time exceeded */
	/* quoted IP header */
	p[8] = 0x45; p[9] = 0; p[10] = 0; p[11] = 40;
	p[16] = 1; p[17] = IPPROTO_UDP;
	p[20] = 192; p[21] = 0; p[22] = 2; p[23] = 9;        /* src */
	p[24] = 198; p[25] = 51; p[26] = 100; p[27] = 7;     /* dst */
	/* quoted UDP header + payload (seq 0x0102) */
	p[28] = 0x9c; p[29] = 0x40; p[30] = 0x82; p[31] = 0x9b;
	p[36] = 0x01; p[37] = 0x02;
	/* quoted datagram padded to 128 bytes */
	if (rfc4884)
		p[5] = 128 / 4;
	n = 8 + 128;
	/* extension header: version 2 */
	p[n] = 0x20;
	n += 4;
	/* object: length 8, class 1 (MPLS), c-type 1 */
	p[n] = 0; p[n + 1] = 8; p[n + 2] = 1; p[n + 3] = 1;
	/* label 407904, exp 1, s 1, ttl 1 */
	{
		uint32_t e = 407904u << 12 | 1u << 9 | 1u << 8 | 1u;

		p[n + 4] = (uint8_t)(e >> 24);
		p[n + 5] = (uint8_t)(e >> 16);
		p[n + 6] = (uint8_t)(e >> 8);
		p[n + 7] = (uint8_t)e;
	}
	return n + 8;
}

static void test_v4_ext(int rfc4884)
{
	uint8_t p[512];
	size_t n = v4_time_exceeded(p, rfc4884);
	struct vt_icmp_info i;
	json_t *x;
	char *s;

	CHECK_INT(vt_icmp_parse(4, p, n, &i), 0);
	CHECK(i.is_error);
	CHECK_INT(i.in_proto, IPPROTO_UDP);
	CHECK_INT(i.in_ttl, 1);
	CHECK_INT(i.in_sport, 0x9c40);
	CHECK_INT(i.in_dport, 33435);
	CHECK(i.in_payload_len >= 2);
	CHECK_INT(i.in_payload[0] << 8 | i.in_payload[1], 0x0102);
	CHECK(i.has_ext);
	CHECK_INT(i.ext_rfc4884, rfc4884);
	CHECK_INT(i.nmpls, 1);
	CHECK_INT(i.mpls[0].label, 407904);
	x = vt_icmp_ext_json(&i);
	CHECK(x != NULL);
	s = json_dumps(x, JSON_COMPACT | JSON_PRESERVE_ORDER);
	CHECK_STR(s, rfc4884 ?
		  "{\"version\":2,\"rfc4884\":1,\"obj\":[{\"class\":1,\"type\":1,"
		  "\"mpls\":[{\"label\":407904,\"exp\":1,\"s\":1,\"ttl\":1}]}]}" :
		  "{\"version\":2,\"rfc4884\":0,\"obj\":[{\"class\":1,\"type\":1,"
		  "\"mpls\":[{\"label\":407904,\"exp\":1,\"s\":1,\"ttl\":1}]}]}");
	free(s);
	json_decref(x);
}

static void test_short_and_plain(void)
{
	uint8_t p[512];
	struct vt_icmp_info i;
	char eb[8];

	memset(p, 0, sizeof p);
	CHECK(vt_icmp_parse(4, p, 7, &i) < 0);
	/* echo reply v6 */
	p[0] = 129; p[4] = 0x12; p[5] = 0x34; p[6] = 0; p[7] = 5;
	CHECK_INT(vt_icmp_parse(6, p, 8, &i), 0);
	CHECK(i.is_echo_reply);
	CHECK_INT(i.echo_id, 0x1234);
	CHECK_INT(i.echo_seq, 5);
	/* v4 host unreachable with a quoted header cut short */
	memset(p, 0, sizeof p);
	p[0] = 3; p[1] = 1;
	CHECK_INT(vt_icmp_parse(4, p, 8 + 10, &i), 0);
	CHECK(i.is_error);
	CHECK_INT(i.in_proto, -1);
	CHECK(!i.has_ext);
	CHECK_STR(vt_icmp_err_text(4, &i, eb, sizeof eb), "H");
	/* v6 packet too big carries the mtu */
	memset(p, 0, sizeof p);
	p[0] = 2; p[6] = 0x05; p[7] = 0xdc;
	CHECK_INT(vt_icmp_parse(6, p, 48, &i), 0);
	CHECK_INT(i.mtu, 1500);
	CHECK(vt_icmp_err_text(6, &i, eb, sizeof eb) == NULL);
}

static int allowed(struct vt_measure_ctx *c, const char *a)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof ss);
	if (strchr(a, ':')) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		inet_pton(AF_INET6, a, &s->sin6_addr);
	} else {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		inet_pton(AF_INET, a, &s->sin_addr);
	}
	return vt_measure_addr_allowed(c, (struct sockaddr *)&ss) == 0;
}

static void test_policy(void)
{
	struct vt_loop *loop = NULL;
	struct vt_measure_ctx *c = NULL, *lab = NULL;
	struct vt_measure_opts o = { .no_raw = 1 };
	static const char *refused[] = {
		"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255",
		"192.168.1.1", "169.254.0.1", "224.0.0.1", "255.255.255.255",
		"0.0.0.0", "::1", "::", "fe80::1", "fc00::1", "fd12::1",
		"ff02::1", "::ffff:10.0.0.1",
	};
	static const char *ok[] = {
		"192.0.2.1", "198.51.100.1", "203.0.113.1", "193.0.14.129",
		"172.32.0.1", "2001:db8::1", "2001:67c:2e8::2",
	};

	CHECK_INT(vt_loop_new(&loop), 0);
	CHECK_INT(vt_measure_ctx_new(loop, &o, &c), 0);
	o.allow_private = 1;
	CHECK_INT(vt_measure_ctx_new(loop, &o, &lab), 0);
	for (size_t k = 0; k < sizeof refused / sizeof *refused; k++) {
		if (allowed(c, refused[k]))
			printf("not ok - %s should be refused\n", refused[k]);
		CHECK(!allowed(c, refused[k]));
		CHECK(allowed(lab, refused[k]));
	}
	for (size_t k = 0; k < sizeof ok / sizeof *ok; k++)
		CHECK(allowed(c, ok[k]));
	vt_measure_ctx_free(c);
	vt_measure_ctx_free(lab);
	vt_loop_free(loop);
}

static void test_csum(void)
{
	/* RFC 1071 example words 0001 f203 f4f5 f6f7 sum to ddf2 */
	static const uint8_t w[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5,
				     0xf6, 0xf7 };

	CHECK_INT(vt_csum_fold(vt_csum_add(0, w, sizeof w)), (uint16_t)~0xddf2);
}

int main(void)
{
	test_v4_ext(1);
	test_v4_ext(0);
	test_short_and_plain();
	test_policy();
	test_csum();
	return CHECK_DONE();
}
