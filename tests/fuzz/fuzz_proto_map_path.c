/* fuzz_proto_map_path.c - the probe's mapping of legacy /home/atlas/ paths
 * onto its spool: "<legacy>\0<root>". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dialogue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 2), out[512];
	const char *root;
	size_t rlen;

	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = in[size + 1] = '\0';
	root = in + strlen(in) + 1;
	if (root > in + size || !*root)
		root = "/spool";
	if (vt_dlg_map_path(in, root, out, sizeof out) == 0) {
		rlen = strlen(root);
		while (rlen && root[rlen - 1] == '/')
			rlen--;
		/* inside root, never climbing out */
		if (strncmp(in, "/home/atlas/", 12) != 0 ||
		    strncmp(out, root, rlen) != 0 || out[rlen] != '/' ||
		    strstr(out + rlen, "/../") || strstr(out + rlen, "/./") ||
		    strstr(out + rlen, "//") || strcmp(out + rlen + 1, in + 12) != 0)
			abort();
		rlen = strlen(out);
		if ((rlen >= 3 && strcmp(out + rlen - 3, "/..") == 0) ||
		    (rlen >= 2 && strcmp(out + rlen - 2, "/.") == 0))
			abort();
	}
	free(in);
	return 0;
}
