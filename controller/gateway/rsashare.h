/* rsashare.h - one signing state for the RSA host key, shared by every
 * session.
 *
 * libssh 0.10 with OpenSSL 3 signs with a key object for the RSA host key
 * that lives no longer than the session, and OpenSSL builds a key object's blinding factor
 * and its three Montgomery contexts (n, p, q) at its first private-key
 * operation and keeps them as long as the object lives.  A server signs
 * once per session, so every RSA handshake paid for all of it: here 0.55
 * ms of CPU for a signature that costs 0.28 ms with the state kept (a
 * fifth of an RSA reconnect's CPU in the gateway), and memory a held
 * session keeps until it ends (3 KiB of its 27; docs/scaling.md, "The
 * host key rebuilt for every RSA session").
 *
 * gw_rsashare_new() makes OpenSSL's default RSA method one whose private
 * operation looks the key up by its public half (n, e) among the keys it
 * has seen, keeps one long-lived copy of each (KEYS_MAX at most; a key
 * beyond them is used as it is) and computes with that copy, whose state
 * OpenSSL then builds once (and refreshes the blinding every 32 uses, as
 * for any long-lived key).  The signatures are the same bytes (PKCS #1
 * v1.5 is deterministic).  Safe from any thread: OpenSSL guards a key's
 * blinding across threads.
 *
 * Process-wide by nature (the default method is OpenSSL's global): one at
 * a time, made before the keys it should serve, freed after every RSA key
 * made meanwhile is freed. */
#ifndef VT_GW_RSASHARE_H
#define VT_GW_RSASHARE_H

#include "common/err.h"

struct gw_rsashare;

/* Installs it as OpenSSL's default RSA method. */
int gw_rsashare_new(struct gw_rsashare **out) VT_WUR;
/* Private operations so far: all of them, and those done with a kept
 * copy (tests, figures). */
void gw_rsashare_counts(const struct gw_rsashare *r, unsigned long *all,
			unsigned long *shared);
/* Puts OpenSSL's own method back and frees the copies; NULL is a no-op. */
void gw_rsashare_free(struct gw_rsashare *r);

#endif
