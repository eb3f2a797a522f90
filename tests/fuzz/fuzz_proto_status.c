/* fuzz_proto_status - a stock probe's status line (proto/status.h).  What
 * it gives must be consistent: a status id, a positive time, addresses
 * that parse back as addresses of their family. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_status st;
	unsigned char a[16];
	char err[128];

	if (vt_status_parse((const char *)data, size, &st, err, sizeof err) < 0) {
		if (!err[0] || !memchr(err, '\0', sizeof err))
			abort();
		return 0;
	}
	if (!vt_status_id(st.id) || st.time <= 0 ||
	    (st.kind == VT_STATUS_UPTIME && (st.id != VT_STATUS_UPTIME_ID ||
					     st.uptime < 0)) ||
	    (st.v4[0] && inet_pton(AF_INET, st.v4, a) != 1) ||
	    (st.v6[0] && inet_pton(AF_INET6, st.v6, a) != 1) ||
	    (st.kind != VT_STATUS_ADDRS && (st.v4[0] || st.v6[0])))
		abort();
	return 0;
}
