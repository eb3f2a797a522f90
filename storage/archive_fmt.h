/* archive_fmt.h - the cold archive format, as pure functions (no I/O).
 *
 * An archive object is a concatenation of complete bzip2 streams (so it is
 * itself a valid .bz2 file).  Each stream is one segment: the results of
 * one probe (or, in the one-off object, of one measurement) for one day,
 * one JSON line each, ending in '\n'.  The index (archive_index in
 * PostgreSQL) describes each segment; this module encodes and decodes
 * segments, reads index rows from their text form and plans the byte
 * ranges a read needs.  See docs/archive.md. */
#ifndef VT_ARCHIVE_FMT_H
#define VT_ARCHIVE_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* A decoded segment never exceeds this (a probe-day of results). */
#define VT_ARC_SEG_MAX ((uint64_t)1 << 31)

/* One index row. */
struct vt_arc_seg {
	int64_t  msm_id;
	int64_t  prb_id;     /* 0 in the one-off object (one stream per measurement) */
	int32_t  seg;        /* position of the stream in the object, from 0 */
	uint64_t off;        /* byte offset of the stream in the object */
	uint64_t clen;       /* compressed length */
	uint64_t rlen;       /* decompressed length */
	uint32_t count;      /* results (lines) */
	int64_t  first_ts;   /* time of the first and last result */
	int64_t  last_ts;
	uint32_t crc;        /* the bzip2 stream CRC (from the stream trailer) */
};

/* Fields of an index row in text form, in this order (as PostgreSQL
 * returns them, and as docs/archive.md lists them). */
#define VT_ARC_SEG_NFIELDS 10

/* Compresses raw (rlen bytes) into one complete bzip2 stream appended to
 * out; *crc gets the stream CRC.  The block size follows the input size
 * (small segments need no 900 kB block).  VT_ENOMEM, VT_ETOOBIG, VT_EIO
 * (libbz2 failure). */
int vt_arc_compress(const void *raw, size_t rlen, struct vt_buf *out,
		    uint32_t *crc) VT_WUR;

/* Reads the stream CRC from the trailer of one bzip2 stream that ends
 * exactly at p + n.  VT_ECORRUPT when no trailer is there. */
int vt_arc_stream_crc(const uint8_t *p, size_t n, uint32_t *crc) VT_WUR;

/* Decodes one segment's bytes (p, n) against its index row: the length
 * must be seg->clen, the bytes one complete bzip2 stream whose trailer CRC
 * is seg->crc and whose data libbz2 accepts, decompressing to exactly
 * seg->rlen bytes holding seg->count lines.  The raw bytes are appended to
 * out.  On VT_ECORRUPT, *why (when not NULL) points at a static reason. */
int vt_arc_decode(const struct vt_arc_seg *seg, const uint8_t *p, size_t n,
		  struct vt_buf *out, const char **why) VT_WUR;

/* Parses an index row from its text fields (msm_id, prb_id (empty: 0),
 * seg, off, clen, rlen, count, first_ts, last_ts, crc).  VT_EPARSE when a
 * field is missing, not a number or out of range. */
int vt_arc_seg_parse(const char *const f[VT_ARC_SEG_NFIELDS],
		     struct vt_arc_seg *s) VT_WUR;

/* Checks that segs (in stream order) tile an object of size bytes: they
 * start at 0, follow each other without gap or overlap, end at size, and
 * counts, lengths and times are sane.  On VT_ECORRUPT *bad is the index of
 * the first bad segment (n when the total is wrong). */
int vt_arc_check_layout(const struct vt_arc_seg *segs, size_t n,
			uint64_t size, size_t *bad) VT_WUR;

/* A byte range covering segments first .. first + n - 1 (adjacent in the
 * object). */
struct vt_arc_range {
	uint64_t off;
	uint64_t len;
	size_t   first;
	size_t   n;
};

/* Merges the wanted segments (sorted by offset) into ranges: segments that
 * follow each other without a gap share one range.  ranges must have room
 * for n entries; *nranges gets the count.  VT_EINVAL when unsorted or
 * overlapping. */
int vt_arc_plan(const struct vt_arc_seg *segs, size_t n,
		struct vt_arc_range *ranges, size_t *nranges) VT_WUR;

/* Reads the top-level "timestamp" and "prb_id" members of a result line
 * (*prb is 0 when there is none).  VT_EPARSE when the line is not a JSON
 * object with an integer timestamp. */
int vt_arc_line_info(const char *line, size_t len, int64_t *ts,
		     int64_t *prb) VT_WUR;

#endif
