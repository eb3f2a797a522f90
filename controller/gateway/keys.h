/* keys.h - the gateway's cache of probe public keys: base64 key blob to
 * probe id, read by the authentication callback without touching the
 * database (dbq.h explains why).
 *
 * A table is filled from the probes table by the LISTEN thread and handed
 * whole to the loop, which swaps it in; the loop adds keys it looked up
 * itself, and remembers keys found unknown for a short while (negative
 * entries, at most GW_KEYS_NEG_MAX per table). */
#ifndef VT_GW_KEYS_H
#define VT_GW_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

#define GW_KEYS_NEG_MAX  4096
#define GW_KEYS_KEY_MAX  16384   /* bytes of a base64 key kept at most */

struct gw_keys;

int gw_keys_new(struct gw_keys **out) VT_WUR;
void gw_keys_free(struct gw_keys *k);
/* Records b64 as probe_id's key (replacing what was known of b64). */
int gw_keys_put(struct gw_keys *k, const char *b64, long probe_id) VT_WUR;
/* Records b64 as unknown until mono time expires; ignored past the cap. */
void gw_keys_put_unknown(struct gw_keys *k, const char *b64, int64_t expires);
/* Looks b64 up at mono time now: VT_OK with *probe_id, VT_EAUTH when it is
 * known to be unknown, VT_ENOTFOUND when the cache cannot tell. */
int gw_keys_get(const struct gw_keys *k, const char *b64, int64_t now,
		long *probe_id) VT_WUR;
/* Probe keys held (negative entries not counted). */
size_t gw_keys_count(const struct gw_keys *k);

#endif
