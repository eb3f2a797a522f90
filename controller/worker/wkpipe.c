/* wkpipe.c - one worker with two batches in flight (wkpipe.h). */
#include "controller/worker/wkpipe.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/vtime.h"

/* The store thread's state is owned by p->mu: job (the batch handed to
 * the thread or done by it), state (what the thread is at). */
enum { IDLE, STORING, DONE, QUIT };

struct wk_pipe {
	const struct vt_worker_opts *o;
	int threaded, started;
	pthread_t t;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;
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

int wk_pipe_step(struct wk_pipe *p, PGconn *const db[2],
		 struct vt_worker_cursor *cur, struct vt_worker_stats *st,
		 int *rows, int *shortc, char *errbuf, size_t errlen)
{
	PGconn *c = db[0];
	struct vt_worker_job *j = NULL, *prev;
	char perr[1024];
	int r, pr = VT_OK;

	*rows = *shortc = 0;
	if (p->claimed) {       /* not handed over: back to the queue */
		vt_worker_abort(p->claimed, cur, st);
		p->claimed = NULL;
	}
	if (p->job && vt_worker_job_db(p->job) == db[0])
		c = db[1];
	/* while the batch in flight is stored on the other connection */
	r = vt_worker_claim(c, p->o, cur, st, &j, errbuf, errlen);
	if ((prev = wait_job(p, st))) {
		if (j)
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
