/* cache.h - a short-lived cache of anonymous GET answers (API objects and
 * lists, not result streams), so that many clients polling the same
 * measurement or latest results cost one statement per period.  Keyed by
 * the whole request target (scheme, Host, path and query: Blaeu's
 * `defeatcaching` parameter defeats it as it does RIPE Atlas's caches).
 * Bounded: a fixed number of slots, each body at most VT_CACHE_BODY_MAX
 * bytes.  Thread-safe.  Every instance keeps its own: what it holds is at
 * most ttl_ms old, never needed by anyone else. */
#ifndef VT_API_CACHE_H
#define VT_API_CACHE_H

#include <stddef.h>

#include "common/err.h"

#define VT_CACHE_SLOTS    1024
#define VT_CACHE_BODY_MAX (64 * 1024)

struct vt_cache;

/* ttl_ms 0: a cache that holds nothing. */
int vt_cache_new(int ttl_ms, struct vt_cache **out) VT_WUR;
void vt_cache_free(struct vt_cache *c);

/* A fresh body for key (a malloc'd copy in *body, the caller frees), or
 * VT_ENOTFOUND. */
int vt_cache_get(struct vt_cache *c, const char *key, char **body,
		 size_t *len) VT_WUR;
/* Remembers body for key (copied); bodies over the cap are not kept. */
void vt_cache_put(struct vt_cache *c, const char *key, const char *body,
		  size_t len);

#endif
