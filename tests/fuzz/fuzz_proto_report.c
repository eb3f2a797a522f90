/* fuzz_proto_report.c - a P_TO_C_REPORT upload body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
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

	struct vt_buf esc;
	enum vt_line_fault f;
	size_t at = 0;

	if (json < s->start || json + len > s->start + s->size || len == 0 ||
	    json[0] != '{' || memchr(json, '\n', len))
		abort();
	/* The sink's line check: a fault is at a byte of the line; the
	 * escaped form always passes, and a good line is kept as it is. */
	f = vt_report_line_check(json, len, &at);
	if (f != VT_LINE_OK && (at >= len || (f == VT_LINE_NUL) != (json[at] == 0)))
		abort();
	vt_buf_init(&esc, 0);
	if (vt_report_line_escape(&esc, json, len) == 0 &&
	    (vt_report_line_check(esc.data ? esc.data : "", esc.len, NULL) != VT_LINE_OK ||
	     (f == VT_LINE_OK && (esc.len != len || memcmp(esc.data, json, len)))))
		abort();
	vt_buf_free(&esc);
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
