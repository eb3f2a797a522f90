/* Fuzz target: the bodies of the researcher API: POST measurements/ (the
 * creation request, parsed as `vantage msm create` parses it, and its
 * refusal as an error object with a JSON pointer) and POST .../
 * participation-requests/. */
#include <stdint.h>
#include <stdlib.h>

#include "controller/api/body.h"
#include "controller/api/query.h"
#include "controller/scheduler/def.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_msm_request *r = NULL;
	struct vt_api_part *parts = NULL;
	struct vt_api_err e = { 0 };
	struct vt_buf b;
	char err[512];
	size_t n;

	vt_buf_init(&b, 1 << 16);
	if (vt_msm_request_parse((const char *)data, size, 1700000000LL, &r, err,
				 sizeof err) == 0) {
		vt_msm_request_free(r);
	} else {
		vt_api_err_from_msg(&e, err, "");
		if (e.source[0] && e.source[0] != '/')
			abort();
		if (vt_api_err_json(&e, &b) < 0)
			abort();
	}
	if (vt_api_part_parse((const char *)data, size, &parts, &n, &e) == 0)
		free(parts);
	else if (vt_api_err_json(&e, &b) < 0)
		abort();
	vt_buf_free(&b);
	return 0;
}
