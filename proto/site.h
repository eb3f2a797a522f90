/* site.h - which anycast site answered: the server identity in a DNS
 * reply (abuf), as RIPE Atlas results carry it.
 *
 * Pure functions over bytes, no I/O.  A site is named by, in this order of
 * preference: a TXT answer to a CHAOS query for id.server or hostname.bind
 * (RFC 4892), or an NSID option in the reply's OPT record (RFC 5001).  The
 * name is returned as printable text: bytes outside printable ASCII become
 * '?', and it is cut at VT_SITE_MAX - 1 bytes. */
#ifndef VT_PROTO_SITE_H
#define VT_PROTO_SITE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/b64.h"

#define VT_SITE_MAX 128           /* bytes of a site name, with its NUL */
#define VT_SITE_ABUF_MAX 65535    /* a DNS message */

enum vt_site_how {
	VT_SITE_NONE = 0,
	VT_SITE_ID_SERVER,        /* TXT id.server. */
	VT_SITE_HOSTNAME_BIND,    /* TXT hostname.bind. */
	VT_SITE_NSID              /* EDNS0 NSID option */
};

/* Finds the site named by the reply msg[0..len).  On success site (at
 * least VT_SITE_MAX bytes) holds its name and *how says where it came from.
 * VT_ENOTFOUND when the reply is well-formed but names no site (a plain IN
 * answer, an error rcode without identity), VT_EPARSE when it is malformed
 * or is not a response. */
int vt_site_from_reply(const uint8_t *msg, size_t len, char *site,
		       enum vt_site_how *how) VT_WUR;

/* The same from an abuf (base64 text). */
int vt_site_from_abuf(const char *abuf, size_t len, char *site,
		      enum vt_site_how *how) VT_WUR;

/* "id.server", "hostname.bind", "nsid" or "none". */
const char *vt_site_how_name(enum vt_site_how how);

#endif
