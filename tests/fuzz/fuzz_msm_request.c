/* Fuzz target: the measurement creation body (API.md, POST measurements/),
 * as `vantage msm create` and the API parse it. */
#include <stddef.h>
#include <stdint.h>

#include "controller/scheduler/def.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_msm_request *r = NULL;
	char err[512];

	if (vt_msm_request_parse((const char *)data, size, 1700000000LL, &r, err,
				 sizeof err) == 0)
		vt_msm_request_free(r);
	return 0;
}
