/* A drain's choice in the session registry: every KEEP holder is picked
 * once (and never after), a newer KEEP of a probe picked already can be
 * picked again, and the end of the drain clears the marks. */
#include <string.h>

#include "controller/gateway/registry.h"
#include "tests/unit/check.h"

static void hold(struct gw_reg *r, long id, uint64_t serial)
{
	struct gw_reg_hold h, old;

	memset(&h, 0, sizeof h);
	h.serial = serial;
	CHECK(gw_reg_keep(r, id, &h, "127.0.0.1", NULL, &old) >= 0);
}

int main(void)
{
	struct gw_reg *r = NULL;
	struct gw_reg_hold h;
	int seen[100] = { 0 }, n = 0;
	long id;

	CHECK(gw_reg_new(&r) == VT_OK);
	CHECK(gw_reg_drain_pick(r, &id, &h) == VT_ENOTFOUND);
	for (long i = 1; i <= 99; i++)
		hold(r, i, (uint64_t)i);
	while (gw_reg_drain_pick(r, &id, &h) == VT_OK) {
		CHECK(id >= 1 && id <= 99 && h.serial == (uint64_t)id);
		if (id >= 1 && id <= 99)
			seen[id]++;
		n++;
	}
	CHECK(n == 99);
	for (int i = 1; i <= 99; i++)
		CHECK(seen[i] == 1);
	/* The same session again (its tcpip-forward): still picked. */
	hold(r, 7, 7);
	CHECK(gw_reg_drain_pick(r, &id, &h) == VT_ENOTFOUND);
	/* A newer KEEP of probe 7: a session not sent away yet. */
	hold(r, 7, 1007);
	CHECK(gw_reg_drain_pick(r, &id, &h) == VT_OK && id == 7 &&
	      h.serial == 1007);
	CHECK(gw_reg_drain_pick(r, &id, &h) == VT_ENOTFOUND);
	gw_reg_drain_clear(r);
	n = 0;
	while (gw_reg_drain_pick(r, &id, &h) == VT_OK)
		n++;
	CHECK(n == 99);
	gw_reg_free(r);
	return CHECK_DONE();
}
