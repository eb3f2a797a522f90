/* gw_dbq_settle waits for a busy lane without spinning: with a job
 * running and another queued behind it, settling until a deadline sleeps
 * on the lane's idle condition (dbq.c), so the calling thread uses next
 * to no CPU however long it waits.  A deadline given in the wrong unit
 * lies in the past and turns the wait into a busy loop. */
#include <pthread.h>
#include <time.h>

#include "common/vtime.h"
#include "controller/gateway/dbq.h"
#include "controller/gateway/inbox.h"
#include "tests/unit/check.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int released, running;

/* Holds the lane's one worker until released. */
static int block(struct gw_job *j, struct gw_db *db)
{
	(void)j;
	(void)db;
	pthread_mutex_lock(&mu);
	running = 1;
	pthread_cond_broadcast(&cv);
	while (!released)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return 0;
}

static int nothing(struct gw_job *j, struct gw_db *db)
{
	(void)j;
	(void)db;
	return 0;
}

static int done_n;

static void done(struct gw_job *j)
{
	(void)j;
	done_n++;
}

static int64_t thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(void)
{
	struct gw_job a = { .run = block, .done = done };
	struct gw_job b = { .run = nothing, .done = done };
	struct vt_loop *loop = NULL;
	struct gw_inbox *in = NULL;
	struct gw_dbq *q = NULL;
	int64_t cpu, wall;

	CHECK(vt_loop_new(&loop) == 0);
	CHECK(gw_inbox_new(loop, &in) == 0);
	/* no job here touches the database: nothing connects */
	CHECK(gw_dbq_new("host=/nonexistent", 0, in, &q) == 0);
	if (!q)
		return CHECK_DONE();
	gw_dbq_submit(q, GW_LANE_CTRL, &a);
	pthread_mutex_lock(&mu);
	while (!running)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	gw_dbq_submit(q, GW_LANE_CTRL, &b);   /* queued behind a */

	wall = vt_mono_us();
	cpu = thread_cpu_us();
	CHECK_INT(gw_dbq_settle(q, vt_mono_ms() + 1000), VT_ETIMEOUT);
	cpu = thread_cpu_us() - cpu;
	wall = vt_mono_us() - wall;
	printf("# settle waited %lld ms of wall time, %lld us of CPU\n",
	       (long long)(wall / 1000), (long long)cpu);
	CHECK(wall >= 900000);
	/* A sleeping wait costs well under a millisecond; a busy loop costs
	 * its thread's share of the second (on a loaded machine less, so a
	 * slow machine can only make this pass, never fail). */
	CHECK(cpu < 20000);

	pthread_mutex_lock(&mu);
	released = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	CHECK_INT(gw_dbq_settle(q, vt_mono_ms() + 60000), VT_OK);
	gw_dbq_free(q);
	gw_inbox_free(in);
	CHECK_INT(done_n, 2);
	vt_loop_free(loop);
	return CHECK_DONE();
}
