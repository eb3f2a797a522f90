/* auth.c - probe key authentication (see auth.h). */
#include "controller/gateway/auth.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/log.h"
#include "common/vtime.h"
#include "controller/gateway/jobs.h"

#define AUTH_LOOKUPS_PER_S  20     /* cache-miss lookups started per second */
#define AUTH_LOOKUPS_QUEUED 4      /* ... and waiting at most */
#define KEY_RELOAD_MIN_MS   5000   /* whole reloads asked for at most this often */
#define KEY_UNKNOWN_MS      10000  /* an unknown key is not looked up again */

struct gw_auth {
	pthread_mutex_t   mu;
	struct gw_keys   *keys;
	struct gw_dbq    *q;
	struct gw_listen *listen;
	const char       *name;
	int64_t           window;     /* second of the lookups counted (mono ms) */
	int               lookups;    /* cache-miss lookups started in it */
	int64_t           next_reload;
};

int gw_auth_new(struct gw_dbq *q, const char *name, struct gw_keys *keys,
		struct gw_auth **out)
{
	struct gw_auth *a = calloc(1, sizeof *a);

	*out = NULL;
	if (!a || (!keys && gw_keys_new(&keys) < 0)) {
		free(a);
		gw_keys_free(keys);
		return VT_ENOMEM;
	}
	pthread_mutex_init(&a->mu, NULL);
	a->keys = keys;
	a->q = q;
	a->name = name;
	*out = a;
	return VT_OK;
}

void gw_auth_free(struct gw_auth *a)
{
	if (!a)
		return;
	gw_keys_free(a->keys);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

void gw_auth_set_listen(struct gw_auth *a, struct gw_listen *l)
{
	pthread_mutex_lock(&a->mu);
	a->listen = l;
	pthread_mutex_unlock(&a->mu);
}

void gw_auth_adopt(struct gw_auth *a, struct gw_keys *fresh, int hup)
{
	struct gw_keys *old;
	size_t was, now = gw_keys_count(fresh);

	pthread_mutex_lock(&a->mu);
	old = a->keys;
	/* What lookups answered since fresh's load began is newer than it
	 * (keys.h): a probe added meanwhile stays admitted. */
	gw_keys_carry(fresh, old);
	a->keys = fresh;
	pthread_mutex_unlock(&a->mu);
	was = gw_keys_count(old);
	gw_keys_free(old);
	if (now != was || hup)
		vt_info("key cache: %zu probes (was %zu)%s", now, was,
			hup ? ", reloaded on SIGHUP" : "");
	else
		vt_debug("key cache: %zu probes", now);
}

void gw_auth_learned(struct gw_auth *a, const char *b64, int rc,
		     long probe_id)
{
	int64_t now = vt_mono_ms();

	pthread_mutex_lock(&a->mu);
	if (rc == 0) {
		if (gw_keys_learn(a->keys, b64, probe_id, now) < 0)
			vt_warn("key cache: out of memory");
	} else if (rc == VT_ENOTFOUND) {
		gw_keys_put_unknown(a->keys, b64, now + KEY_UNKNOWN_MS, now);
	}
	pthread_mutex_unlock(&a->mu);
}

static void key_done(struct gw_job *j)
{
	struct gw_req *r = gw_req_of(j);

	if (j->rc < 0 && j->rc != VT_ENOTFOUND)
		vt_warn("key lookup: %s", j->err);
	gw_auth_learned(r->owner, r->text, j->rc, r->probe_id);
	gw_req_free(r);
}

int gw_auth_key(struct gw_auth *a, const char *b64, long *probe_id)
{
	int64_t now = vt_mono_ms();
	struct gw_listen *reload = NULL;
	struct gw_req *r = NULL;
	int rc;

	pthread_mutex_lock(&a->mu);
	rc = gw_keys_get(a->keys, b64, now, probe_id);
	if (rc != VT_ENOTFOUND)
		goto out;
	/* A key added since the last load, or a stranger: denied now, and
	 * looked up in the background (key_done puts the answer in the cache
	 * for the next attempt), at a bounded rate so that a stream of
	 * strangers cannot keep the database busy. */
	rc = VT_EAGAIN;
	if (now >= a->window + 1000) {
		a->window = now;
		a->lookups = 0;
	}
	if (a->lookups >= AUTH_LOOKUPS_PER_S ||
	    gw_dbq_pending(a->q, GW_LANE_AUTH) >= AUTH_LOOKUPS_QUEUED) {
		/* More misses than lookups: many keys were added at once, or
		 * strangers knock; a whole reload answers the former. */
		if (now >= a->next_reload) {
			a->next_reload = now + KEY_RELOAD_MIN_MS;
			reload = a->listen;
		}
		goto out;
	}
	if (!(r = gw_req_new(GW_REQ_KEY, a->name, b64, key_done))) {
		rc = VT_ENOMEM;
		goto out;
	}
	r->owner = a;
	a->lookups++;
out:
	pthread_mutex_unlock(&a->mu);
	if (reload)
		gw_listen_reload(reload);
	if (r)
		gw_req_submit(a->q, r);
	return rc;
}
