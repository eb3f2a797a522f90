/* fuzz_proto_report.c - a P_TO_C_REPORT upload body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/upload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct span {
	const char *start;
	size_t size;
	int calls;
};

static int check_json(void *arg, const char *json, size_t len)
{
	struct span *s = arg;

	if (json < s->start || json + len > s->start + s->size || len == 0 ||
	    json[0] != '{' || memchr(json, '\n', len))
		abort();
	s->calls++;
	return s->calls == 500 ? VT_ELIMIT : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span s = { (const char *)data, size, 0 };
	char sid[VT_SESSION_ID_MAX + 1];
	int n = -1, r;

	r = vt_report_parse((const char *)data, size, check_json, &s, sid,
			    sizeof sid, &n);
	if (n != s.calls || strlen(sid) > VT_SESSION_ID_MAX ||
	    (r == VT_ELIMIT) != (s.calls == 500))
		abort();
	return 0;
}
