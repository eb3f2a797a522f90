#include "archive_fmt.h"

#include <bzlib.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The end-of-stream marker of bzip2 (sqrt(pi)), followed by the 32-bit
 * combined CRC and zero padding to a byte boundary. */
#define BZ_EOS_MAGIC 0x177245385090ULL
#define BZ_MIN_STREAM 14   /* "BZh9", marker and CRC of an empty stream */

int vt_arc_compress(const void *raw, size_t rlen, struct vt_buf *out,
		    uint32_t *crc)
{
	bz_stream s;
	size_t start = out->len, bound;
	int level, r, ret = VT_OK;

	/* One block holds a little under level * 100 kB of input. */
	level = rlen / 90000 + 1;
	if (level > 9)
		level = 9;
	if (rlen > UINT_MAX / 2)
		return VT_ETOOBIG;
	bound = rlen + rlen / 100 + 600;
	if ((r = vt_buf_reserve(out, bound)) < 0)
		return r;
	memset(&s, 0, sizeof s);
	if (BZ2_bzCompressInit(&s, level, 0, 30) != BZ_OK)
		return VT_ENOMEM;
	s.next_in = (char *)(uintptr_t)raw;
	s.avail_in = (unsigned)rlen;
	s.next_out = out->data + start;
	s.avail_out = (unsigned)bound;
	r = BZ2_bzCompress(&s, BZ_FINISH);
	if (r != BZ_STREAM_END) {
		ret = VT_EIO;
		goto out;
	}
	out->len = start + (bound - s.avail_out);
	out->data[out->len] = '\0';
	ret = vt_arc_stream_crc((const uint8_t *)out->data + start,
				out->len - start, crc);
	if (ret < 0)
		out->len = start;
out:
	BZ2_bzCompressEnd(&s);
	return ret;
}

/* Bit i (from the start, most significant first) of p. */
static unsigned bit_at(const uint8_t *p, size_t i)
{
	return (p[i >> 3] >> (7 - (i & 7))) & 1;
}

int vt_arc_stream_crc(const uint8_t *p, size_t n, uint32_t *crc)
{
	size_t total;

	if (n < BZ_MIN_STREAM)
		return VT_ECORRUPT;
	total = n * 8;
	for (unsigned pad = 0; pad < 8; pad++) {
		size_t end = total - pad, i;
		uint64_t magic = 0;
		uint32_t c = 0;
		int zero = 1;

		for (i = end; i < total; i++)
			if (bit_at(p, i))
				zero = 0;
		if (!zero)
			continue;
		for (i = end - 80; i < end - 32; i++)
			magic = magic << 1 | bit_at(p, i);
		if (magic != BZ_EOS_MAGIC)
			continue;
		for (i = end - 32; i < end; i++)
			c = c << 1 | bit_at(p, i);
		*crc = c;
		return VT_OK;
	}
	return VT_ECORRUPT;
}

#define CORRUPT(msg) do { if (why) *why = (msg); ret = VT_ECORRUPT; goto out; } while (0)

int vt_arc_decode(const struct vt_arc_seg *seg, const uint8_t *p, size_t n,
		  struct vt_buf *out, const char **why)
{
	bz_stream s;
	size_t start = out->len, lines = 0;
	uint32_t crc;
	int r, ret = VT_OK, inited = 0;

	if (why)
		*why = NULL;
	if (n != seg->clen)
		CORRUPT("segment length differs from the index");
	if (n < BZ_MIN_STREAM || memcmp(p, "BZh", 3) || p[3] < '1' || p[3] > '9')
		CORRUPT("segment does not start a bzip2 stream");
	if (n > UINT_MAX || seg->rlen > UINT_MAX - 1)
		CORRUPT("segment too large");
	if (vt_arc_stream_crc(p, n, &crc) < 0)
		CORRUPT("segment does not end a bzip2 stream");
	if (crc != seg->crc)
		CORRUPT("stream CRC differs from the index");
	/* Decoded in place: the index gives the raw length, and the byte
	 * after it (the buffer's NUL) catches a stream that decodes to more. */
	if ((ret = vt_buf_reserve(out, (size_t)seg->rlen)) < 0)
		goto out;
	memset(&s, 0, sizeof s);
	if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK) {
		ret = VT_ENOMEM;
		goto out;
	}
	inited = 1;
	s.next_in = (char *)(uintptr_t)p;
	s.avail_in = (unsigned)n;
	for (;;) {
		char *at = out->data + out->len;
		size_t room = (size_t)seg->rlen + 1 - (out->len - start), got;

		s.next_out = at;
		s.avail_out = (unsigned)room;
		r = BZ2_bzDecompress(&s);
		got = room - s.avail_out;
		if (r != BZ_OK && r != BZ_STREAM_END) {
			if (r == BZ_MEM_ERROR) {
				ret = VT_ENOMEM;
				goto out;
			}
			CORRUPT(r == BZ_DATA_ERROR ? "bzip2 data error (block CRC)"
				: "bzip2 stream damaged or truncated");
		}
		if (got > seg->rlen - (out->len - start))
			CORRUPT("segment decodes to more than its raw length");
		for (const char *q = at, *end = at + got;
		     (q = memchr(q, '\n', (size_t)(end - q))); q++)
			lines++;
		out->len += got;
		out->data[out->len] = '\0';
		if (r == BZ_STREAM_END)
			break;
		if (!got && !s.avail_in)
			CORRUPT("bzip2 stream truncated");
	}
	if (s.avail_in)
		CORRUPT("bytes after the end of the bzip2 stream");
	if (out->len - start != seg->rlen)
		CORRUPT("segment decodes to less than its raw length");
	if (lines != seg->count)
		CORRUPT("result count differs from the index");
	if (seg->rlen && out->data[out->len - 1] != '\n')
		CORRUPT("last result line not terminated");
