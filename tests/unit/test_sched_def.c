/* test_sched_def.c - measurement requests: checks, defaults, command lines. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "controller/scheduler/def.h"
#include "proto/cmdline.h"

#define NOW 1700000000LL

static char err[512];

/* Parses body; returns 0 or the error code (err holds the reason). */
static int parse(const char *body, struct vt_msm_request **r)
{
	err[0] = '\0';
	return vt_msm_request_parse(body, strlen(body), NOW, r, err, sizeof err);
}

/* Expects body to fail with a message containing what. */
static int fails_with(const char *body, const char *what)
{
	struct vt_msm_request *r = NULL;
	int rc = parse(body, &r);

	vt_msm_request_free(r);
	if (rc == 0 || !strstr(err, what)) {
		printf("# body %s\n#  gave rc %d \"%s\", wanted \"%s\"\n", body, rc,
		       err, what);
		return 0;
	}
	return 1;
}

/* The command line of definition i of body, msm id 1001. */
static const char *command(const char *body, int i)
{
	static char line[600];
	struct vt_msm_request *r = NULL;
	struct vt_buf b;

	line[0] = '\0';
	if (parse(body, &r) < 0) {
		printf("# parse failed: %s\n", err);
		return "(parse failed)";
	}
	vt_buf_init(&b, 600);
	if (vt_msm_command(json_array_get(r->defs, (size_t)i), 1001,
			   VT_MSM_OUT_FILE, &b, err, sizeof err) == 0)
		snprintf(line, sizeof line, "%s", b.data);
	vt_buf_free(&b);
	vt_msm_request_free(r);
	return line;
}

#define SPEC "\"probes\": [{\"type\": \"area\", \"value\": \"WW\", \"requested\": 3}]"

static void test_ok(void)
{
	struct vt_msm_request *r = NULL;
	json_t *d;

	CHECK_INT(parse("{\"definitions\": [{\"type\": \"ping\", \"af\": 4,"
			" \"target\": \"192.0.2.53\", \"description\": \"x\"}],"
			" \"probes\": [{\"type\": \"country\", \"value\": \"nl\","
			" \"requested\": 5, \"tags\": {\"include\":"
			" [\"system-ipv4-works\"], \"exclude\": [\"home\", \"x_y\"]}},"
			" {\"type\": \"asn\", \"value\": \"AS3333\", \"requested\": 1},"
			" {\"type\": \"probes\", \"value\": \"3, 1,2\", \"requested\": 3},"
			" {\"type\": \"msm\", \"value\": 1000001, \"requested\": 500},"
			" {\"type\": \"prefix\", \"value\": \"2001:db8::/32\","
			" \"requested\": 2}],"
			" \"start_time\": 1700000100, \"stop_time\": 1700086400}", &r), 0);
	if (!r)
		return;
	CHECK_INT(r->nspecs, 5);
	CHECK_STR(r->specs[0].type, "country");
	CHECK_STR(r->specs[0].value, "NL");
	CHECK_INT(r->specs[0].requested, 5);
	CHECK_STR(r->specs[0].include, "{system-ipv4-works}");
	CHECK_STR(r->specs[0].exclude, "{home,x_y}");
	CHECK_STR(r->specs[1].value, "3333");
	CHECK_STR(r->specs[1].include, "{}");
	CHECK_STR(r->specs[2].value, "3,1,2");
	CHECK_STR(r->specs[3].value, "1000001");
	CHECK_STR(r->specs[4].value, "2001:db8::/32");
	CHECK_INT(r->start_time, 1700000100);
	CHECK_INT(r->stop_time, 1700086400);
	CHECK_INT(r->is_oneoff, 0);
	d = json_array_get(r->defs, 0);
	/* Defaults are stored with the definition. */
	CHECK_INT(json_integer_value(json_object_get(d, "interval")), 240);
	CHECK_INT(json_integer_value(json_object_get(d, "spread")), 120);
	CHECK(json_is_true(json_object_get(d, "is_public")));
	CHECK(json_is_array(json_object_get(d, "tags")));
	vt_msm_request_free(r);

	CHECK_INT(parse("{\"definitions\": [{\"type\": \"traceroute\", \"af\": 6,"
			" \"target\": \"2001:db8::1\", \"description\": \"x\","
			" \"protocol\": \"UDP\"}, {\"type\": \"dns\", \"af\": 4,"
			" \"target\": \"192.0.2.1\", \"description\": \"y\","
			" \"query_class\": \"IN\", \"query_type\": \"AAAA\","
			" \"query_argument\": \"example.com\"}], " SPEC ","
			" \"is_oneoff\": true}", &r), 0);
	if (!r)
		return;
	CHECK_INT(r->is_oneoff, 1);
	CHECK_INT(json_array_size(r->defs), 2);
	CHECK(json_is_null(json_object_get(json_array_get(r->defs, 0), "interval")));
	vt_msm_request_free(r);
}

