/* b64.h - base64 (RFC 4648) decoding for the wire formats: a pure
 * function, no I/O.  One strict spelling per byte string, so that what is
 * checked is what was sent. */
#ifndef VT_PROTO_B64_H
#define VT_PROTO_B64_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Decodes base64 text (RFC 4648, padding required when the length is not
 * a multiple of 4; no whitespace) into out of outlen bytes; *n gets the
 * length.  VT_EPARSE on a character outside the alphabet, bad padding or
 * non-zero bits under the padding,
 * VT_ETOOBIG when out is too small. */
int vt_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen,
		  size_t *n) VT_WUR;

#endif
