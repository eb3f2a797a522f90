/* registry.c - the session registry (see registry.h): KEEP holders in a
 * chained hash on the probe id (grown at load 1), per-probe connection
 * counts in a gw_pcount, both under one mutex. */
#include "controller/gateway/registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/gateway/pcount.h"

struct ent {
	struct ent        *next;
	long               probe_id;
	struct gw_reg_hold h;
	int                drained;   /* sent away by a drain */
	char               from[64];
	char               bind[256];
};

struct gw_reg {
	pthread_mutex_t   mu;
	struct ent      **b;
	size_t            nb;      /* power of two */
	int               n;
	struct gw_pcount *auth;
	gw_reg_note_fn    note;
	void             *note_arg;
};

/* Tells the note function; the caller holds the lock. */
static void note(struct gw_reg *r, enum gw_reg_change what, long probe_id,
		 const char *from, const char *bind)
{
	if (r->note)
		r->note(r->note_arg, what, probe_id, from, bind);
}

void gw_reg_set_note(struct gw_reg *r, gw_reg_note_fn fn, void *arg)
{
	pthread_mutex_lock(&r->mu);
	r->note = fn;
	r->note_arg = arg;
	pthread_mutex_unlock(&r->mu);
}

static size_t bucket(const struct gw_reg *r, long id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (r->nb - 1);
}

int gw_reg_new(struct gw_reg **out)
{
	struct gw_reg *r = calloc(1, sizeof *r);

	*out = NULL;
	if (!r)
		return VT_ENOMEM;
	r->nb = 1024;
	if (!(r->b = calloc(r->nb, sizeof *r->b)) || gw_pcount_new(&r->auth) < 0) {
		free(r->b);
		free(r);
		return VT_ENOMEM;
	}
	pthread_mutex_init(&r->mu, NULL);
	*out = r;
	return VT_OK;
}

void gw_reg_free(struct gw_reg *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nb; i++)
		while (r->b[i]) {
			struct ent *e = r->b[i];

			r->b[i] = e->next;
			free(e);
		}
	free(r->b);
	gw_pcount_free(r->auth);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

