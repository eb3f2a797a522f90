/* keys.h - the gateway's cache of probe public keys: base64 key blob to
 * probe id, read by the authentication callback without touching the
 * database (dbq.h explains why).
 *
 * A table is filled from the probes table by the LISTEN thread and handed
 * whole to the loop, which swaps it in; the loop adds keys it looked up
 * itself, and remembers keys found unknown for a short while (negative
 * entries, at most GW_KEYS_NEG_MAX per table).
 *
 * A table read from the database knows the keys as they were when its load
 * began (gw_keys_new), and is swapped in later: a key the loop learned in
 * between (a probe added meanwhile, looked up on a miss) is newer than the
 * table and is carried over into it (gw_keys_carry), or that probe would
 * be refused again until the next load. */
#ifndef VT_GW_KEYS_H
#define VT_GW_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

#define GW_KEYS_NEG_MAX  4096
#define GW_KEYS_KEY_MAX  16384   /* bytes of a base64 key kept at most */

struct gw_keys;

/* An empty table, stamped with the mono time it is made (a load made
 * into it knows the keys of that time). */
int gw_keys_new(struct gw_keys **out) VT_WUR;
void gw_keys_free(struct gw_keys *k);
/* Records b64 as probe_id's key (replacing what was known of b64). */
int gw_keys_put(struct gw_keys *k, const char *b64, long probe_id) VT_WUR;
/* Records b64 as probe_id's key learned by a lookup answered at mono
 * time at (gw_keys_carry). */
int gw_keys_learn(struct gw_keys *k, const char *b64, long probe_id,
		  int64_t at) VT_WUR;
/* Records b64 as unknown until mono time expires, as learned at mono time
 * at; ignored past the cap. */
void gw_keys_put_unknown(struct gw_keys *k, const char *b64, int64_t expires,
			 int64_t at);
/* Copies into fresh what old learned (gw_keys_learn, gw_keys_put_unknown)
 * since fresh was made, for the keys fresh does not know: fresh is about
 * to replace old.  Out of memory, a key is left out (looked up again). */
void gw_keys_carry(struct gw_keys *fresh, const struct gw_keys *old);
/* Looks b64 up at mono time now: VT_OK with *probe_id, VT_EAUTH when it is
 * known to be unknown, VT_ENOTFOUND when the cache cannot tell. */
int gw_keys_get(const struct gw_keys *k, const char *b64, int64_t now,
		long *probe_id) VT_WUR;
/* Probe keys held (negative entries not counted). */
size_t gw_keys_count(const struct gw_keys *k);

#endif
