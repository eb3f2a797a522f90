/* park.h - accepted connections waiting for the handshake limit
 * (hslimit.h), first in first out.
 *
 * The gateway accepts every connection at once (up to --max-sessions) and
 * parks those the handshake limit has no room for: a parked connection
 * costs a descriptor and this entry, no libssh object and no CPU, and its
 * client's first bytes (its SSH banner and KEXINIT) wait in the socket's
 * receive buffer, acknowledged.  Leaving them in the kernel's listen
 * queue instead lets that queue fill: the kernel then drops the segment
 * that completes a client's TCP handshake, the client (connected on its
 * side) has its banner dropped too and retransmits it with exponential
 * backoff, and once the gateway accepts it both sides wait for each other
 * until the client's retransmission timer fires (tens of seconds) or
 * --login-grace ends it (docs/scaling.md, "Handshakes that never finish").
 *
 * Owned by the accepting thread (loop thread 0) alone. */
#ifndef VT_GW_PARK_H
#define VT_GW_PARK_H

#include <stdint.h>
#include "common/err.h"

struct gw_park;

struct gw_parked {
	int     fd;
	int     listener;     /* GW_LISTEN_* role */
	int64_t at;           /* mono ms when accepted */
	char    from[64];     /* the peer's address, text */
};

int gw_park_new(struct gw_park **out) VT_WUR;
/* Closes the connections still parked. */
void gw_park_free(struct gw_park *pk);
/* Parks a connection (copied); VT_ENOMEM leaves fd to the caller. */
int gw_park_push(struct gw_park *pk, const struct gw_parked *c) VT_WUR;
/* The oldest parked connection into *c (handed over): 1, or 0 when none. */
int gw_park_pop(struct gw_park *pk, struct gw_parked *c);
/* Parked now. */
int gw_park_count(const struct gw_park *pk);
/* When the oldest was parked (mono ms), or -1 when none. */
int64_t gw_park_oldest(const struct gw_park *pk);

#endif