out:
	if (inited)
		BZ2_bzDecompressEnd(&s);
	if (ret < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return ret;
}

static int parse_i64(const char *s, int64_t min, int64_t max, int64_t *v)
{
	char *end;
	long long x;

	if (!s || !*s)
		return VT_EPARSE;
	if (!((*s >= '0' && *s <= '9') || *s == '-'))
		return VT_EPARSE;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || *end || x < min || x > max)
		return VT_EPARSE;
	*v = x;
	return VT_OK;
}

int vt_arc_seg_parse(const char *const f[VT_ARC_SEG_NFIELDS],
		     struct vt_arc_seg *s)
{
	int64_t v[VT_ARC_SEG_NFIELDS];
	static const int64_t lim[VT_ARC_SEG_NFIELDS][2] = {
		{ 1, INT64_MAX },                 /* msm_id */
		{ 0, INT32_MAX },                 /* prb_id */
		{ 0, INT32_MAX },                 /* seg */
		{ 0, INT64_MAX },                 /* off */
		{ BZ_MIN_STREAM, UINT32_MAX },    /* clen */
		{ 0, (int64_t)VT_ARC_SEG_MAX },   /* rlen */
		{ 0, UINT32_MAX },                /* count */
		{ INT64_MIN, INT64_MAX },         /* first_ts */
		{ INT64_MIN, INT64_MAX },         /* last_ts */
		{ 0, UINT32_MAX },                /* crc */
	};

	for (int i = 0; i < VT_ARC_SEG_NFIELDS; i++) {
		const char *t = f[i];

		if (i == 1 && t && !*t)
			t = "0";
		if (parse_i64(t, lim[i][0], lim[i][1], &v[i]) < 0)
			return VT_EPARSE;
	}
	s->msm_id = v[0];
	s->prb_id = v[1];
	s->seg = (int32_t)v[2];
	s->off = (uint64_t)v[3];
	s->clen = (uint64_t)v[4];
	s->rlen = (uint64_t)v[5];
	s->count = (uint32_t)v[6];
	s->first_ts = v[7];
	s->last_ts = v[8];
	s->crc = (uint32_t)v[9];
	return VT_OK;
}

int vt_arc_check_layout(const struct vt_arc_seg *segs, size_t n,
			uint64_t size, size_t *bad)
{
	uint64_t at = 0;

	for (size_t i = 0; i < n; i++) {
		const struct vt_arc_seg *s = &segs[i];

		*bad = i;
		if (s->seg != (int32_t)i || s->off != at ||
		    s->clen < BZ_MIN_STREAM || s->clen > size - at ||
		    s->rlen > VT_ARC_SEG_MAX || s->count > s->rlen ||
		    (s->count == 0) != (s->rlen == 0) ||
		    s->first_ts > s->last_ts)
			return VT_ECORRUPT;
		at += s->clen;
	}
	*bad = n;
	return at == size ? VT_OK : VT_ECORRUPT;
}

int vt_arc_plan(const struct vt_arc_seg *segs, size_t n,
		struct vt_arc_range *ranges, size_t *nranges)
{
	size_t k = 0;

	*nranges = 0;
	for (size_t i = 0; i < n; i++) {
		const struct vt_arc_seg *s = &segs[i];

		if (s->clen > UINT64_MAX - s->off)
			return VT_EINVAL;
		if (k && ranges[k - 1].off + ranges[k - 1].len == s->off) {
			ranges[k - 1].len += s->clen;
			ranges[k - 1].n++;
			continue;
		}
		if (k && ranges[k - 1].off + ranges[k - 1].len > s->off)
			return VT_EINVAL;
		ranges[k].off = s->off;
		ranges[k].len = s->clen;
		ranges[k].first = i;
		ranges[k].n = 1;
		k++;
	}
	*nranges = k;
	return VT_OK;
}

int vt_arc_line_info(const char *line, size_t len, int64_t *ts,
		     int64_t *prb)
{
	json_t *j = json_loadb(line, len, 0, NULL);
	json_t *t, *pr;
	int ret = VT_EPARSE;

	if (!j)
		return VT_EPARSE;
	t = json_object_get(j, "timestamp");
	pr = json_object_get(j, "prb_id");
	*prb = json_is_integer(pr) ? json_integer_value(pr) : 0;
	if (json_is_integer(t)) {
		*ts = json_integer_value(t);
		ret = VT_OK;
	}
	json_decref(j);
	return ret;
}
