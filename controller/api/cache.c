/* cache.c - anonymous GET answers for a short while. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/api/cache.h"

struct slot {
	pthread_mutex_t mu;
	char *key;
	char *body;
	size_t len;
	long long expires_ms;
};

struct vt_cache {
	int ttl_ms;
	struct slot s[VT_CACHE_SLOTS];
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t hash(const char *k)
{
	uint64_t h = 1469598103934665603ULL;        /* FNV-1a */

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return h;
}

int vt_cache_new(int ttl_ms, struct vt_cache **out)
{
	struct vt_cache *c = calloc(1, sizeof *c);

	*out = NULL;
	if (!c)
		return VT_ENOMEM;
	c->ttl_ms = ttl_ms;
	for (int i = 0; i < VT_CACHE_SLOTS; i++)
		pthread_mutex_init(&c->s[i].mu, NULL);
	*out = c;
	return 0;
}

void vt_cache_free(struct vt_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < VT_CACHE_SLOTS; i++) {
		pthread_mutex_destroy(&c->s[i].mu);
		free(c->s[i].key);
		free(c->s[i].body);
	}
	free(c);
}

int vt_cache_get(struct vt_cache *c, const char *key, char **body, size_t *len)
{
	struct slot *s;
	int rc = VT_ENOTFOUND;

	*body = NULL;
	if (!c || c->ttl_ms <= 0)
		return rc;
	s = &c->s[hash(key) % VT_CACHE_SLOTS];
	pthread_mutex_lock(&s->mu);
	if (s->key && !strcmp(s->key, key) && s->expires_ms > mono_ms() &&
	    (*body = malloc(s->len + 1))) {
		memcpy(*body, s->body, s->len);
		(*body)[s->len] = '\0';
		*len = s->len;
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void vt_cache_put(struct vt_cache *c, const char *key, const char *body,
		  size_t len)
{
	struct slot *s;
	char *k, *b;

	if (!c || c->ttl_ms <= 0 || len > VT_CACHE_BODY_MAX)
		return;
	k = strdup(key);
	b = malloc(len + 1);
	if (!k || !b) {
		free(k);
		free(b);
		return;
	}
	memcpy(b, body, len);
	b[len] = '\0';
	s = &c->s[hash(key) % VT_CACHE_SLOTS];
	pthread_mutex_lock(&s->mu);
	free(s->key);
	free(s->body);
	s->key = k;
	s->body = b;
	s->len = len;
	s->expires_ms = mono_ms() + c->ttl_ms;
	pthread_mutex_unlock(&s->mu);
}
