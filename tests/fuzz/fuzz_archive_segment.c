/* fuzz_archive_segment.c - the segment decoder on corrupted and truncated
 * streams.  Input: 12 bytes of index row (raw length, count, flags), then
 * the segment bytes.  Flag bit 0 takes the CRC from the stream's own
 * trailer, so the fuzzer gets past the CRC check into libbz2. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/archive_fmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_arc_seg s = { 0 };
	struct vt_buf out;
	const char *why = NULL;
	uint32_t flags;
	int r;

	if (size < 12)
		return 0;
	s.rlen = be32(data) % (8u << 20);    /* keep the fuzzer's memory bounded */
	s.count = be32(data + 4);
	flags = be32(data + 8);
	data += 12;
	size -= 12;
	s.clen = size;
	s.crc = flags;
	if ((flags & 1) && vt_arc_stream_crc(data, size, &s.crc) < 0)
		s.crc = 0;
	vt_buf_init(&out, 16u << 20);
	r = vt_arc_decode(&s, data, size, &out, &why);
	if (r == 0 && out.len != s.rlen)
		abort();
	if (r == VT_ECORRUPT && (!why || out.len != 0))
		abort();
	vt_buf_free(&out);
	return 0;
}
