/* The session registry decides which KEEP of a probe holds it, whatever
 * loop thread answers first: the newest KEEP asked for (largest seq) holds,
 * an older one answered later is told it is outdated and changes nothing.
 * What the database must record (up, bind, down) is noted only for the
 * holder, and under the registry's lock, so the notes of several threads
 * replay to the registry's own state; a sessions sync's snapshot is
 * complete or not taken. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "controller/gateway/registry.h"
#include "tests/unit/check.h"

#define PROBES  16
#define THREADS 4
#define ROUNDS  3000
#define LOG_MAX (THREADS * ROUNDS * 4 + 64)

struct note {
	enum gw_reg_change what;
	long               probe_id;
	char               bind[32];
};

/* Appended by the note function alone, which runs under the registry's
 * lock: no lock of its own (a race here is the registry's). */
static struct note notes[LOG_MAX];
static int nnotes;

static void on_note(void *arg, enum gw_reg_change what, long probe_id,
		    const char *from, const char *bind)
{
	(void)arg;
	(void)from;
	if (nnotes >= LOG_MAX)
		return;
	notes[nnotes].what = what;
	notes[nnotes].probe_id = probe_id;
	snprintf(notes[nnotes].bind, sizeof notes[nnotes].bind, "%s",
		 bind ? bind : "");
	nnotes++;
}

static int keep(struct gw_reg *r, long id, uint64_t serial, uint64_t seq,
		struct gw_reg_hold *old)
{
	struct gw_reg_hold h;

	memset(&h, 0, sizeof h);
	h.serial = serial;
	h.seq = seq;
	return gw_reg_keep(r, id, &h, "192.0.2.1", NULL, old);
}

/* One probe, its KEEPs answered out of order on one thread. */
static void in_order(void)
{
	struct gw_reg *r = NULL;
	struct gw_reg_hold old, h;

	CHECK(gw_reg_new(&r) == VT_OK);
	gw_reg_set_note(r, on_note, NULL);
	nnotes = 0;
	CHECK_INT(keep(r, 7, 1, 1, &old), 0);
	CHECK_INT(nnotes, 1);
	CHECK(notes[0].what == GW_REG_UP && notes[0].probe_id == 7);
	/* a newer KEEP (seq 3) replaces it */
	CHECK_INT(keep(r, 7, 2, 3, &old), GW_REG_REPLACED);
	CHECK_INT(old.serial, 1);
	CHECK_INT(nnotes, 2);
	/* an older KEEP (seq 2) answered after it: outdated, nothing noted */
	CHECK_INT(keep(r, 7, 3, 2, &old), GW_REG_OUTDATED);
	CHECK_INT(old.serial, 2);
	CHECK_INT(nnotes, 2);
	CHECK(gw_reg_find(r, 7, &h) == VT_OK && h.serial == 2 && h.seq == 3);
	/* the replaced and the outdated sessions end: no down, no bind */
	gw_reg_bind(r, 7, 1, "10.0.0.1");
	gw_reg_bind(r, 7, 3, "10.0.0.3");
	CHECK_INT(gw_reg_drop(r, 7, 1), 0);
	CHECK_INT(gw_reg_drop(r, 7, 3), 0);
	CHECK_INT(nnotes, 2);
	CHECK(gw_reg_find(r, 7, &h) == VT_OK && h.serial == 2 && !h.has_fwd);
	/* the holder's forward is noted; a cancel is not */
	gw_reg_bind(r, 7, 2, "10.0.0.2");
	CHECK_INT(nnotes, 3);
	CHECK(notes[2].what == GW_REG_BIND && !strcmp(notes[2].bind, "10.0.0.2"));
	gw_reg_bind(r, 7, 2, NULL);
	CHECK_INT(nnotes, 3);
	/* the holder ends: down, once */
	CHECK_INT(gw_reg_drop(r, 7, 2), 1);
	CHECK_INT(nnotes, 4);
	CHECK(notes[3].what == GW_REG_DOWN && notes[3].probe_id == 7);
	CHECK_INT(gw_reg_drop(r, 7, 2), 0);
	CHECK_INT(nnotes, 4);
	CHECK(gw_reg_find(r, 7, &h) == VT_ENOTFOUND);
	gw_reg_free(r);
}

