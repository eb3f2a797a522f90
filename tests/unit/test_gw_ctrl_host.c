/* The controller address a probe is sent to, by the family it came over. */
#include "controller/gateway/session.h"
#include "tests/unit/check.h"

static const char *pick(const char *list, const char *from)
{
	static char host[256];

	snprintf(host, sizeof host, "%s", list);
	gw_pick_ctrl_host(host, sizeof host, from);
	return host;
}

int main(void)
{
	CHECK_STR(pick("198.51.100.6,2001:db8:100:2::2", "198.51.100.9"), "198.51.100.6");
	CHECK_STR(pick("198.51.100.6,2001:db8:100:2::2", "2001:db8::7"), "2001:db8:100:2::2");
	CHECK_STR(pick("2001:db8::1,192.0.2.1", "192.0.2.77"), "192.0.2.1");
	CHECK_STR(pick("ctl.example", "2001:db8::7"), "ctl.example");
	CHECK_STR(pick("192.0.2.1,192.0.2.2", "2001:db8::7"), "192.0.2.1");
	CHECK_STR(pick("127.0.0.1", "127.0.0.1"), "127.0.0.1");
	return CHECK_DONE();
}
