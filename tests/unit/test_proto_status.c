/* Tests of proto/status: the stock probe's own status lines, in the shapes
 * its rptuptime, rptaddrs, dfrm and daemons write them
 * (tests/data/status/), and lines that are not status lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/status.h"
#include "tests/unit/check.h"

#define DATA "tests/data/status/"

static int load(const char *name, struct vt_status *st, char *err,
		size_t errlen)
{
	char path[256], buf[8192];
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, DATA "%s", name);
	if (!(f = fopen(path, "r")))
		return -100;
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	while (n && buf[n - 1] == '\n')
		n--;
	return vt_status_parse(buf, n, st, err, errlen);
}

static int parse(const char *s, struct vt_status *st, char *err)
{
	return vt_status_parse(s, strlen(s), st, err, 128);
}

int main(void)
{
	struct vt_status st;
	char err[128];

	CHECK(vt_status_id(7001));
	CHECK(vt_status_id(9104));
	CHECK(vt_status_id(9000));
	CHECK(vt_status_id(9819));
	CHECK(!vt_status_id(1001));
	CHECK(!vt_status_id(8001));
	CHECK(!vt_status_id(1000001));

	CHECK_INT(load("uptime.json", &st, err, sizeof err), VT_OK);
	CHECK_INT(st.kind, VT_STATUS_UPTIME);
	CHECK_INT(st.id, 7001);
	CHECK_INT(st.time, 1764662400);
	CHECK_INT(st.uptime, 86523);

	/* the default route's interface wins over the first address */
	CHECK_INT(load("addrs.json", &st, err, sizeof err), VT_OK);
	CHECK_INT(st.kind, VT_STATUS_ADDRS);
	CHECK_INT(st.time, 1764662580);
	CHECK_STR(st.v4, "10.0.5.2");
	CHECK_STR(st.v6, "2001:db8:5::2");

	/* no default route: the first usable address; no IPv6 at all */
	CHECK_INT(load("addrs_v4only.json", &st, err, sizeof err), VT_OK);
	CHECK_STR(st.v4, "198.51.100.40");
	CHECK_STR(st.v6, "");

	CHECK_INT(load("disk.json", &st, err, sizeof err), VT_OK);
	CHECK_INT(st.kind, VT_STATUS_OTHER);
	CHECK_INT(st.id, 9018);
	CHECK_INT(load("died.json", &st, err, sizeof err), VT_OK);
	CHECK_INT(st.kind, VT_STATUS_OTHER);
	CHECK_INT(st.id, 9817);
	CHECK_INT(load("resolv.json", &st, err, sizeof err), VT_OK);
	CHECK_INT(st.id, 9807);

	/* numeric ids as the full parser takes them */
	CHECK_INT(parse("{\"id\":7001,\"time\":5,\"uptime\":0}", &st, err), VT_OK);
	CHECK_INT(st.uptime, 0);

	/* only link-local, loopback, unspecified and multicast addresses */
	CHECK_INT(parse("{\"id\":\"9104\",\"time\":9,\"inet-addresses\":["
			"{\"inet-addr\":\"169.254.3.4\",\"interface\":\"e\"},"
			"{\"inet-addr\":\"0.0.0.0\",\"interface\":\"e\"},"
			"{\"inet-addr\":\"224.0.0.1\",\"interface\":\"e\"},"
			"{\"inet-addr\":\"not an address\",\"interface\":\"e\"}],"
			"\"inet6-addresses\":[{\"inet6-addr\":\"ff02::1\","
			"\"scope\":\"Global\"},{\"inet6-addr\":\"fd00::1\","
			"\"scope\":\"Site\"}]}", &st, err), VT_OK);
	CHECK_STR(st.v4, "");
	CHECK_STR(st.v6, "");
	/* odd shapes of the lists are no addresses, not an error */
	CHECK_INT(parse("{\"id\":\"9104\",\"time\":9,\"inet-addresses\":{},"
			"\"inet-routes\":[1,\"x\",{\"destination\":3}],"
			"\"inet6-addresses\":[null,[]]}", &st, err), VT_OK);
	CHECK_STR(st.v4, "");

	/* not status lines, or unusable ones */
	CHECK_INT(parse("{\"id\":\"1001\",\"time\":9}", &st, err), VT_EPARSE);
	CHECK(strstr(err, "status") != NULL);
	CHECK_INT(parse("{\"id\":\"7001\",\"uptime\":3}", &st, err), VT_EPARSE);
	CHECK(strstr(err, "time") != NULL);
	CHECK_INT(parse("{\"id\":\"7001\",\"time\":3}", &st, err), VT_EPARSE);
	CHECK(strstr(err, "uptime") != NULL);
	CHECK_INT(parse("{\"id\":\"7001\",\"time\":3,\"uptime\":-4}", &st, err),
		  VT_EPARSE);
	CHECK_INT(parse("[7001]", &st, err), VT_EPARSE);
	CHECK_INT(parse("{\"id\":\"9104\", broken", &st, err), VT_EPARSE);
	CHECK(strstr(err, "malformed") != NULL);
	CHECK_INT(parse("{\"id\":\"9104\",\"id\":\"7001\",\"time\":1}", &st, err),
		  VT_EPARSE);
	return CHECK_DONE();
}
