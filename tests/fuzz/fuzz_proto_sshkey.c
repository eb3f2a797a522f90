/* fuzz_proto_sshkey.c - OpenSSH public key lines (proto/sshkey.h), as
 * `vantage probe add --pubkey FILE` reads them.  A refusal must say why; a
 * key that parses has a known type and a base64 blob that was given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vt_sshkey k;
	char err[256] = "";
	int rc = vt_sshkey_parse((const char *)data, size, &k, err, sizeof err);

	if (rc != VT_OK) {
		if (!err[0] || k.type[0] || k.b64[0])
			abort();
		return 0;
	}
	if ((strcmp(k.type, "ssh-ed25519") && strcmp(k.type, "ssh-rsa") &&
	     strncmp(k.type, "ecdsa-sha2-nistp", 16)) ||
	    strlen(k.b64) % 4 || !k.b64[0] ||
	    !memmem(data, size, k.b64, strlen(k.b64)))
		abort();
	return 0;
}
