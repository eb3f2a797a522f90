/* coalesce.c - identical reads that arrive together share one statement
 * (controller/api/coalesce.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/api/coalesce.h"

enum { G_WAITING, G_RUNNING, G_DONE };

struct group {
	struct group *next;
	char *key;
	size_t keylen;
	int state;
	int refs;                        /* requests holding the group */
	PGresult *res;                   /* the shared result (G_DONE, rc >= 0) */
	int rc;
	char err[512];
};

struct vt_coalesce {
	pthread_mutex_t mu;
	pthread_cond_t cv;               /* a group changed state */
	struct group *groups;            /* waiting and running ones */
};

int vt_coalesce_new(struct vt_coalesce **out)
{
	struct vt_coalesce *c = calloc(1, sizeof *c);

	*out = c;
	if (!c)
		return VT_ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	return 0;
}

void vt_coalesce_free(struct vt_coalesce *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
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
	if (--g->refs == 0) {
		PQclear(g->res);
		free(g->key);
		free(g);
	}
	return rc;
}

int vt_coalesce_do(struct vt_coalesce *c, const char *key, size_t keylen,
		   vt_coalesce_run run, void *arg, PGresult **res,
		   char *errbuf, size_t errlen)
{
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
	g->state = G_DONE;
	unlink_group(c, g);
	pthread_cond_broadcast(&c->cv);
	rc = take(g, res, errbuf, errlen);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int vt_coalesce_waiting(struct vt_coalesce *c)
{
	int n = 0;

	pthread_mutex_lock(&c->mu);
	for (struct group *g = c->groups; g; g = g->next)
		if (g->state == G_WAITING)
			n += g->refs;
	pthread_mutex_unlock(&c->mu);
	return n;
}
