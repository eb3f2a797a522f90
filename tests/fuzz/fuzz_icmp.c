/* fuzz_icmp.c - ICMP / ICMPv6 reply decoding (probe/measure/icmp.h).  The
 * first byte picks the family; the rest is the ICMP message. */
#include <stdint.h>
#include <stdlib.h>

#include "probe/measure/icmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_icmp_info i;
	json_t *x;
	char eb[8];
	int af;

	if (size < 1)
		return 0;
	af = (data[0] & 1) ? 6 : 4;
	if (vt_icmp_parse(af, data + 1, size - 1, &i) < 0)
		return 0;
	if (i.in_payload && (i.in_payload < data + 1 ||
			     i.in_payload + i.in_payload_len > data + size))
		abort();
	x = vt_icmp_ext_json(&i);
	json_decref(x);
	(void)vt_icmp_err_text(af, &i, eb, sizeof eb);
	return 0;
}
