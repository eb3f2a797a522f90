/* test_cmdline.c - measurement command lines (proto/cmdline.h): the
 * tokenizer, the three parsers with their defaults and errors, and the
 * formatter's round trip. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proto/cmdline.h"

static int parse(const char *line, struct vt_cmdline *c, char *err, size_t errlen)
{
	return vt_cmdline_parse(line, strlen(line), c, err, errlen);
}

static void test_tokenize(void)
{
	struct vt_argv *a = malloc(sizeof(*a));
	char line[600];
	int i;

	CHECK_INT(vt_cmd_tokenize("  evping\t-c 3  x ", 17, a), 0);
	CHECK_INT(a->argc, 4);
	CHECK_STR(a->argv[0], "evping");
	CHECK_STR(a->argv[1], "-c");
	CHECK_STR(a->argv[3], "x");
	CHECK(a->argv[4] == NULL);
	CHECK_INT(vt_cmd_tokenize("a \"b c\" d\"e f\"g \"\"", 18, a), 0);
	CHECK_INT(a->argc, 4);
	CHECK_STR(a->argv[1], "b c");
	CHECK_STR(a->argv[2], "de fg");
	CHECK_STR(a->argv[3], "");
	CHECK_INT(vt_cmd_tokenize("", 0, a), 0);
	CHECK_INT(a->argc, 0);
	CHECK_INT(vt_cmd_tokenize("a \"b", 4, a), VT_EPARSE);
	CHECK_INT(vt_cmd_tokenize("a\nb", 3, a), VT_EPARSE);
	CHECK_INT(vt_cmd_tokenize("a\0b", 3, a), VT_EPARSE);
	/* 64 arguments fit, 65 do not */
	for (i = 0; i < 64; i++) {
		line[2 * i] = 'x';
		line[2 * i + 1] = ' ';
	}
	CHECK_INT(vt_cmd_tokenize(line, 128, a), 0);
	CHECK_INT(a->argc, 64);
	line[128] = 'y';
	CHECK_INT(vt_cmd_tokenize(line, 129, a), VT_ETOOBIG);
	/* 512 bytes fit, 513 do not */
	memset(line, 'z', sizeof(line));
	CHECK_INT(vt_cmd_tokenize(line, 512, a), 0);
	CHECK_INT(a->argc, 1);
	CHECK_INT(strlen(a->argv[0]), 512);
	CHECK_INT(vt_cmd_tokenize(line, 513, a), VT_ETOOBIG);
	free(a);
}