static void test_errors(void)
{
	CHECK(fails_with("[1]", "JSON object"));
	CHECK(fails_with("{", "not JSON"));
	CHECK(fails_with("{\"probes\": []}", "definitions: required"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"ping\", \"af\": 4,"
			 " \"target\": \"192.0.2.1\", \"description\": \"x\"}]}",
			 "probes: required"));
	CHECK(fails_with("{\"definitions\": [{\"af\": 4}], " SPEC "}",
			 "definitions[0].type: required"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"http\"}], " SPEC "}",
			 "definitions[0].type: unknown type 'http'"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"ping\", \"target\":"
			 " \"192.0.2.1\", \"description\": \"x\"}], " SPEC "}",
			 "definitions[0].af: required"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"ping\", \"af\": 5,"
			 " \"target\": \"192.0.2.1\", \"description\": \"x\"}], "
			 SPEC "}", "definitions[0].af: must be 4 or 6"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"ping\", \"af\": 4,"
			 " \"target\": \"192.0.2.1\"}], " SPEC "}",
			 "definitions[0].description: required"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"ping\", \"af\": 4,"
			 " \"description\": \"x\"}], " SPEC "}",
			 "definitions[0].target: required for ping"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"ping\", \"af\": 4,"
			 " \"description\": \"x\", \"target\": \"-x\"}], " SPEC "}",
			 "definitions[0].target: not a host name"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"traceroute\", \"af\": 4,"
			 " \"description\": \"x\", \"target\": \"192.0.2.1\"}], "
			 SPEC "}", "definitions[0].protocol: required for traceroute"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"traceroute\", \"af\": 4,"
			 " \"description\": \"x\", \"target\": \"192.0.2.1\","
			 " \"protocol\": \"SCTP\"}], " SPEC "}",
			 "definitions[0].protocol: must be ICMP, UDP or TCP"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"dns\", \"af\": 4,"
			 " \"description\": \"x\", \"target\": \"192.0.2.1\","
			 " \"query_type\": \"TXT\", \"query_argument\": \"a.\"}], "
			 SPEC "}", "definitions[0].query_class: required"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"dns\", \"af\": 4,"
			 " \"description\": \"x\", \"query_class\": \"IN\","
			 " \"query_type\": \"TXT\", \"query_argument\": \"a.\"}], "
			 SPEC "}", "definitions[0].target: required for dns"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"dns\", \"af\": 4,"
			 " \"description\": \"x\", \"target\": \"192.0.2.1\","
			 " \"query_class\": \"IN\", \"query_type\": \"BOGUS\","
			 " \"query_argument\": \"a.\"}], " SPEC "}",
			 "definitions[0].query_type: unknown type"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"ping\", \"af\": 4,"
			 " \"description\": \"x\", \"target\": \"192.0.2.1\","
			 " \"packets\": 0}], " SPEC "}",
			 "definitions[0].packets: must be between 1 and 16"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"ping\", \"af\": 4,"
			 " \"description\": \"x\", \"target\": \"192.0.2.1\","
			 " \"interval\": 60, \"spread\": 61}], " SPEC "}",
			 "definitions[0].spread: must not exceed interval"));
	CHECK(fails_with("{\"definitions\": [{\"type\": \"ping\", \"af\": 4,"
			 " \"description\": \"x\", \"target\": \"192.0.2.1\","
			 " \"tags\": [\"Bad Tag\"]}], " SPEC "}",
			 "definitions[0].tags[0]: not a tag"));
#define DEF "{\"definitions\": [{\"type\": \"ping\", \"af\": 4," \
	" \"description\": \"x\", \"target\": \"192.0.2.1\"}], "
	CHECK(fails_with(DEF "\"probes\": [{\"type\": \"area\", \"value\":"
			 " \"Mars\", \"requested\": 1}]}",
			 "probes[0].value: unknown area 'Mars'"));
	CHECK(fails_with(DEF "\"probes\": [{\"type\": \"planet\", \"value\":"
			 " \"x\", \"requested\": 1}]}",
			 "probes[0].type: unknown probe spec type"));
	CHECK(fails_with(DEF "\"probes\": [{\"type\": \"area\", \"value\":"
			 " \"WW\"}]}", "probes[0].requested: required"));
	CHECK(fails_with(DEF "\"probes\": [{\"type\": \"country\", \"value\":"
			 " \"NLD\", \"requested\": 1}]}",
			 "probes[0].value: not a country code"));
	CHECK(fails_with(DEF "\"probes\": [{\"type\": \"asn\", \"value\":"
			 " \"x1\", \"requested\": 1}]}",
			 "probes[0].value: not an AS number"));
	CHECK(fails_with(DEF "\"probes\": [{\"type\": \"prefix\", \"value\":"
			 " \"192.0.2.1\", \"requested\": 1}]}",
			 "probes[0].value: not a prefix"));
	CHECK(fails_with(DEF "\"probes\": [{\"type\": \"probes\", \"value\":"
			 " \"1,x\", \"requested\": 1}]}",
			 "probes[0].value: not a list of probe ids"));
	CHECK(fails_with(DEF "\"probes\": [{\"type\": \"area\", \"value\":"
			 " \"WW\", \"requested\": 1, \"tags\": {\"include\": [1]}}]}",
			 "probes[0].tags.include[0]: not a tag"));
	CHECK(fails_with(DEF SPEC ", \"stop_time\": 1600000000}",
			 "stop_time: must be after the start time"));
	CHECK(fails_with(DEF SPEC ", \"is_oneoff\": true, \"stop_time\":"
			 " 1800000000}", "stop_time: not allowed"));
}