/* A sync's snapshot: complete, or VT_ELIMIT and nothing run. */
static int synced = -1;

static void on_sync(void *arg, int n)
{
	(void)arg;
	synced = n;
}

static void snapshot(void)
{
	struct gw_reg *r = NULL;
	struct gw_reg_hold old;
	struct gw_db_live live[4];

	CHECK(gw_reg_new(&r) == VT_OK);
	for (long i = 1; i <= 5; i++)
		CHECK_INT(keep(r, i, (uint64_t)i, (uint64_t)i, &old), 0);
	CHECK_INT(gw_reg_live(r, live, 4, on_sync, NULL), VT_ELIMIT);
	CHECK_INT(synced, -1);
	CHECK_INT(gw_reg_drop(r, 5, 5), 1);
	CHECK_INT(gw_reg_live(r, live, 4, on_sync, NULL), 4);
	CHECK_INT(synced, 4);
	gw_reg_free(r);
}

/* Several threads: KEEPs of the same probes, each with its place in the
 * order taken from one counter, answered in any order.  Without ends, the
 * newest KEEP asked for must hold each probe; with sessions ending and
 * forwards coming, the notes replayed must give the registry's holders. */
static struct gw_reg *shared;
static uint64_t seq_next, serial_next;
static uint64_t newest[PROBES + 1];   /* largest seq asked for, per probe */
static int with_ends;

static void *racer(void *arg)
{
	unsigned int rnd = (unsigned int)(uintptr_t)arg * 2654435761u;

	for (int i = 0; i < ROUNDS; i++) {
		long id = 1 + (long)(rand_r(&rnd) % PROBES);
		uint64_t serial = __atomic_add_fetch(&serial_next, 1,
						     __ATOMIC_RELAXED);
		uint64_t seq = __atomic_add_fetch(&seq_next, 1, __ATOMIC_RELAXED);
		uint64_t b = __atomic_load_n(&newest[id], __ATOMIC_RELAXED);
		struct gw_reg_hold old;
		int rc;

		while (b < seq &&
		       !__atomic_compare_exchange_n(&newest[id], &b, seq, 0,
						    __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED))
			;
		rc = keep(shared, id, serial, seq, &old);
		if (rc < 0 || (rc == GW_REG_OUTDATED && old.seq < seq))
			return (void *)1;   /* outdated by an older one */
		if (!with_ends || rc == GW_REG_OUTDATED)
			continue;
		if (rand_r(&rnd) % 8 == 0)
			(void)gw_reg_drop(shared, id, serial);
		else if (rand_r(&rnd) % 4 == 0)
			gw_reg_bind(shared, id, serial, "10.0.0.1");
	}
	return NULL;
}

static void threads(int ends)
{
	pthread_t th[THREADS];
	int state[PROBES + 1] = { 0 }, bad = 0;
	void *ret;

	CHECK(gw_reg_new(&shared) == VT_OK);
	gw_reg_set_note(shared, on_note, NULL);
	nnotes = 0;
	with_ends = ends;
	memset(newest, 0, sizeof newest);
	for (long i = 0; i < THREADS; i++)
		CHECK(pthread_create(&th[i], NULL, racer, (void *)(i + 1)) == 0);
	for (int i = 0; i < THREADS; i++) {
		CHECK(pthread_join(th[i], &ret) == 0);
		CHECK(ret == NULL);
	}
	CHECK(nnotes < LOG_MAX);
	for (int i = 0; i < nnotes; i++)
		if (notes[i].what == GW_REG_UP)
			state[notes[i].probe_id] = 1;
		else if (notes[i].what == GW_REG_DOWN)
			state[notes[i].probe_id] = 0;
		else if (!state[notes[i].probe_id])
			bad++;   /* a bind with no holder */
	CHECK_INT(bad, 0);
	for (long id = 1; id <= PROBES; id++) {
		struct gw_reg_hold h;
		int held = gw_reg_find(shared, id, &h) == VT_OK;

		CHECK_INT(held, state[id]);
		if (!ends)
			CHECK(held && h.seq == newest[id]);
	}
	gw_reg_free(shared);
}

int main(void)
{
	in_order();
	snapshot();
	threads(0);
	threads(1);
	return CHECK_DONE();
}
