/* fuzz_gw_sink - the result sink's request handling
 * (controller/gateway/sink.h), fed in two chunks as a forwarded channel
 * delivers it.  The database is unreachable, so an upload with results
 * must end in an error status, never OK (one without results has nothing
 * to make durable and may be acknowledged). */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "common/buf.h"
#include "controller/gateway/sink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gw_db *db;
	struct gw_sink_who who = { 1000, "0123abcd", "192.0.2.7" };
	struct gw_sink_result res;
	struct gw_sink *s = NULL;
	struct vt_buf reply;
	size_t half = size / 2;
	int rc;

	if (!db && gw_db_new("host=/nonexistent/vantage-fuzz connect_timeout=1",
			     &db) < 0)
		return 0;
	vt_buf_init(&reply, 0);
	if (gw_sink_new(&s) < 0)
		goto out;
	rc = gw_sink_feed(s, data, half, 0, &who, db, &reply, &res);
	if (rc == VT_EAGAIN)
		rc = gw_sink_feed(s, data + half, size - half, 1, &who, db, &reply,
				  &res);
	if (rc == VT_EAGAIN || (rc == 0 && (reply.len == 0 ||
					     (res.status == 200 && res.nresults))))
		__builtin_trap();   /* EOF must end it; no OK for unsaved results */
out:
	gw_sink_free(s);
	vt_buf_free(&reply);
	return 0;
}
