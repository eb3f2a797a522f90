/* test_coalesce.c - identical reads arriving together share a statement:
 * reads one after another each run theirs; reads arriving while one is in
 * flight never get its answer (it was sent before they arrived) but share
 * the next one; other keys are not held up; failures reach every sharer.
 * The asynchronous form (vt_coalesce_submit): a caller does not wait; the
 * reads submitted while one is in flight share the next statement, run by
 * the runner threads, each told once (done) and collecting its own copy;
 * a read given up before its statement is back leaves the others whole;
 * stopping runs what waits and then refuses (the caller runs it itself). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/api/coalesce.h"
#include "tests/unit/check.h"

#define WAITERS 6

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int runs, running, hold, fail;

/* A statement: its answer is its run number; it blocks while hold is set. */
static int run(void *arg, PGresult **res, char *err, size_t errlen)
{
	static char name[] = "n";
	PGresAttDesc att = { .name = name, .typid = 23, .typlen = 4, .atttypmod = -1 };
	char v[16];
	int n;

	(void)arg;
	pthread_mutex_lock(&mu);
	n = ++runs;
	running++;
	pthread_cond_broadcast(&cv);
	while (hold)
		pthread_cond_wait(&cv, &mu);
	running--;
	pthread_mutex_unlock(&mu);
	if (fail) {
		snprintf(err, errlen, "statement %d failed", n);
		*res = NULL;
		return VT_EDB;
	}
	*res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	snprintf(v, sizeof v, "%d", n);
	if (!*res || !PQsetResultAttrs(*res, 1, &att) ||
	    !PQsetvalue(*res, 0, 0, v, (int)strlen(v)))
		abort();
	return 0;
}

struct reader {
	struct vt_coalesce *c;
	const char *key;
	pthread_t t;
	int rc, got;
	char err[128];
};

static void *read_thread(void *arg)
{
	struct reader *r = arg;
	PGresult *res = NULL;

	r->rc = vt_coalesce_do(r->c, r->key, strlen(r->key), run, NULL, &res,
			       r->err, sizeof r->err);
	r->got = res ? atoi(PQgetvalue(res, 0, 0)) : -1;
	PQclear(res);
	return NULL;
}

