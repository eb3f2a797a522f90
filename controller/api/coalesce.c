/* coalesce.c - identical reads that arrive together share one statement
 * (controller/api/coalesce.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/api/coalesce.h"

enum { G_WAITING, G_RUNNING, G_DONE };

struct vt_coalesce_ticket {
	struct vt_coalesce_ticket *next;
	struct group *g;
	void (*done)(void *cookie);
	void *cookie;
};

struct group {
	struct group *next;
	char *key;
	size_t keylen;
	int state;
	int refs;                        /* requests holding the group */
	PGresult *res;                   /* the shared result (G_DONE, rc >= 0) */
	int rc;
	char err[512];
	/* run by the group's own threads (vt_coalesce_submit) when set */
	vt_coalesce_run run;
	void *arg;
	void (*arg_free)(void *arg);
	struct vt_coalesce_ticket *tickets;  /* to call once done */
};

struct vt_coalesce {
	pthread_mutex_t mu;
	pthread_cond_t cv;               /* a group changed state */
	pthread_cond_t work;             /* an asynchronous group came */
	struct group *groups;            /* waiting and running ones */
	pthread_t *threads;
	int nthreads, stopping;
};

int vt_coalesce_new(struct vt_coalesce **out)
{
	struct vt_coalesce *c = calloc(1, sizeof *c);

	*out = c;
	if (!c)
		return VT_ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->work, NULL);
	return 0;
}

void vt_coalesce_free(struct vt_coalesce *c)
{
	if (!c)
		return;
	vt_coalesce_stop(c);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	pthread_cond_destroy(&c->work);
	free(c);
}

static struct group *find(struct vt_coalesce *c, const char *key,
			  size_t keylen, int state)
{
	for (struct group *g = c->groups; g; g = g->next)
		if (g->state == state && g->keylen == keylen &&
		    !memcmp(g->key, key, keylen))
			return g;
	return NULL;
}

static void unlink_group(struct vt_coalesce *c, struct group *g)
{
	for (struct group **p = &c->groups; *p; p = &(*p)->next)
		if (*p == g) {
			*p = g->next;
			return;
		}
}

/* Drops a hold on the group (locked); the last one frees it. */
static void release(struct group *g)
{
	if (--g->refs == 0) {
		PQclear(g->res);
		if (g->arg_free)
			g->arg_free(g->arg);
		free(g->key);
		free(g);
	}
}

/* The caller's copy of the group's outcome; drops its hold (locked). */
static int take(struct group *g, PGresult **res, char *errbuf, size_t errlen)
{
	int rc = g->rc;

	*res = NULL;
	if (rc >= 0 && g->refs == 1) {
		*res = g->res;           /* the last holder takes the original */
		g->res = NULL;
	} else if (rc >= 0 && !(*res = PQcopyResult(g->res, PG_COPYRES_ATTRS |
						    PG_COPYRES_TUPLES))) {
		snprintf(errbuf, errlen, "out of memory");
		rc = VT_ENOMEM;
	} else if (rc < 0) {
		snprintf(errbuf, errlen, "%s", g->err);
	}
	release(g);
	return rc;
}

/* The group's statement is back (locked): its waiters wake; returns the
 * tickets to notify once unlocked. */
static struct vt_coalesce_ticket *complete(struct vt_coalesce *c, struct group *g)
{
	struct vt_coalesce_ticket *t = g->tickets;

	g->state = G_DONE;
	g->tickets = NULL;
	unlink_group(c, g);
	pthread_cond_broadcast(&c->cv);
	pthread_cond_broadcast(&c->work);   /* the next of its key may go */
	return t;
}

static void notify(struct vt_coalesce_ticket *t)
{
	while (t) {
		struct vt_coalesce_ticket *next = t->next;

		t->done(t->cookie);              /* t may be collected from here on */
		t = next;
	}
}

int vt_coalesce_do(struct vt_coalesce *c, const char *key, size_t keylen,
		   vt_coalesce_run run, void *arg, PGresult **res,
		   char *errbuf, size_t errlen)
{
	struct vt_coalesce_ticket *tickets;
	struct group *g;
	int rc;

	pthread_mutex_lock(&c->mu);
	if ((g = find(c, key, keylen, G_WAITING))) {
		/* A statement for this read is about to be sent: share it. */
		g->refs++;
		while (g->state != G_DONE)
			pthread_cond_wait(&c->cv, &c->mu);
		rc = take(g, res, errbuf, errlen);
		pthread_mutex_unlock(&c->mu);
		return rc;
	}
	if (!(g = calloc(1, sizeof *g)) || !(g->key = malloc(keylen ? keylen : 1))) {
		pthread_mutex_unlock(&c->mu);
		free(g);
		return run(arg, res, errbuf, errlen);
	}
	memcpy(g->key, key, keylen);
	g->keylen = keylen;
	g->refs = 1;
	g->state = G_WAITING;
	g->next = c->groups;
	c->groups = g;
	/* One sent before this request arrived may be in flight: its answer
	 * may be older than the request, so wait for it and send the next. */
	while (find(c, key, keylen, G_RUNNING))
		pthread_cond_wait(&c->cv, &c->mu);
	g->state = G_RUNNING;
	pthread_mutex_unlock(&c->mu);

	g->rc = run(arg, &g->res, g->err, sizeof g->err);

	pthread_mutex_lock(&c->mu);
	tickets = complete(c, g);
	rc = take(g, res, errbuf, errlen);
	pthread_mutex_unlock(&c->mu);
	notify(tickets);
	return rc;
}

