/* b64.c - strict base64 decoding (b64.h). */
#include "proto/b64.h"

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int vt_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outlen,
		  size_t *n)
{
	size_t o = 0, i, pad = 0;
	uint32_t acc = 0;
	int k = 0;

	*n = 0;
	if (inlen % 4)
		return VT_EPARSE;
	if (inlen && in[inlen - 1] == '=')
		pad++;
	if (inlen > 1 && in[inlen - 2] == '=')
		pad++;
	for (i = 0; i < inlen - pad; i++) {
		int v = b64val((unsigned char)in[i]);

		if (v < 0)
			return VT_EPARSE;
		acc = acc << 6 | (uint32_t)v;
		if (++k == 4) {
			if (o + 3 > outlen)
				return VT_ETOOBIG;
			out[o++] = (uint8_t)(acc >> 16);
			out[o++] = (uint8_t)(acc >> 8);
			out[o++] = (uint8_t)acc;
			acc = 0;
			k = 0;
		}
	}
	if (k == 3) {                   /* one '=' */
		if (o + 2 > outlen)
			return VT_ETOOBIG;
		if (acc & 0x3)
			return VT_EPARSE;
		out[o++] = (uint8_t)(acc >> 10);
		out[o++] = (uint8_t)(acc >> 2);
	} else if (k == 2) {            /* two '=' */
		if (o + 1 > outlen)
			return VT_ETOOBIG;
		if (acc & 0xf)
			return VT_EPARSE;
		out[o++] = (uint8_t)(acc >> 4);
	} else if (k != 0)
		return VT_EPARSE;
	*n = o;
	return 0;
}
