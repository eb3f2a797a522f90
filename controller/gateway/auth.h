/* auth.h - public-key authentication of probes for every loop thread: the
 * owner of the probe key cache (keys.h) and of the background lookups of
 * keys it misses.
 *
 * libssh wants the answer inside its callback, so the answer comes from
 * the cache alone; a miss is denied and looked up on the database's
 * authentication lane at a bounded rate (the next attempt finds it), and
 * many misses at once ask the LISTEN thread for a whole reload.  One lock
 * guards the cache and the rate counters; any thread may call. */
#ifndef VT_GW_AUTH_H
#define VT_GW_AUTH_H

#include "common/err.h"
#include "controller/gateway/dbq.h"
#include "controller/gateway/keys.h"
#include "controller/gateway/listen.h"

struct gw_auth;

/* Takes keys (the first table, may be NULL: empty); lookups go to q on
 * behalf of gateway name (which lives as long). */
int gw_auth_new(struct gw_dbq *q, const char *name, struct gw_keys *keys,
		struct gw_auth **out) VT_WUR;
void gw_auth_free(struct gw_auth *a);
/* The LISTEN thread asked for whole reloads (NULL: none). */
void gw_auth_set_listen(struct gw_auth *a, struct gw_listen *l);
/* Swaps in a fresh table (takes it); logs when the count changed or hup
 * (the reload a SIGHUP asked for). */
void gw_auth_adopt(struct gw_auth *a, struct gw_keys *fresh, int hup);
/* A lookup's answer for key b64 (rc VT_OK with probe_id, VT_ENOTFOUND for
 * a key no probe has, another code: nothing learned) goes into the cache,
 * and into a fresh table adopted later (keys.h).  Any thread. */
void gw_auth_learned(struct gw_auth *a, const char *b64, int rc,
		     long probe_id);
/* The probe id of a public key (base64): VT_OK, VT_EAUTH for a key known
 * to be unknown, VT_EAGAIN on a miss (looked up in the background), another
 * VT_E* code when it cannot tell.  Never waits. */
int gw_auth_key(struct gw_auth *a, const char *b64, long *probe_id) VT_WUR;

#endif