static void set_hold(int h)
{
	pthread_mutex_lock(&mu);
	hold = h;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void wait_running(int n)
{
	pthread_mutex_lock(&mu);
	while (running < n)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static void wait_waiting(struct vt_coalesce *c, int n)
{
	while (vt_coalesce_waiting(c) < n)
		sched_yield();
}

/* A read of "k" held in flight, and WAITERS more gathered behind it. */
static void in_flight(struct vt_coalesce *c, struct reader *first,
		      struct reader *w)
{
	set_hold(1);
	*first = (struct reader){ .c = c, .key = "k" };
	pthread_create(&first->t, NULL, read_thread, first);
	wait_running(1);
	for (int i = 0; i < WAITERS; i++) {
		w[i] = (struct reader){ .c = c, .key = "k" };
		pthread_create(&w[i].t, NULL, read_thread, &w[i]);
	}
	wait_waiting(c, WAITERS);
}

/* ---- the asynchronous form ---- */

struct ticketed {
	struct vt_coalesce_ticket *t;
	int accepted, done;
};

static int arg_frees;

static void on_accepted(void *cookie)
{
	((struct ticketed *)cookie)->accepted = 1;
}

static void on_done(void *cookie)
{
	pthread_mutex_lock(&mu);
	((struct ticketed *)cookie)->done++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void free_arg(void *arg)
{
	pthread_mutex_lock(&mu);
	arg_frees++;
	pthread_mutex_unlock(&mu);
	free(arg);
}

static int submit(struct vt_coalesce *c, const char *key, struct ticketed *tk)
{
	*tk = (struct ticketed){ 0 };
	return vt_coalesce_submit(c, key, strlen(key), run, malloc(1), free_arg,
				  on_accepted, on_done, tk, &tk->t);
}

static void wait_done(struct ticketed *tk)
{
	pthread_mutex_lock(&mu);
	while (!tk->done)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static int collect(struct vt_coalesce *c, struct ticketed *tk)
{
	char err[128];
	PGresult *res = NULL;
	int got;

	if (vt_coalesce_collect(c, tk->t, &res, err, sizeof err) < 0)
		return -1;
	got = res ? atoi(PQgetvalue(res, 0, 0)) : -1;
	PQclear(res);
	return got;
}

static void async_checks(void)
{
	struct vt_coalesce *c;
	struct ticketed first, w[WAITERS], gone;
	PGresult *res = NULL;
	char err[128];
	int base;

	CHECK_INT(vt_coalesce_new(&c), 0);
	CHECK_INT(submit(c, "k", &first), VT_EAGAIN);   /* no runner threads */
	CHECK_INT(arg_frees, 1);
	CHECK_INT(vt_coalesce_start(c, 2), 0);
	pthread_mutex_lock(&mu);
	fail = 0;
	base = runs;
	pthread_mutex_unlock(&mu);

	/* Held in flight: the ones submitted meanwhile share the next one. */
	set_hold(1);
	CHECK_INT(submit(c, "k", &first), 0);
	CHECK(first.accepted);
	wait_running(1);
	for (int i = 0; i < WAITERS; i++)
		CHECK_INT(submit(c, "k", &w[i]), 0);
	CHECK_INT(submit(c, "k", &gone), 0);
	CHECK_INT(vt_coalesce_collect(c, gone.t, &res, err, sizeof err), VT_EAGAIN);
	CHECK(res == NULL);
	CHECK_INT(vt_coalesce_waiting(c), WAITERS);
	set_hold(0);
	wait_done(&first);
	CHECK_INT(collect(c, &first), base + 1);
	for (int i = 0; i < WAITERS; i++) {
		wait_done(&w[i]);
		CHECK_INT(w[i].done, 1);
		CHECK_INT(collect(c, &w[i]), base + 2);
	}
	CHECK_INT(gone.done, 0);
	CHECK_INT(runs, base + 2);

	/* Stopping runs what waits, then refuses. */
	set_hold(1);
	CHECK_INT(submit(c, "s", &first), 0);
	wait_running(1);
	CHECK_INT(submit(c, "s", &w[0]), 0);
	set_hold(0);
	vt_coalesce_stop(c);
	CHECK_INT(first.done + w[0].done, 2);
	CHECK_INT(collect(c, &first), base + 3);
	CHECK_INT(collect(c, &w[0]), base + 4);
	CHECK_INT(submit(c, "s", &first), VT_EAGAIN);
	vt_coalesce_free(c);
	CHECK_INT(arg_frees, 12);        /* each submitted arg once */
}

int main(void)
{
	struct vt_coalesce *c;
	struct reader first = { 0 }, other = { 0 }, w[WAITERS];
	char err[128];
	PGresult *res;

	CHECK_INT(vt_coalesce_new(&c), 0);

	/* One after another: a statement each. */
	for (int i = 1; i <= 2; i++) {
		res = NULL;
		CHECK_INT(vt_coalesce_do(c, "k", 1, run, NULL, &res, err, sizeof err), 0);
		CHECK(res && atoi(PQgetvalue(res, 0, 0)) == i);
		PQclear(res);
	}

	/* While statement 3 is in flight, WAITERS readers arrive: none gets
	 * its answer; they share statement 4.  Another key is not held up. */
	in_flight(c, &first, w);
	other = (struct reader){ .c = c, .key = "other" };
	pthread_create(&other.t, NULL, read_thread, &other);
	wait_running(2);                 /* runs beside statement 3 */
	set_hold(0);
	pthread_join(first.t, NULL);
	pthread_join(other.t, NULL);
	CHECK_INT(first.rc, 0);
	CHECK_INT(first.got, 3);
	CHECK_INT(other.got, 4);
	for (int i = 0; i < WAITERS; i++) {
		pthread_join(w[i].t, NULL);
		CHECK_INT(w[i].rc, 0);
		CHECK_INT(w[i].got, 5);
	}
	CHECK_INT(runs, 5);
	CHECK_INT(vt_coalesce_waiting(c), 0);

	/* A failure reaches every reader that shared the statement. */
	in_flight(c, &first, w);
	fail = 1;
	set_hold(0);
	pthread_join(first.t, NULL);
	CHECK_INT(first.rc, VT_EDB);
	for (int i = 0; i < WAITERS; i++) {
		pthread_join(w[i].t, NULL);
		CHECK_INT(w[i].rc, VT_EDB);
		CHECK_STR(w[i].err, "statement 7 failed");
		CHECK_INT(w[i].got, -1);
	}
	CHECK_INT(runs, 7);

	vt_coalesce_free(c);
	async_checks();
	return CHECK_DONE();
}
