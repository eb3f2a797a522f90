/* sched_cron.c - timing and diff rules of the crontab scheduler (see
 * sched_cron.h). */
#include "probe/sched_cron.h"

#include <stdlib.h>
#include <string.h>

/* Times past this many seconds (about 34,000 years) are treated as this,
 * so that microseconds never overflow. */
#define MAX_S  (1LL << 40)
#define US     1000000LL

static long long clamp_s(long long s)
{
	return s < 0 ? 0 : s > MAX_S ? MAX_S : s;
}

/* T(k) in seconds, saturating at MAX_S. */
static long long slot_s(const struct vt_cron_line *l, long long k)
{
	long long start = clamp_s(l->start);
	long long iv = l->interval > 0 ? l->interval : 1;

	if (k <= 0)
		return start;
	if (k > (MAX_S - start) / iv)
		return MAX_S;
	return start + k * iv;
}

/* How far after T(k) a window reaches, and how far before. */
static int64_t window_after(const struct vt_cron_line *l)
{
	if (l->uniform && l->spread > 0)
		return (int64_t)l->spread * US / 2;
	return US - 1;
}

static int64_t window_before(const struct vt_cron_line *l)
{
	if (l->uniform && l->spread > 0)
		return (int64_t)l->spread * US / 2;
	return 0;
}

void vt_sched_window(const struct vt_cron_line *l, long long k,
		     int64_t *lo_us, int64_t *hi_us)
{
	int64_t t = slot_s(l, k) * US;

	*lo_us = t - window_before(l);
	*hi_us = t + window_after(l);
}

int vt_sched_plan(const struct vt_cron_line *l, long long min_k,
		  int64_t now_us, uint64_t r, long long *k, int64_t *at_us)
{
	int64_t start_us = clamp_s(l->start) * US;
	int64_t end_us = clamp_s(l->end) * US;
	int64_t iv_us = (int64_t)(l->interval > 0 ? l->interval : 1) * US;
	int64_t after = window_after(l), lo, hi;
	long long kk = min_k < 0 ? 0 : min_k;

	/* the first slot whose window is still open: T(k) + after >= now */
	if (now_us - after > start_us) {
		long long need = (now_us - after - start_us + iv_us - 1) / iv_us;

		if (need > kk)
			kk = need;
	}
	if (slot_s(l, kk) >= MAX_S)
		return VT_ENOTFOUND;
	vt_sched_window(l, kk, &lo, &hi);
	if (lo < start_us)
		lo = start_us;
	if (lo < now_us)
		lo = now_us;
	if (hi > end_us)
		hi = end_us;
	if (lo > hi)
		return VT_ENOTFOUND;    /* this and every later slot is past end */
	*k = kk;
	*at_us = lo + (int64_t)(r % (uint64_t)(hi - lo + 1));
	return VT_OK;
}

enum vt_sched_fire vt_sched_fire_check(const struct vt_cron_line *l,
				       int64_t at_us, int64_t now_us)
{
	if (at_us > clamp_s(l->end) * US)
		return VT_SCHED_FIRE_PAST_END;
	if (now_us - at_us > VT_SCHED_LATE_US)
		return VT_SCHED_FIRE_LATE;
	return VT_SCHED_FIRE_RUN;
}

int vt_sched_diff(const struct vt_cron_line *const *old, size_t nold,
		  const struct vt_cron_line *const *cur, size_t ncur,
		  int *match)
{
	unsigned char *used = calloc(nold ? nold : 1, 1);

	if (!used)
		return VT_ENOMEM;
	for (size_t i = 0; i < ncur; i++) {
		match[i] = -1;
		for (size_t j = 0; j < nold; j++) {
			if (used[j] || !vt_cron_same_job(old[j], cur[i]))
				continue;
			used[j] = 1;
			match[i] = (int)j;
			break;
		}
	}
	free(used);
	return VT_OK;
}
