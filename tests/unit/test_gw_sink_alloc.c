/* test_gw_sink_alloc.c - the sink's request buffer (controller/gateway/
 * sink.c): once the head announces the body's length, the buffer is sized
 * for the whole request at once (capacity: head, body and a NUL), however
 * the bytes arrive, instead of doubling as they come (each doubling a copy
 * of everything so far); the lines are all there; a body without
 * Content-Length, or one announced past the cap, still works as before. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "controller/gateway/sink.h"
#include "proto/upload.h"
#include "tests/unit/check.h"

/* Feeds req in chunks of step bytes; returns the batch (or NULL). */
static struct gw_sink_batch *feed(const char *req, size_t len, size_t step,
				  int *rc_out)
{
	struct gw_sink_who who = { 42, "0123456789abcdef", "192.0.2.9" };
	struct gw_sink_result res;
	struct gw_sink_batch *b = NULL;
	struct gw_sink *s = NULL;
	struct vt_buf reply;
	int rc = VT_EAGAIN;

	vt_buf_init(&reply, 0);
	if (gw_sink_new(&s) < 0)
		return NULL;
	for (size_t off = 0; off < len && rc == VT_EAGAIN; off += step) {
		size_t n = len - off < step ? len - off : step;

		rc = gw_sink_take(s, req + off, n, 0, &who, &reply, &res, &b);
	}
	if (rc == VT_EAGAIN)
		rc = gw_sink_take(s, NULL, 0, 1, &who, &reply, &res, &b);
	*rc_out = rc;
	gw_sink_free(s);
	vt_buf_free(&reply);
	return b;
}

int main(void)
{
	struct vt_buf body, req;
	struct gw_sink_batch *b;
	size_t head;
	int rc, lines = 0;

	vt_buf_init(&body, 0);
	vt_buf_init(&req, 0);
	CHECK_INT(vt_buf_adds(&body, "P_TO_C_REPORT\nSESSION_ID 0123456789abcdef\n"), 0);
	while (body.len < 150000) {
		CHECK_INT(vt_buf_addf(&body, "RESULT {\"id\":\"1001\",\"time\":%d,"
				      "\"result\":[{\"rtt\":1.234}],\"pad\":\"%0*d\"}\n",
				      1700000000 + lines, 200 + lines % 700, 0), 0);
		lines++;
	}
	CHECK_INT(vt_upload_req_format(&req, 42, "0123456789abcdef", NULL,
				       body.data, body.len), 0);
	head = req.len - body.len;

	/* in SSH-packet-sized chunks, in one go, and byte by byte for the head */
	{
		const size_t steps[] = { 32768, 1000, 7, 1 << 30 };

		for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
			b = feed(req.data, req.len, steps[i], &rc);
			CHECK_INT(rc, 1);
			CHECK_INT(gw_sink_batch_count(b), lines);
			CHECK_INT(gw_sink_batch_bytes(b), req.len);
			/* one allocation of the size the head announced */
			if (steps[i] < req.len)
				CHECK_INT(gw_sink_batch_alloc(b), head + body.len + 1);
			gw_sink_batch_free(b);
		}
	}
	/* no Content-Length: the body ends at EOF, the buffer grows */
	{
		struct vt_buf r2;
		char *p = strstr(req.data, "Content-Length:");

		vt_buf_init(&r2, 0);
		CHECK(p != NULL);
		if (p) {
			char *e = strstr(p, "\r\n");

			CHECK_INT(vt_buf_add(&r2, req.data, (size_t)(p - req.data)), 0);
			CHECK_INT(vt_buf_adds(&r2, e + 2), 0);
			b = feed(r2.data, r2.len, 32768, &rc);
			CHECK_INT(rc, 1);
			CHECK_INT(gw_sink_batch_count(b), lines);
			gw_sink_batch_free(b);
		}
		vt_buf_free(&r2);
	}
	/* a length past the cap reserves nothing and is answered 413 */
	{
		struct vt_buf r3;
		char *p = strstr(req.data, "Content-Length:");
		struct gw_sink_who who = { 42, "0123456789abcdef", "192.0.2.9" };
		struct gw_sink_result res;
		struct gw_sink *s = NULL;
		struct vt_buf reply;

		vt_buf_init(&r3, 0);
		vt_buf_init(&reply, 0);
		if (p) {
			char *e = strstr(p, "\r\n");

			CHECK_INT(vt_buf_add(&r3, req.data, (size_t)(p - req.data)), 0);
			CHECK_INT(vt_buf_addf(&r3, "Content-Length: %d", 64 << 20), 0);
			CHECK_INT(vt_buf_add(&r3, e, head - (size_t)(e - req.data)), 0);
			CHECK_INT(gw_sink_new(&s), 0);
			rc = gw_sink_take(s, r3.data, r3.len, 0, &who, &reply, &res, &b);
			CHECK(rc != 1);
			CHECK(rc == VT_EAGAIN || res.status == 413);
			gw_sink_free(s);
		}
		vt_buf_free(&r3);
		vt_buf_free(&reply);
	}
	vt_buf_free(&body);
	vt_buf_free(&req);
	return CHECK_DONE();
}
