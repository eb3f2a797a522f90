/* keys.h - API keys (docs/vantage-api.md, "Keys"): made by `vantage key
 * add`, shown once, kept in PostgreSQL only as their SHA-256 (api_keys,
 * migration 012), checked by vantage-api on every request that brings one.
 *
 * Errors: VT_EDB with the reason in errbuf; VT_ENOTFOUND for an unknown or
 * revoked key; VT_EPARSE for a grant list that names an unknown grant. */
#ifndef VT_API_KEYS_H
#define VT_API_KEYS_H

#include <stddef.h>
#include <libpq-fe.h>

#include "common/err.h"

enum vt_grant {
	VT_GRANT_RESULTS       = 1 << 0,  /* non-public measurements, results */
	VT_GRANT_CREATE        = 1 << 1,  /* POST measurements/ */
	VT_GRANT_STOP          = 1 << 2,  /* DELETE measurements/{id}/ */
	VT_GRANT_TAGS          = 1 << 3,  /* measurement tags */
	VT_GRANT_PARTICIPATION = 1 << 4   /* participation-requests/ */
};

#define VT_KEY_LEN 36                     /* a UUID: 8-4-4-4-12 hex */

/* "results,create" -> bits.  VT_EPARSE for an unknown name or none. */
int vt_key_grants_parse(const char *list, unsigned *out) VT_WUR;
/* bits -> "results,create" into out. */
void vt_key_grants_str(unsigned grants, char *out, size_t outlen);
/* The name of one grant bit ("results"). */
const char *vt_key_grant_name(unsigned bit);

/* True when s looks like a key (the only shape vt_key_add makes). */
int vt_key_wellformed(const char *s);

/* Makes a new random key into key (VT_KEY_LEN + 1 bytes), stores its hash
 * with label and grants, and hands back its id. */
int vt_key_add(PGconn *db, const char *label, unsigned grants,
	       char key[VT_KEY_LEN + 1], long long *id, char *errbuf,
	       size_t errlen) VT_WUR;

/* Looks a key up: its id, label (copied into label) and grants. */
int vt_key_lookup(PGconn *db, const char *key, long long *id, char *label,
		  size_t labellen, unsigned *grants, char *errbuf,
		  size_t errlen) VT_WUR;

/* Revokes the key with id or label `which`; *n gets the number revoked. */
int vt_key_revoke(PGconn *db, const char *which, int *n, char *errbuf,
		  size_t errlen) VT_WUR;

#endif
