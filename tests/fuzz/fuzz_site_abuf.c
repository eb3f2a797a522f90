/* fuzz_site_abuf.c - the site decoder (proto/site.h) and the catchment's
 * result reader (storage/catchment.h): the input as a DNS reply, as base64
 * text, as the abuf of a result (base64 of the input), and as a result
 * object itself. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/site.h"
#include "storage/catchment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char B64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void check_site(const char *site, enum vt_site_how how, int rc)
{
	size_t n = strnlen(site, VT_SITE_MAX);

	if (n >= VT_SITE_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if (site[i] < 0x20 || site[i] > 0x7e)
			abort();
	if ((rc == 0) != (how != VT_SITE_NONE) || (rc == 0 && n == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char site[VT_SITE_MAX];
	enum vt_site_how how;
	struct vt_catch *c = NULL;
	char *j = NULL;
	size_t o, i;
	int rc;
	json_t *v;

	if (size > VT_SITE_ABUF_MAX)
		return 0;
	rc = vt_site_from_reply(data, size, site, &how);
	check_site(site, how, rc);
	rc = vt_site_from_abuf((const char *)data, size, site, &how);
	check_site(site, how, rc);

	if (vt_catch_new(&c, 1, 0, 0) < 0)
		return 0;
	/* the input as the abuf of two results of one probe */
	j = malloc(size / 3 * 4 + 8 + 200);
	if (!j)
		goto out;
	o = (size_t)sprintf(j, "{\"prb_id\":1,\"timestamp\":1,\"result\":{\"rt\":1,\"abuf\":\"");
	for (i = 0; i + 3 <= size; i += 3) {
		uint32_t w = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];

		j[o++] = B64[w >> 18];
		j[o++] = B64[(w >> 12) & 63];
		j[o++] = B64[(w >> 6) & 63];
		j[o++] = B64[w & 63];
	}
	if (size - i == 1) {
		j[o++] = B64[data[i] >> 2];
		j[o++] = B64[(data[i] & 3) << 4];
		j[o++] = '=';
		j[o++] = '=';
	} else if (size - i == 2) {
		uint32_t w = (uint32_t)data[i] << 8 | data[i + 1];

		j[o++] = B64[w >> 10];
		j[o++] = B64[(w >> 4) & 63];
		j[o++] = B64[(w << 2) & 63];
		j[o++] = '=';
	}
	o += (size_t)sprintf(j + o, "\"}}");
	rc = vt_catch_add(c, j, o);
	if (rc != (vt_site_from_reply(data, size, site, &how) == 0))
		abort();
	if (vt_catch_add(c, j, o) < 0)
		abort();
	/* the input as a result object */
	if (vt_catch_add(c, (const char *)data, size) < VT_EPARSE ||
	    vt_catch_add_ping(c, (const char *)data, size) < VT_EPARSE)
		abort();
	v = vt_catch_json(c);
	json_decref(v);
out:
	free(j);
	vt_catch_free(c);
	return 0;
}
