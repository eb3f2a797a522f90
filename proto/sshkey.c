/* sshkey.c - OpenSSH public key lines (see sshkey.h). */
#include "proto/sshkey.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/b64.h"
#include "proto/text.h"

#define BLOB_MAX (VT_SSHKEY_B64_MAX / 4 * 3)

/* The next SSH string of blob (uint32 length, bytes); -1 past the end. */
static int next_string(const uint8_t *b, size_t n, size_t *off,
		       const uint8_t **s, size_t *slen)
{
	uint32_t l;

	if (n - *off < 4)
		return -1;
	l = (uint32_t)b[*off] << 24 | (uint32_t)b[*off + 1] << 16 |
	    (uint32_t)b[*off + 2] << 8 | (uint32_t)b[*off + 3];
	*off += 4;
	if (l > n - *off)
		return -1;
	*s = b + *off;
	*slen = l;
	*off += l;
	return 0;
}

static int is(const uint8_t *s, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(s, want, n) == 0;
}

/* Checks the blob's fields against type; NULL when they match, else why. */
static const char *check_blob(const char *type, const uint8_t *b, size_t n)
{
	static const struct { const char *curve; size_t point; } ec[] = {
		{ "nistp256", 65 }, { "nistp384", 97 }, { "nistp521", 133 }
	};
	const uint8_t *f[3];
	size_t fl[3], off = 0;
	int nf = 0;

	for (; off < n && nf < 3; nf++)
		if (next_string(b, n, &off, &f[nf], &fl[nf]) < 0)
			return "the key blob is cut short";
	if (off != n)
		return "the key blob has bytes after its fields";
	if (nf == 0 || !is(f[0], fl[0], type))
		return "the key blob is of another type";
	if (!strcmp(type, "ssh-ed25519"))
		return nf == 2 && fl[1] == 32 ? NULL : "not an ed25519 key blob";
	if (!strcmp(type, "ssh-rsa"))
		return nf == 3 && fl[1] > 0 && fl[2] >= 64 ? NULL :
			"not an RSA key blob";
	for (size_t i = 0; i < sizeof ec / sizeof *ec; i++)
		if (!strcmp(type + strlen("ecdsa-sha2-"), ec[i].curve))
			return nf == 3 && is(f[1], fl[1], ec[i].curve) &&
				fl[2] == ec[i].point && f[2][0] == 4 ? NULL :
				"not an ECDSA key blob of its curve";
	return "unknown key type";
}

int vt_sshkey_parse(const char *text, size_t len, struct vt_sshkey *out,
		    char *err, size_t errlen)
{
	static const char *const types[] = {
		"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256",
		"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"
	};
	const char *line, *t, *b;
	size_t llen, off = 0, tl, bl, i, blen;
	uint8_t *blob = NULL;
	const char *why;
	int rc = VT_EPARSE, known = 0;

	memset(out, 0, sizeof *out);
	if (!vt_text_next_line(text, len, &off, &line, &llen, NULL))
		return vt_err_set(VT_EPARSE, err, errlen, "empty");
	/* TYPE */
	for (i = 0; i < llen && vt_text_is_blank(line[i]); i++)
		;
	t = line + i;
	for (tl = 0; i < llen && !vt_text_is_blank(line[i]); i++, tl++)
		;
	/* BASE64 */
	for (; i < llen && vt_text_is_blank(line[i]); i++)
		;
	b = line + i;
	for (bl = 0; i < llen && !vt_text_is_blank(line[i]); i++, bl++)
		;
	if (tl == 0 || bl == 0)
		return vt_err_set(VT_EPARSE, err, errlen, "not an OpenSSH public key "
			    "(expected 'TYPE BASE64 [comment]')");
	for (size_t k = 0; k < sizeof types / sizeof *types; k++)
		known |= tl == strlen(types[k]) && !memcmp(t, types[k], tl);
	if (!known)
		return vt_err_set(VT_EUNSUPP, err, errlen, "key type '%.*s' is not one "
			    "of ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521",
			    (int)(tl < 40 ? tl : 40), t);
	if (bl > VT_SSHKEY_B64_MAX)
		return vt_err_set(VT_ETOOBIG, err, errlen, "key over %d base64 characters",
			    VT_SSHKEY_B64_MAX);
	memcpy(out->type, t, tl);
	if (!(blob = malloc(BLOB_MAX)))
		return vt_err_set(VT_ENOMEM, err, errlen, "out of memory");
	if (bl == 0 || vt_b64_decode(b, bl, blob, BLOB_MAX, &blen) < 0) {
		vt_err_set(VT_EPARSE, err, errlen, "the key is not valid base64");
		goto out;
	}
	if ((why = check_blob(out->type, blob, blen))) {
		vt_err_set(VT_EPARSE, err, errlen, "%s (type %s)", why, out->type);
		goto out;
	}
	memcpy(out->b64, b, bl);
	rc = VT_OK;
out:
	free(blob);
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}