static void test_commands(void)
{
	CHECK_STR(command(DEF SPEC "}", 0),
		  "evping -4 -c 3 -s 48 -i 1000 -A 1001 -O /home/atlas/data/new/2"
		  " 192.0.2.1");
	CHECK_STR(command("{\"definitions\": [{\"type\": \"ping\", \"af\": 6,"
			  " \"description\": \"x\", \"target\": \"2001:db8::53\","
			  " \"packets\": 5, \"size\": 100, \"packet_interval\": 500}], "
			  SPEC "}", 0),
		  "evping -6 -c 5 -s 100 -i 500 -A 1001 -O /home/atlas/data/new/2"
		  " 2001:db8::53");
	CHECK_STR(command("{\"definitions\": [{\"type\": \"traceroute\", \"af\": 4,"
			  " \"description\": \"x\", \"target\": \"192.0.2.1\","
			  " \"protocol\": \"TCP\", \"port\": 443, \"paris\": 0,"
			  " \"max_hops\": 20, \"first_hop\": 2, \"packets\": 1,"
			  " \"response_timeout\": 2000}], " SPEC "}", 0),
		  "evtraceroute -4 -T -a 0 -c 1 -f 2 -m 20 -p 443 -S 40 -w 2000"
		  " -A 1001 -O /home/atlas/data/new/2 192.0.2.1");
	CHECK_STR(command("{\"definitions\": [{\"type\": \"dns\", \"af\": 4,"
			  " \"description\": \"x\", \"target\": \"192.0.2.1\","
			  " \"query_class\": \"CHAOS\", \"query_type\": \"TXT\","
			  " \"query_argument\": \"id.server\"}], " SPEC "}", 0),
		  "evtdig -4 --retry 0 --timeout 5000 -i -A 1001"
		  " -O /home/atlas/data/new/2 192.0.2.1");
	CHECK_STR(command("{\"definitions\": [{\"type\": \"dns\", \"af\": 6,"
			  " \"description\": \"x\", \"target\": \"2001:db8::53\","
			  " \"query_class\": \"CHAOS\", \"query_type\": \"TXT\","
			  " \"query_argument\": \"hostname.bind.\"}], " SPEC "}", 0),
		  "evtdig -6 --retry 0 --timeout 5000 -h -A 1001"
		  " -O /home/atlas/data/new/2 2001:db8::53");
	CHECK_STR(command("{\"definitions\": [{\"type\": \"dns\", \"af\": 4,"
			  " \"description\": \"x\", \"target\": \"192.0.2.1\","
			  " \"query_class\": \"IN\", \"query_type\": \"SOA\","
			  " \"query_argument\": \"example.com\", \"protocol\": \"TCP\","
			  " \"set_rd_bit\": true, \"set_do_bit\": true,"
			  " \"set_nsid_bit\": true, \"udp_payload_size\": 1232,"
			  " \"retry\": 2, \"timeout\": 3000, \"include_qbuf\": true}], "
			  SPEC "}", 0),
		  "evtdig -4 -t -R -e 1232 -d -n -q --retry 2 --timeout 3000"
		  " --type 6 --class 1 --query example.com. -A 1001"
		  " -O /home/atlas/data/new/2 192.0.2.1");
	/* Every line parses back with the probe's own parser. */
	{
		struct vt_cmdline c;
		const char *l = command(DEF SPEC "}", 0);

		CHECK_INT(vt_cmdline_parse(l, strlen(l), &c, err, sizeof err), 0);
		CHECK_INT(c.msm_id, 1001);
		CHECK_STR(c.target, "192.0.2.1");
	}
}

static void test_id_list(void)
{
	char out[64];

	CHECK_INT(vt_msm_id_list("1,2, 3", out, sizeof out), 0);
	CHECK_STR(out, "1,2,3");
	CHECK(vt_msm_id_list("", out, sizeof out) < 0);
	CHECK(vt_msm_id_list("1;2", out, sizeof out) < 0);
	CHECK(vt_msm_id_list("0", out, sizeof out) < 0);
	CHECK(vt_msm_id_list("99999999999", out, sizeof out) < 0);
}

int main(void)
{
	test_ok();
	test_errors();
	test_commands();
	test_id_list();
	return CHECK_DONE();
}
