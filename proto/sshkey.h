/* sshkey.h - an OpenSSH public key line, as in id_ed25519.pub:
 *
 *   TYPE BASE64 [comment]
 *
 * TYPE is ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp256/384/521.  BASE64 must
 * be strict (RFC 4648 alphabet, padded, canonical) and decode to the key
 * blob of RFC 4253/5656/8709: the type string again, then exactly the
 * fields of that type (ed25519: a 32-byte key; rsa: e and n; ecdsa: the
 * curve name matching TYPE and an uncompressed point).  Pure: no I/O. */
#ifndef VT_PROTO_SSHKEY_H
#define VT_PROTO_SSHKEY_H

#include <stddef.h>
#include "common/err.h"

#define VT_SSHKEY_B64_MAX 12288     /* base64 characters at most (RSA 16384) */

struct vt_sshkey {
	char type[32];                      /* e.g. "ssh-ed25519" */
	char b64[VT_SSHKEY_B64_MAX + 1];    /* the blob, as given */
};

/* Parses the first line of text[0..len).  VT_OK with *out filled, else
 * VT_EPARSE (or VT_ETOOBIG, VT_EUNSUPP for another key type) with the
 * reason in err. */
int vt_sshkey_parse(const char *text, size_t len, struct vt_sshkey *out,
		    char *err, size_t errlen) VT_WUR;

#endif