static void test_ping(void)
{
	struct vt_cmdline c;
	char err[128];

	CHECK_INT(parse("evping -A 1001 193.0.14.129", &c, err, sizeof(err)), 0);
	CHECK_INT(c.type, VT_CMD_PING);
	CHECK_INT(c.af, 6);              /* the stock default */
	CHECK_INT(c.af_given, 0);
	CHECK_INT(c.msm_id, 1001);
	CHECK_INT(c.u.ping.count, 3);
	CHECK_INT(c.u.ping.size, 48);
	CHECK_INT(c.u.ping.interval_ms, 1000);
	CHECK_STR(c.target, "193.0.14.129");
	CHECK_INT(parse("evping -4 -c 5 -s 100 -i 250 -A 7 -O /tmp/x k.root-servers.net",
			&c, err, sizeof(err)), 0);
	CHECK_INT(c.af, 4);
	CHECK_INT(c.u.ping.count, 5);
	CHECK_INT(c.u.ping.size, 100);
	CHECK_INT(c.u.ping.interval_ms, 250);
	CHECK_STR(c.out_file, "/tmp/x");
	CHECK_STR(c.target, "k.root-servers.net");
	/* getopt forms: glued values and grouped flags */
	CHECK_INT(parse("evping -4c2 -A9 x", &c, err, sizeof(err)), 0);
	CHECK_INT(c.u.ping.count, 2);
	CHECK_INT(c.msm_id, 9);

	CHECK_INT(parse("evping -4 -A 1 -x y", &c, err, sizeof(err)), VT_EPARSE);
	CHECK(strstr(err, "unknown option '-x'") != NULL);
	CHECK_INT(parse("evping -4 -c 0 -A 1 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK(strstr(err, "-c") != NULL);
	CHECK_INT(parse("evping -4 -c 3x -A 1 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evping -4 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK(strstr(err, "-A") != NULL);
	CHECK_INT(parse("evping -4 -A 1", &c, err, sizeof(err)), VT_EPARSE);
	CHECK(strstr(err, "target") != NULL);
	CHECK_INT(parse("evping -4 -A 1 x y", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evping -4 -6 -A 1 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evping -4 -A 1 -c", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evfoo -4 -A 1 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK(strstr(err, "unknown measurement") != NULL);
	CHECK_INT(parse("", &c, NULL, 0), VT_EPARSE);
}

static void test_traceroute(void)
{
	struct vt_cmdline c;
	char err[128];

	CHECK_INT(parse("evtraceroute -4 -A 5001 192.0.2.1", &c, err, sizeof(err)), 0);
	CHECK_INT(c.type, VT_CMD_TRACEROUTE);
	CHECK_INT(c.u.traceroute.proto, VT_TRT_ICMP);
	CHECK_INT(c.u.traceroute.paris, 16);
	CHECK_INT(c.u.traceroute.packets, 3);
	CHECK_INT(c.u.traceroute.first_hop, 1);
	CHECK_INT(c.u.traceroute.max_hops, 32);
	CHECK_INT(c.u.traceroute.size, 40);
	CHECK_INT(c.u.traceroute.wait_ms, 1000);
	CHECK_INT(c.u.traceroute.port, 0);
	CHECK_INT(parse("evtraceroute -6 -T -a 0 -c 1 -f 3 -m 20 -p 443 -S 60 -w 500 -F -g 5 -A 2 2001:db8::1",
			&c, err, sizeof(err)), 0);
	CHECK_INT(c.u.traceroute.proto, VT_TRT_TCP);
	CHECK_INT(c.u.traceroute.paris, 0);
	CHECK_INT(c.u.traceroute.first_hop, 3);
	CHECK_INT(c.u.traceroute.max_hops, 20);
	CHECK_INT(c.u.traceroute.port, 443);
	CHECK_INT(c.u.traceroute.size, 60);
	CHECK_INT(c.u.traceroute.wait_ms, 500);
	CHECK_INT(c.u.traceroute.dont_fragment, 1);
	CHECK_INT(c.u.traceroute.gap_limit, 5);
	CHECK_INT(parse("evtraceroute -4 -U -T -A 1 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evtraceroute -4 -f 10 -m 5 -A 1 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evtraceroute -4 -m 256 -A 1 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evtraceroute -4 --foo -A 1 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK(strstr(err, "--foo") != NULL);
}

static void test_tdig(void)
{
	struct vt_cmdline c;
	char err[128];

	CHECK_INT(parse("evtdig -A 10209 198.41.0.4", &c, err, sizeof(err)), 0);
	CHECK_INT(c.type, VT_CMD_TDIG);
	CHECK_INT(c.af, 6);
	CHECK_INT(c.u.tdig.chaos, VT_TDIG_Q_HOSTNAME_BIND);
	CHECK_INT(c.u.tdig.qtype, 16);
	CHECK_INT(c.u.tdig.qclass, 3);
	CHECK_STR(c.u.tdig.qname, "hostname.bind.");
	CHECK_INT(c.u.tdig.timeout_ms, 5000);
	CHECK_INT(c.u.tdig.retry, 0);
	CHECK_INT(c.u.tdig.port, 53);
	CHECK_INT(c.u.tdig.tcp, 0);
	CHECK_INT(parse("evtdig -4 -i -A 1 127.0.0.1", &c, err, sizeof(err)), 0);
	CHECK_INT(c.u.tdig.chaos, VT_TDIG_Q_ID_SERVER);
	CHECK_STR(c.u.tdig.qname, "id.server.");
	CHECK_INT(parse("evtdig -4 -b -A 1 x", &c, err, sizeof(err)), 0);
	CHECK_STR(c.u.tdig.qname, "version.bind.");
	CHECK_INT(parse("evtdig -4 -r -A 1 x", &c, err, sizeof(err)), 0);
	CHECK_STR(c.u.tdig.qname, "version.server.");
	CHECK_INT(parse("evtdig -6 -t -R -e 4096 -d -n -q --retry 2 --timeout 1500 -p 5353 "
			"--soa ripe.net. -A 3 2001:db8::53", &c, err, sizeof(err)), 0);
	CHECK_INT(c.af, 6);
	CHECK_INT(c.u.tdig.tcp, 1);
	CHECK_INT(c.u.tdig.rd, 1);
	CHECK_INT(c.u.tdig.edns0, 4096);
	CHECK_INT(c.u.tdig.dnssec_ok, 1);
	CHECK_INT(c.u.tdig.nsid, 1);
	CHECK_INT(c.u.tdig.qbuf, 1);
	CHECK_INT(c.u.tdig.retry, 2);
	CHECK_INT(c.u.tdig.timeout_ms, 1500);
	CHECK_INT(c.u.tdig.port, 5353);
	CHECK_INT(c.u.tdig.chaos, VT_TDIG_Q_NONE);
	CHECK_INT(c.u.tdig.qtype, 6);
	CHECK_INT(c.u.tdig.qclass, 1);
	CHECK_STR(c.u.tdig.qname, "ripe.net.");
	CHECK_INT(parse("evtdig -4 --type 48 --class 1 --query org. -A 3 x", &c, err, sizeof(err)), 0);
	CHECK_INT(c.u.tdig.qtype, 48);
	CHECK_INT(parse("evtdig -4 --timeout=900 --aaaa example.com. -A 3 x", &c, err, sizeof(err)), 0);
	CHECK_INT(c.u.tdig.qtype, 28);
	CHECK_INT(c.u.tdig.timeout_ms, 900);
	CHECK_INT(parse("evtdig -4 --txt . -A 3 x", &c, err, sizeof(err)), 0);
	CHECK_STR(c.u.tdig.qname, ".");

	CHECK_INT(parse("evtdig -4 --a example.com -A 3 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK(strstr(err, "trailing dot") != NULL);
	CHECK_INT(parse("evtdig -4 --type 1 -A 3 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evtdig -4 -i -h -A 3 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evtdig -4 -i --a a. -A 3 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evtdig -4 --a a. --soa b. -A 3 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evtdig -4 --retry 11 -A 3 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evtdig -4 -t=1 -A 3 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK_INT(parse("evtdig -4 --tcp -A 3 x", &c, err, sizeof(err)), VT_EPARSE);
	CHECK(strstr(err, "unknown option '--tcp'") != NULL);
	CHECK_INT(parse("evtdig -4 --query a..b. -A 3 x", &c, err, sizeof(err)), VT_EPARSE);
}

static void roundtrip(const char *line, const char *canon)
{
	struct vt_cmdline *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct vt_buf out;
	char err[128];

	vt_buf_init(&out, 1024);
	CHECK_INT(parse(line, a, err, sizeof(err)), 0);
	CHECK_INT(vt_cmdline_format(a, &out), 0);
	if (canon)
		CHECK_STR(out.data, canon);
	CHECK_INT(vt_cmdline_parse(out.data, out.len, b, err, sizeof(err)), 0);
	b->af_given = a->af_given;
	CHECK(memcmp(a, b, sizeof(*a)) == 0);
	vt_buf_free(&out);
	free(a);
	free(b);
}

static void test_format(void)
{
	struct vt_cmdline c;
	struct vt_buf out;

	roundtrip("evping -A 1001 193.0.14.129",
		  "evping -6 -c 3 -s 48 -i 1000 -A 1001 193.0.14.129");
	roundtrip("evping -4 -c 10 -O \"/tmp/a b\" -B 77 -A 1 x",
		  "evping -4 -c 10 -s 48 -i 1000 -A 1 -B 77 -O \"/tmp/a b\" x");
	roundtrip("evtraceroute -4 -U -A 5 x",
		  "evtraceroute -4 -U -a 16 -c 3 -f 1 -m 32 -S 40 -w 1000 -A 5 x");
	roundtrip("evtraceroute -6 -T -p 443 -F -g 3 -A 5 x",
		  "evtraceroute -6 -T -a 16 -c 3 -f 1 -m 32 -p 443 -S 40 -w 1000 -F -g 3 -A 5 x");
	roundtrip("evtdig -4 -i -A 1 127.0.0.1",
		  "evtdig -4 --retry 0 --timeout 5000 -i -A 1 127.0.0.1");
	roundtrip("evtdig -A 1 ::1",
		  "evtdig -6 --retry 0 --timeout 5000 -h -A 1 ::1");
	roundtrip("evtdig -4 -t -R --cd -e 1232 -d -n -q --retry 1 --timeout 900 -p 5300 --aaaa a.b. -A 1 x",
		  "evtdig -4 -t -R --cd -e 1232 -d -n -q --retry 1 --timeout 900 -p 5300 "
		  "--type 28 --class 1 --query a.b. -A 1 x");

	/* values that cannot be written back */
	vt_buf_init(&out, 1024);
	vt_cmdline_defaults(&c, VT_CMD_PING);
	c.msm_id = 1;
	CHECK_INT(vt_cmdline_format(&c, &out), VT_EINVAL);       /* no target */
	strcpy(c.target, "x");
	strcpy(c.out_file, "a\"b");
	CHECK_INT(vt_cmdline_format(&c, &out), VT_EINVAL);
	c.out_file[0] = '\0';
	c.af = 5;
	CHECK_INT(vt_cmdline_format(&c, &out), VT_EINVAL);
	c.af = 4;
	memset(c.target, 'a', VT_CMD_NAME_MAX);
	c.target[VT_CMD_NAME_MAX] = '\0';
	memset(c.out_file, 'b', VT_CMD_NAME_MAX);
	c.out_file[VT_CMD_NAME_MAX] = '\0';
	CHECK_INT(vt_cmdline_format(&c, &out), VT_ETOOBIG);
	CHECK_INT(out.len, 0);
	vt_buf_free(&out);
	CHECK_STR(vt_cmd_type_name(VT_CMD_TDIG), "evtdig");
	CHECK(vt_cmd_type_name(VT_CMD_NONE) == NULL);
}

int main(void)
{
	test_tokenize();
	test_ping();
	test_traceroute();
	test_tdig();
	test_format();
	return CHECK_DONE();
}
