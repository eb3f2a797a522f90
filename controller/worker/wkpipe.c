/* wkpipe.c - one worker with two batches in flight (wkpipe.h). */
#include "controller/worker/wkpipe.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/vtime.h"

/* The store thread's state is owned by p->mu: job (the batch handed to
 * the thread or done by it), state (what the thread is at), turned (the
 * batch's store holds its turn, or failed to take it). */
enum { IDLE, STORING, DONE, QUIT };

struct wk_pipe {
	const struct vt_worker_opts *o;
	int threaded, started;
	pthread_t t;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state, turned;
	struct vt_worker_job *job;      /* in flight (the thread's) */
	struct vt_worker_job *claimed;  /* claimed, not yet handed over */
};

static void *store_main(void *arg)
{
	struct wk_pipe *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->state != STORING && p->state != QUIT)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->state == QUIT)
			break;
		pthread_mutex_unlock(&p->mu);
		/* the job and its connection are this thread's until DONE */
		vt_worker_store_turn(p->job, p->o);
		pthread_mutex_lock(&p->mu);
		p->turned = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		vt_worker_store(p->job, p->o);
		pthread_mutex_lock(&p->mu);
		p->state = DONE;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int wk_pipe_new(const struct vt_worker_opts *o, int threaded,
		struct wk_pipe **out)
{
	struct wk_pipe *p = calloc(1, sizeof *p);

	*out = NULL;
	if (!p)
		return VT_ENOMEM;
	p->o = o;
	p->threaded = threaded;
	p->state = IDLE;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (threaded) {
		sigset_t all, old;
		int e;

		/* The signals go to the main thread: its waits (vt_sigpoll)
		 * end only on a signal delivered to it, and a SIGTERM taken
		 * by the store thread would leave a worker waiting for a
		 * NOTIFY until --poll-ms. */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		e = pthread_create(&p->t, NULL, store_main, p);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (e) {
			wk_pipe_free(p);
			return VT_ENOMEM;
		}
		p->started = 1;
	}
	*out = p;
	return VT_OK;
}

int wk_pipe_busy(const struct wk_pipe *p)
{
	return p->job != NULL;
}

/* Waits for the batch in flight and hands it back (NULL: none); the time
 * waited goes to *st. */
static struct vt_worker_job *wait_job(struct wk_pipe *p,
				      struct vt_worker_stats *st)
{
	struct vt_worker_job *j = p->job;
	int64_t t0 = vt_mono_us();

	if (!j)
		return NULL;
	pthread_mutex_lock(&p->mu);
	while (p->state != DONE)
		pthread_cond_wait(&p->cv, &p->mu);
	p->state = IDLE;
	pthread_mutex_unlock(&p->mu);
	p->job = NULL;
	st->ns_pipe_wait += (vt_mono_us() - t0) * 1000;
	return j;
}

/* Waits until the batch in flight holds its store's turn or has ended
 * (returns 1 then); the time waited goes to *st. */
static int wait_turned(struct wk_pipe *p, struct vt_worker_stats *st)
{
	int64_t t0 = vt_mono_us();
	int ended;

	pthread_mutex_lock(&p->mu);
	while (!p->turned && p->state != DONE)
		pthread_cond_wait(&p->cv, &p->mu);
	ended = p->state == DONE;
	pthread_mutex_unlock(&p->mu);
	st->ns_pipe_wait += (vt_mono_us() - t0) * 1000;
	return ended;
}

int wk_pipe_step(struct wk_pipe *p, PGconn *const db[2],
		 struct vt_worker_cursor *cur, struct vt_worker_stats *st,
		 int *rows, int *shortc, char *errbuf, size_t errlen)
{
	PGconn *c = db[0];
	struct vt_worker_job *j = NULL, *prev;
	char perr[1024];
	int r, pr = VT_OK, serial = 0, ended = 1;

	*rows = *shortc = 0;
	if (p->claimed) {       /* not handed over: back to the queue */
		vt_worker_abort(p->claimed, cur, st);
		p->claimed = NULL;
	}
	if (p->job) {
		/* The second batch in flight, on the other connection, only
		 * on a spare turn (migration 033), asked for once the store
		 * holds its own: a worker waiting for a turn goes first, and
		 * this one claims after its store instead, as without the
		 * pipeline.  So a pipelined worker never stands in line for
		 * two turns at once, ahead of the other workers' batches. */
		if (vt_worker_job_db(p->job) == db[0])
			c = db[1];
		ended = wait_turned(p, st);
	}
	/* (a store that has ended already leaves no batch in flight) */
	r = vt_worker_claim(c, p->o, cur, !ended, st, &j, errbuf, errlen);
	if (r == VT_EAGAIN) {
		serial = 1;
		r = VT_OK;
	}
	if ((prev = wait_job(p, st))) {
		if (j && !ended)
			st->overlapped++;
		pr = vt_worker_finish(prev, cur, st, perr, sizeof perr);
	}
	if (pr < 0) {
		/* the failure came first: report it, and the batch claimed
		 * since goes back to the queue with it */
		if (j)
			vt_worker_abort(j, cur, st);
		snprintf(errbuf, errlen, "%s", perr);
		return pr;
	}
	if (serial) {
		st->serial++;
		r = vt_worker_claim(c, p->o, cur, 0, st, &j, errbuf, errlen);
	}
	if (r < 0 || !j)
		return r;
	*rows = vt_worker_job_rows(j);
	*shortc = vt_worker_job_short(j);
	p->claimed = j;
	return VT_OK;
}

int wk_pipe_go(struct wk_pipe *p, struct vt_worker_cursor *cur,
	       struct vt_worker_stats *st, char *errbuf, size_t errlen)
{
	struct vt_worker_job *j = p->claimed;

	if (!j)
		return VT_OK;
	p->claimed = NULL;
	if (!p->threaded) {
		vt_worker_store(j, p->o);
		return vt_worker_finish(j, cur, st, errbuf, errlen);
	}
	p->job = j;
	pthread_mutex_lock(&p->mu);
	p->state = STORING;
	p->turned = 0;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return VT_OK;
}

int wk_pipe_drain(struct wk_pipe *p, struct vt_worker_cursor *cur,
		  struct vt_worker_stats *st, char *errbuf, size_t errlen)
{
	struct vt_worker_job *j;

	if (p->claimed) {
		vt_worker_abort(p->claimed, cur, st);
		p->claimed = NULL;
	}
	if (!(j = wait_job(p, st)))
		return VT_OK;
	return vt_worker_finish(j, cur, st, errbuf, errlen);
}

void wk_pipe_free(struct wk_pipe *p)
{
	struct vt_worker_stats st = { 0 };
	struct vt_worker_cursor cur = { 0 };
	char err[1024];

	if (!p)
		return;
	if (wk_pipe_drain(p, &cur, &st, err, sizeof err) < 0)
		err[0] = '\0';     /* the caller drained first if it cared */
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->state = QUIT;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->t, NULL);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
