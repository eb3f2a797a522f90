/* keys.c - the probe key cache (see keys.h): open addressing with linear
 * probing over FNV-1a hashes, grown at 50 % load, never shrunk. */
#include "controller/gateway/keys.h"

#include <stdlib.h>
#include <string.h>

#include "common/vtime.h"

struct entry {
	char     *key;       /* NULL: free slot */
	uint32_t  hash;
	long      id;        /* < 0: unknown */
	int64_t   expires;   /* unknown entries: mono ms */
	int64_t   learned;   /* mono ms a lookup answered it; 0: loaded */
};

struct gw_keys {
	struct entry *e;
	size_t        cap;   /* power of two */
	size_t        used;
	size_t        nkeys;
	size_t        nneg;
	int64_t       made;  /* mono ms: a load knows the keys of then */
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

int gw_keys_new(struct gw_keys **out)
{
	struct gw_keys *k = calloc(1, sizeof *k);

	*out = NULL;
	if (!k || !(k->e = calloc(64, sizeof *k->e))) {
		free(k);
		return VT_ENOMEM;
	}
	k->cap = 64;
	k->made = vt_mono_ms();
	*out = k;
	return VT_OK;
}

void gw_keys_free(struct gw_keys *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->cap; i++)
		free(k->e[i].key);
	free(k->e);
	free(k);
}

static struct entry *slot(const struct gw_keys *k, const char *b64, uint32_t h)
{
	size_t i = h & (k->cap - 1);

	while (k->e[i].key && (k->e[i].hash != h || strcmp(k->e[i].key, b64)))
		i = (i + 1) & (k->cap - 1);
	return &k->e[i];
}

static int grow(struct gw_keys *k)
{
	struct entry *old = k->e, *ne;
	size_t ocap = k->cap, cap = k->cap * 2;

	if (!(ne = calloc(cap, sizeof *ne)))
		return VT_ENOMEM;
	k->e = ne;
	k->cap = cap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key)
			*slot(k, old[i].key, old[i].hash) = old[i];
	free(old);
	return VT_OK;
}

/* The entry of b64, made when missing. */
static int find_or_add(struct gw_keys *k, const char *b64, struct entry **out)
{
	uint32_t h = hash(b64);
	struct entry *e;
	int rc;

	if (strlen(b64) > GW_KEYS_KEY_MAX)
		return VT_ETOOBIG;
	if ((k->used + 1) * 2 > k->cap && (rc = grow(k)) < 0)
		return rc;
	e = slot(k, b64, h);
	if (!e->key) {
		if (!(e->key = strdup(b64)))
			return VT_ENOMEM;
		e->hash = h;
		e->id = -1;
		e->expires = 0;
		e->learned = 0;
		k->used++;
		k->nneg++;   /* counted as unknown until set */
	}
	*out = e;
	return VT_OK;
}

int gw_keys_put(struct gw_keys *k, const char *b64, long probe_id)
{
	struct entry *e;
	int rc;

	if (probe_id < 0)
		return VT_EINVAL;
	if ((rc = find_or_add(k, b64, &e)) < 0)
		return rc;
	if (e->id < 0) {
		k->nneg--;
		k->nkeys++;
	}
	e->id = probe_id;
	return VT_OK;
}

int gw_keys_learn(struct gw_keys *k, const char *b64, long probe_id,
		  int64_t at)
{
	uint32_t h = hash(b64);
	int rc = gw_keys_put(k, b64, probe_id);

	if (rc == 0)
		slot(k, b64, h)->learned = at;
	return rc;
}

void gw_keys_put_unknown(struct gw_keys *k, const char *b64, int64_t expires,
			 int64_t at)
{
	struct entry *e = slot(k, b64, hash(b64));

	if (e->key) {
		if (e->id < 0) {
			e->expires = expires;
			e->learned = at;
		}
		return;   /* a probe's key stays until the next reload */
	}
	if (k->nneg >= GW_KEYS_NEG_MAX || find_or_add(k, b64, &e) < 0)
		return;
	e->expires = expires;
	e->learned = at;
}

void gw_keys_carry(struct gw_keys *fresh, const struct gw_keys *old)
{
	if (!fresh || !old)
		return;
	for (size_t i = 0; i < old->cap; i++) {
		const struct entry *e = &old->e[i];

		if (!e->key || !e->learned || e->learned < fresh->made ||
		    slot(fresh, e->key, e->hash)->key)
			continue;
		if (e->id < 0)
			gw_keys_put_unknown(fresh, e->key, e->expires, e->learned);
		else if (gw_keys_learn(fresh, e->key, e->id, e->learned) < 0)
			return;   /* out of memory: looked up again */
	}
}

int gw_keys_get(const struct gw_keys *k, const char *b64, int64_t now,
		long *probe_id)
{
	const struct entry *e = slot(k, b64, hash(b64));

	if (!e->key)
		return VT_ENOTFOUND;
	if (e->id >= 0) {
		*probe_id = e->id;
		return VT_OK;
	}
	return now < e->expires ? VT_EAUTH : VT_ENOTFOUND;
}

size_t gw_keys_count(const struct gw_keys *k)
{
	return k ? k->nkeys : 0;
}
