/* A drain's pacing: kicks at most rate a second, each at least
 * ceil(1000 / rate) ms after the one before, whatever the timer does. */
#include "controller/gateway/drain.h"
#include "tests/unit/check.h"

int main(void)
{
	struct gw_pace p = { 0 };
	int64_t wait = -1, t, last = 0;
	int n = 0;

	CHECK(gw_pace_interval(1) == 1000);
	CHECK(gw_pace_interval(3) == 334);       /* never faster than 3/s */
	CHECK(gw_pace_interval(4) == 250);
	CHECK(gw_pace_interval(1000) == 1);
	CHECK(gw_pace_interval(5000) == 1);
	CHECK(gw_pace_interval(0) == 1000);      /* nonsense: the slowest */

	/* The first kick goes at once, the next waits the interval. */
	CHECK(gw_pace_take(&p, 4, 5000, &wait) == 1 && wait == 0);
	CHECK(gw_pace_take(&p, 4, 5000, &wait) == 0 && wait == 250);
	CHECK(gw_pace_take(&p, 4, 5100, &wait) == 0 && wait == 150);
	CHECK(gw_pace_take(&p, 4, 5249, NULL) == 0);
	CHECK(gw_pace_take(&p, 4, 5250, &wait) == 1 && wait == 0);
	/* A late timer does not earn a burst afterwards. */
	CHECK(gw_pace_take(&p, 4, 9000, NULL) == 1);
	CHECK(gw_pace_take(&p, 4, 9001, NULL) == 0);

	/* Asked every millisecond for 10 s at 7/s: at most 70 kicks, none
	 * closer than the interval. */
	p = (struct gw_pace){ 0 };
	for (t = 100000; t < 110000; t++)
		if (gw_pace_take(&p, 7, t, NULL)) {
			CHECK(n == 0 || t - last >= gw_pace_interval(7));
			last = t;
			n++;
		}
	CHECK(n <= 70 && n >= 69);
	return CHECK_DONE();
}
