/* The handshake limit's arithmetic and its pause/resume handshake between
 * the accepting thread and the threads ending handshakes (hslimit.h). */
#include "controller/gateway/hslimit.h"
#include "tests/unit/check.h"

static int resumed;

static void on_resume(void *arg)
{
	(void)arg;
	resumed++;
}

int main(void)
{
	struct gw_hs *hs = NULL;

	/* Floor: 16 per thread, never above the ceiling. */
	CHECK(gw_hs_floor(1, 256) == 16);
	CHECK(gw_hs_floor(2, 512) == 32);
	CHECK(gw_hs_floor(4, 40) == 40);
	CHECK(gw_hs_floor(0, 256) == 16);

	/* Completed per second times the 3 s window, within floor .. max. */
	CHECK(gw_hs_next_limit(100, 1000, 32, 512) == 300);
	CHECK(gw_hs_next_limit(100, 2000, 32, 512) == 150);
	CHECK(gw_hs_next_limit(1000, 1000, 32, 512) == 512);
	CHECK(gw_hs_next_limit(5, 1000, 32, 512) == 32);
	CHECK(gw_hs_next_limit(0, 1000, 32, 512) == 32);
	CHECK(gw_hs_next_limit(10, 0, 32, 512) == 32);    /* no time: the floor */
	CHECK(gw_hs_next_limit(-3, 1000, 32, 512) == 32);

	/* The backlog: within 64 .. 65535. */
	CHECK(gw_hs_backlog_of(10) == 64);
	CHECK(gw_hs_backlog_of(300) == 300);
	CHECK(gw_hs_backlog_of(1 << 20) == 65535);

	/* The state: 2 threads, ceiling 40: floor 32 at first. */
	CHECK(gw_hs_new(2, 40, NULL, on_resume, NULL, 1000, &hs) == 0);
	CHECK(gw_hs_limit(hs) == 32);
	for (int i = 0; i < 32; i++) {
		CHECK(!gw_hs_full(hs));
		gw_hs_admit(hs);
	}
	CHECK(gw_hs_full(hs));
	/* Accepting waits; one handshake ending resumes it once. */
	CHECK(gw_hs_pause(hs) == 1);
	gw_hs_authed(hs);
	gw_hs_end(hs);
	CHECK(resumed == 1);
	gw_hs_admit(hs);
	/* Stale ones leave the adaptive count, not the ceiling's. */
	for (int i = 0; i < 8; i++)
		gw_hs_stale(hs);
	CHECK(!gw_hs_full(hs));
	for (int i = 0; i < 8; i++)
		gw_hs_admit(hs);
	CHECK(gw_hs_full(hs));      /* 40 in the handshake: the ceiling */
	CHECK(gw_hs_pause(hs) == 1);
	CHECK(resumed == 1);
	gw_hs_end_stale(hs);        /* below the ceiling, fresh ones at 32 */
	CHECK(resumed == 2);
	CHECK(gw_hs_full(hs));
	/* A handshake ended between the check and the pause: no wait. */
	gw_hs_end(hs);
	CHECK(resumed == 2);
	CHECK(gw_hs_pause(hs) == 0);
	gw_hs_admit(hs);

	/* The tick: 30 completed in 2 s while accepting waited: limit 40
	 * (the ceiling; 45 wanted) and it goes on at once. */
	CHECK(gw_hs_pause(hs) == 1);
	for (int i = 0; i < 29; i++)
		gw_hs_authed(hs);
	CHECK(gw_hs_tick(hs, 3000) == 1);
	CHECK(gw_hs_limit(hs) == 40);
	/* A second in which accepting never waited says nothing. */
	CHECK(gw_hs_tick(hs, 4000) == 0 && gw_hs_limit(hs) == 40);
	/* A slow second while it waited: back to the floor, no resume. */
	gw_hs_authed(hs);
	gw_hs_admit(hs);            /* 40 in the handshake again */
	CHECK(gw_hs_full(hs));
	CHECK(gw_hs_pause(hs) == 1);
	CHECK(gw_hs_tick(hs, 5000) == 0 && gw_hs_limit(hs) == 32);
	CHECK(resumed == 2);
	gw_hs_free(hs);
	gw_hs_free(NULL);
	return CHECK_DONE();
}
