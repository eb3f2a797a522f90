/* fuzz_probe_httppost.c - the condmv and httppost parsers of the probe
 * (probe/upjob.h), fed crontab commands as the controller pushes them.
 * A line that parses must name paths inside the spool's data folders. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe/upjob.h"

#define ROOT    "/spool"
#define NEW_DIR ROOT "/data/new"
#define NL      (sizeof NEW_DIR - 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_upjob u;
	char err[200];
	int rc = vt_upjob_parse((const char *)data, size, ROOT, &u, err,
				sizeof err);

	if (rc != VT_OK) {
		if (u.kind != 0 || (rc == VT_EPARSE && !err[0]))
			abort();
		return 0;
	}
	if (u.kind == VT_UPJOB_CONDMV) {
		const char *rest = u.src + NL;

		if (strncmp(u.src, NEW_DIR, NL) != 0 ||
		    (*rest != '\0' && *rest != '/') ||
		    (*rest == '/' && (strchr(rest + 1, '/') || rest[1] == '.' ||
				      !rest[1])) ||
		    u.src_is_dir != (*rest == '\0') ||
		    strchr(u.dst_name, '/') || u.dst_name[0] == '.')
			abort();
	} else if (u.kind == VT_UPJOB_HTTPPOST) {
		if (strcmp(u.post_dir, ROOT "/data/out") != 0 || u.msm_id < 0 ||
		    u.probe_id < 0 || strlen(u.session_id) > VT_SESSION_ID_MAX ||
		    strspn(u.session_id, "0123456789abcdefABCDEF") !=
		    strlen(u.session_id))
			abort();
	} else {
		abort();
	}
	return 0;
}