int gw_reg_auth_inc(struct gw_reg *r, long probe_id, int max, int *held)
{
	int rc;

	pthread_mutex_lock(&r->mu);
	*held = gw_pcount_get(r->auth, probe_id);
	rc = *held >= max ? VT_ELIMIT : gw_pcount_inc(r->auth, probe_id);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void gw_reg_auth_dec(struct gw_reg *r, long probe_id)
{
	pthread_mutex_lock(&r->mu);
	gw_pcount_dec(r->auth, probe_id);
	pthread_mutex_unlock(&r->mu);
}

/* The entry of probe_id or NULL; the caller holds the lock. */
static struct ent *lookup(const struct gw_reg *r, long probe_id)
{
	struct ent *e = r->b[bucket(r, probe_id)];

	while (e && e->probe_id != probe_id)
		e = e->next;
	return e;
}

/* Doubles the buckets (kept as they are when out of memory). */
static void grow(struct gw_reg *r)
{
	size_t onb = r->nb;
	struct ent **ob = r->b, **nbk = calloc(onb * 2, sizeof *nbk);

	if (!nbk)
		return;
	r->b = nbk;
	r->nb = onb * 2;
	for (size_t i = 0; i < onb; i++)
		while (ob[i]) {
			struct ent *e = ob[i];
			size_t k = bucket(r, e->probe_id);

			ob[i] = e->next;
			e->next = r->b[k];
			r->b[k] = e;
		}
	free(ob);
}

int gw_reg_keep(struct gw_reg *r, long probe_id, const struct gw_reg_hold *h,
		const char *from, const char *bind, struct gw_reg_hold *old)
{
	struct ent *e;
	int rc = 0;

	pthread_mutex_lock(&r->mu);
	if ((e = lookup(r, probe_id))) {
		*old = e->h;
		if (e->h.serial != h->serial && e->h.seq > h->seq) {
			/* A newer KEEP, answered first on another thread. */
			pthread_mutex_unlock(&r->mu);
			return GW_REG_OUTDATED;
		}
		rc = e->h.serial != h->serial ? GW_REG_REPLACED : 0;
	} else {
		if ((size_t)r->n >= r->nb)
			grow(r);
		if (!(e = calloc(1, sizeof *e))) {
			pthread_mutex_unlock(&r->mu);
			return VT_ENOMEM;
		}
		e->probe_id = probe_id;
		e->next = r->b[bucket(r, probe_id)];
		r->b[bucket(r, probe_id)] = e;
		r->n++;
	}
	if (e->h.serial != h->serial)
		e->drained = 0;
	e->h = *h;
	e->h.has_fwd = bind != NULL;
	snprintf(e->from, sizeof e->from, "%s", from ? from : "");
	snprintf(e->bind, sizeof e->bind, "%s", bind ? bind : "");
	note(r, GW_REG_UP, probe_id, from, bind);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void gw_reg_bind(struct gw_reg *r, long probe_id, uint64_t serial,
		 const char *bind)
{
	struct ent *e;

	pthread_mutex_lock(&r->mu);
	if ((e = lookup(r, probe_id)) && e->h.serial == serial) {
		e->h.has_fwd = bind != NULL;
		snprintf(e->bind, sizeof e->bind, "%s", bind ? bind : "");
		if (bind)
			note(r, GW_REG_BIND, probe_id, NULL, bind);
	}
	pthread_mutex_unlock(&r->mu);
}

int gw_reg_drop(struct gw_reg *r, long probe_id, uint64_t serial)
{
	struct ent **pp;
	int dropped = 0;

	pthread_mutex_lock(&r->mu);
	for (pp = &r->b[bucket(r, probe_id)]; *pp; pp = &(*pp)->next)
		if ((*pp)->probe_id == probe_id) {
			struct ent *e = *pp;

			if (e->h.serial == serial) {
				*pp = e->next;
				free(e);
				r->n--;
				dropped = 1;
				note(r, GW_REG_DOWN, probe_id, NULL, NULL);
			}
			break;
		}
	pthread_mutex_unlock(&r->mu);
	return dropped;
}

int gw_reg_find(struct gw_reg *r, long probe_id, struct gw_reg_hold *out)
{
	struct ent *e;
	int rc = VT_ENOTFOUND;

	pthread_mutex_lock(&r->mu);
	if ((e = lookup(r, probe_id))) {
		*out = e->h;
		rc = VT_OK;
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

int gw_reg_count(struct gw_reg *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

int gw_reg_live(struct gw_reg *r, struct gw_db_live *out, int max,
		void (*then)(void *arg, int n), void *arg)
{
	int n = 0;

	pthread_mutex_lock(&r->mu);
	if (then && r->n > max) {
		pthread_mutex_unlock(&r->mu);
		return VT_ELIMIT;
	}
	for (size_t i = 0; i < r->nb && n < max; i++)
		for (struct ent *e = r->b[i]; e && n < max; e = e->next) {
			out[n].probe_id = e->probe_id;
			memcpy(out[n].from, e->from, sizeof out[n].from);
			memcpy(out[n].bind, e->bind, sizeof out[n].bind);
			n++;
		}
	if (then)
		then(arg, n);
	pthread_mutex_unlock(&r->mu);
	return n;
}

int gw_reg_sids(struct gw_reg *r, long *ids,
		char (*sids)[VT_SESSION_ID_MAX + 1], int max)
{
	int n = 0;

	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->nb && n < max; i++)
		for (struct ent *e = r->b[i]; e && n < max; e = e->next) {
			ids[n] = e->probe_id;
			memcpy(sids[n], e->h.sid, sizeof sids[n]);
			n++;
		}
	pthread_mutex_unlock(&r->mu);
	return n;
}

int gw_reg_drain_pick(struct gw_reg *r, long *probe_id,
		      struct gw_reg_hold *out)
{
	int rc = VT_ENOTFOUND;

	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->nb && rc < 0; i++)
		for (struct ent *e = r->b[i]; e; e = e->next)
			if (!e->drained) {
				e->drained = 1;
				*probe_id = e->probe_id;
				*out = e->h;
				rc = VT_OK;
				break;
			}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

void gw_reg_drain_clear(struct gw_reg *r)
{
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->nb; i++)
		for (struct ent *e = r->b[i]; e; e = e->next)
			e->drained = 0;
	pthread_mutex_unlock(&r->mu);
}