int vt_coalesce_waiting(struct vt_coalesce *c)
{
	int n = 0;

	pthread_mutex_lock(&c->mu);
	for (struct group *g = c->groups; g; g = g->next)
		if (g->state == G_WAITING)
			n += g->refs - (g->run != NULL);  /* not a runner's hold */
	pthread_mutex_unlock(&c->mu);
	return n;
}

/* ---- asynchronous reads ------------------------------------------------ */

/* A waiting asynchronous group whose key has none in flight (locked). */
static struct group *runnable(struct vt_coalesce *c)
{
	for (struct group *g = c->groups; g; g = g->next)
		if (g->state == G_WAITING && g->run &&
		    !find(c, g->key, g->keylen, G_RUNNING))
			return g;
	return NULL;
}

static int async_waiting(struct vt_coalesce *c)
{
	for (struct group *g = c->groups; g; g = g->next)
		if (g->state == G_WAITING && g->run)
			return 1;
	return 0;
}

static void *runner(void *arg)
{
	struct vt_coalesce *c = arg;
	struct vt_coalesce_ticket *tickets;
	struct group *g;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		/* once stopping, what is waiting still runs: every ticket is
		 * notified */
		if (!(g = runnable(c))) {
			if (c->stopping && !async_waiting(c))
				break;
			pthread_cond_wait(&c->work, &c->mu);
			continue;
		}
		g->state = G_RUNNING;
		pthread_mutex_unlock(&c->mu);
		g->rc = g->run(g->arg, &g->res, g->err, sizeof g->err);
		pthread_mutex_lock(&c->mu);
		tickets = complete(c, g);
		release(g);                      /* the runner's own hold */
		pthread_mutex_unlock(&c->mu);
		notify(tickets);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int vt_coalesce_start(struct vt_coalesce *c, int nthreads)
{
	int rc = 0;

	if (nthreads < 1 || c->threads)
		return VT_EINVAL;
	if (!(c->threads = calloc((size_t)nthreads, sizeof *c->threads)))
		return VT_ENOMEM;
	pthread_mutex_lock(&c->mu);
	for (; c->nthreads < nthreads; c->nthreads++)
		if (pthread_create(&c->threads[c->nthreads], NULL, runner, c)) {
			rc = VT_ENOMEM;
			break;
		}
	pthread_mutex_unlock(&c->mu);
	if (rc < 0)
		vt_coalesce_stop(c);
	return rc;
}

void vt_coalesce_stop(struct vt_coalesce *c)
{
	pthread_mutex_lock(&c->mu);
	c->stopping = 1;
	pthread_cond_broadcast(&c->work);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	free(c->threads);
	c->threads = NULL;
	c->nthreads = 0;
}

int vt_coalesce_submit(struct vt_coalesce *c, const char *key, size_t keylen,
		       vt_coalesce_run run, void *arg, void (*arg_free)(void *),
		       void (*accepted)(void *cookie), void (*done)(void *cookie),
		       void *cookie, struct vt_coalesce_ticket **out)
{
	struct vt_coalesce_ticket *t = calloc(1, sizeof *t);
	struct group *g = NULL;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&c->mu);
	if (!t || !c->nthreads || c->stopping) {
		rc = t ? VT_EAGAIN : VT_ENOMEM;
		goto out;
	}
	if (!(g = find(c, key, keylen, G_WAITING))) {
		if (!(g = calloc(1, sizeof *g)) || !(g->key = malloc(keylen ? keylen : 1))) {
			free(g);
			rc = VT_ENOMEM;
			goto out;
		}
		memcpy(g->key, key, keylen);
		g->keylen = keylen;
		g->refs = 1;             /* the runner's */
		g->state = G_WAITING;
		g->run = run;
		g->arg = arg;
		g->arg_free = arg_free;
		arg = NULL;
		g->next = c->groups;
		c->groups = g;
		pthread_cond_signal(&c->work);
	}
	g->refs++;
	t->g = g;
	t->done = done;
	t->cookie = cookie;
	t->next = g->tickets;
	g->tickets = t;
	accepted(cookie);                /* before done can be called */
	*out = t;
	t = NULL;
out:
	pthread_mutex_unlock(&c->mu);
	if (arg && arg_free)
		arg_free(arg);
	free(t);
	return rc;
}

int vt_coalesce_collect(struct vt_coalesce *c, struct vt_coalesce_ticket *t,
			PGresult **res, char *errbuf, size_t errlen)
{
	int rc;

	*res = NULL;
	if (!t)
		return VT_EINVAL;
	pthread_mutex_lock(&c->mu);
	if (t->g->state != G_DONE) {     /* given up before its statement came */
		struct vt_coalesce_ticket **p = &t->g->tickets;

		while (*p && *p != t)
			p = &(*p)->next;
		if (*p)
			*p = t->next;
		release(t->g);           /* never the last: the runner holds it */
		pthread_mutex_unlock(&c->mu);
		free(t);
		snprintf(errbuf, errlen, "the read was given up");
		return VT_EAGAIN;
	}
	rc = take(t->g, res, errbuf, errlen);
	pthread_mutex_unlock(&c->mu);
	free(t);
	return rc;
}
