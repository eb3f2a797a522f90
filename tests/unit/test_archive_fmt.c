/* test_archive_fmt.c - the archive format: segments, index rows, ranges;
 * and the folder object store. */
#include <bzlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "common/buf.h"
#include "storage/archive_fmt.h"
#include "storage/objstore.h"

static const char *lines =
	"{\"msm_id\":1000001,\"prb_id\":1001,\"timestamp\":1767571200,\"type\":\"ping\"}\n"
	"{\"msm_id\":1000001,\"prb_id\":1001,\"timestamp\":1767571440,\"type\":\"ping\"}\n"
	"{\"msm_id\":1000001,\"prb_id\":1001,\"timestamp\":1767571680,\"type\":\"ping\"}\n";

static void make_seg(struct vt_arc_seg *s, const char *raw, uint32_t count,
		     struct vt_buf *obj)
{
	memset(s, 0, sizeof *s);
	s->msm_id = 1000001;
	s->prb_id = 1001;
	s->off = obj->len;
	s->rlen = strlen(raw);
	s->count = count;
	CHECK_INT(vt_arc_compress(raw, strlen(raw), obj, &s->crc), 0);
	s->clen = obj->len - s->off;
}

static void test_roundtrip(void)
{
	struct vt_buf obj, dec;
	struct vt_arc_seg s[2];
	const char *why;
	char *copy;
	unsigned int outlen;
	char whole[4096];

	vt_buf_init(&obj, 0);
	vt_buf_init(&dec, 0);
	make_seg(&s[0], lines, 3, &obj);
	make_seg(&s[1], "", 0, &obj);
	s[1].seg = 1;
	CHECK_INT(s[1].clen, 14);
	CHECK_INT(vt_arc_decode(&s[0], (uint8_t *)obj.data, s[0].clen, &dec, &why), 0);
	CHECK_INT(dec.len, strlen(lines));
	CHECK(dec.len == strlen(lines) && !memcmp(dec.data, lines, dec.len));
	vt_buf_reset(&dec);
	CHECK_INT(vt_arc_decode(&s[1], (uint8_t *)obj.data + s[1].off, s[1].clen,
				&dec, &why), 0);
	CHECK_INT(dec.len, 0);

	/* libbz2's one-shot decoder reads the first stream of the object. */
	outlen = sizeof whole;
	CHECK_INT(BZ2_bzBuffToBuffDecompress(whole, &outlen, obj.data,
					     (unsigned)obj.len, 0, 0), BZ_OK);
	CHECK_INT(outlen, strlen(lines));

	/* Each check that guards the data. */
	s[0].crc ^= 1;
	CHECK_INT(vt_arc_decode(&s[0], (uint8_t *)obj.data, s[0].clen, &dec, &why),
		  VT_ECORRUPT);
	CHECK_STR(why, "stream CRC differs from the index");
	s[0].crc ^= 1;
	s[0].rlen--;
	CHECK_INT(vt_arc_decode(&s[0], (uint8_t *)obj.data, s[0].clen, &dec, &why),
		  VT_ECORRUPT);
	CHECK_STR(why, "segment decodes to more than its raw length");
	s[0].rlen += 2;
	CHECK_INT(vt_arc_decode(&s[0], (uint8_t *)obj.data, s[0].clen, &dec, &why),
		  VT_ECORRUPT);
	CHECK_STR(why, "segment decodes to less than its raw length");
	s[0].rlen--;
	s[0].count = 2;
	CHECK_INT(vt_arc_decode(&s[0], (uint8_t *)obj.data, s[0].clen, &dec, &why),
		  VT_ECORRUPT);
	CHECK_STR(why, "result count differs from the index");
	s[0].count = 3;
	CHECK_INT(vt_arc_decode(&s[0], (uint8_t *)obj.data, s[0].clen - 1, &dec,
				&why), VT_ECORRUPT);
	CHECK_STR(why, "segment length differs from the index");
	CHECK_INT(dec.len, 0);

	/* A flipped byte in the middle: libbz2's block CRC catches it. */
	copy = malloc(s[0].clen);
	memcpy(copy, obj.data, s[0].clen);
	copy[s[0].clen / 2] ^= 0x20;
	CHECK_INT(vt_arc_decode(&s[0], (uint8_t *)copy, s[0].clen, &dec, &why),
		  VT_ECORRUPT);
	CHECK(why != NULL);
	CHECK_INT(dec.len, 0);
	free(copy);
	vt_buf_free(&obj);
	vt_buf_free(&dec);
}

static void test_big(void)
{
	/* Over one 900 kB block: several blocks, one stream. */
	struct vt_buf raw, obj, dec;
	struct vt_arc_seg s;
	const char *why;

	vt_buf_init(&raw, 0);
	vt_buf_init(&obj, 0);
	vt_buf_init(&dec, 0);
	int bad = 0;

	for (int i = 0; i < 30000; i++)
		bad |= vt_buf_addf(&raw, "{\"timestamp\":%d,\"x\":%d}\n",
				   1767571200 + i, i * 7919 % 100003);
	CHECK_INT(bad, 0);
	CHECK(raw.len > 900000);
	make_seg(&s, raw.data, 30000, &obj);
	CHECK_INT(vt_arc_decode(&s, (uint8_t *)obj.data, s.clen, &dec, &why), 0);
	CHECK(dec.len == raw.len && !memcmp(dec.data, raw.data, raw.len));
	vt_buf_free(&raw);
	vt_buf_free(&obj);
	vt_buf_free(&dec);
}

static void test_index(void)
{
	const char *f[VT_ARC_SEG_NFIELDS] = { "1000001", "", "3", "100", "40",
		"500", "2", "1767571200", "1767571440", "4294967295" };
	struct vt_arc_seg s[4], t;
	struct vt_arc_range r[4];
	size_t n, bad;

	CHECK_INT(vt_arc_seg_parse(f, &t), 0);
	CHECK_INT(t.prb_id, 0);
	CHECK_INT(t.seg, 3);
	CHECK(t.crc == 4294967295u);
	f[9] = "4294967296";
	CHECK_INT(vt_arc_seg_parse(f, &t), VT_EPARSE);
	f[9] = "1";
	f[3] = "-1";
	CHECK_INT(vt_arc_seg_parse(f, &t), VT_EPARSE);
	f[3] = "12x";
	CHECK_INT(vt_arc_seg_parse(f, &t), VT_EPARSE);
	f[3] = "12";
	f[0] = NULL;
	CHECK_INT(vt_arc_seg_parse(f, &t), VT_EPARSE);

	memset(s, 0, sizeof s);
	for (int i = 0; i < 4; i++) {
		s[i].seg = i;
		s[i].off = (uint64_t)i * 20;
		s[i].clen = 20;
		s[i].rlen = 50;
		s[i].count = 1;
	}
	CHECK_INT(vt_arc_check_layout(s, 4, 80, &bad), 0);
	CHECK_INT(vt_arc_check_layout(s, 4, 81, &bad), VT_ECORRUPT);
	CHECK_INT(bad, 4);
	CHECK_INT(vt_arc_check_layout(s, 4, 70, &bad), VT_ECORRUPT);
	CHECK_INT(bad, 3);
	s[2].count = 0;
	CHECK_INT(vt_arc_check_layout(s, 4, 80, &bad), VT_ECORRUPT);
	CHECK_INT(bad, 2);
	s[2].count = 1;

	/* Adjacent segments merge; a gap starts a new range. */
	CHECK_INT(vt_arc_plan(s, 4, r, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(r[0].len, 80);
	CHECK_INT(r[0].n, 4);
	s[1] = s[3];
	CHECK_INT(vt_arc_plan(s, 2, r, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(r[1].off, 60);
	CHECK_INT(r[1].first, 1);
	s[1].off = 10;
	CHECK_INT(vt_arc_plan(s, 2, r, &n), VT_EINVAL);
}

static void test_line_info(void)
{
	int64_t ts, prb;

	CHECK_INT(vt_arc_line_info("{\"prb_id\":7,\"timestamp\":12}", 27, &ts, &prb), 0);
	CHECK_INT(ts, 12);
	CHECK_INT(prb, 7);
	CHECK_INT(vt_arc_line_info("{\"timestamp\":\"12\"}", 18, &ts, &prb), VT_EPARSE);
	CHECK_INT(vt_arc_line_info("[1]", 3, &ts, &prb), VT_EPARSE);
}

static void test_file_store(void)
{
	char dir[] = "/tmp/vantage-objstore.XXXXXX", url[64], err[512], etag[VT_OBJ_ETAG_MAX];
	struct vt_objstore *st;
	struct vt_buf b;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(url, sizeof url, "file://%s", dir);
	vt_buf_init(&b, 0);
	CHECK_INT(vt_objstore_open(url, &st, err, sizeof err), 0);
	CHECK_INT(vt_objstore_put(st, "results/2026/01/05/1.bz2", "hello world", 11,
				  etag, err, sizeof err), 0);
	CHECK_STR(etag, "5eb63bbbe01eeed093cb22bb8f5acdc3");
	CHECK_INT(vt_objstore_get(st, "results/2026/01/05/1.bz2", 6, 5, &b, err,
				  sizeof err), 0);
	CHECK_STR(b.data, "world");
	CHECK_INT(vt_objstore_get(st, "results/2026/01/05/1.bz2", 0, 0, &b, err,
				  sizeof err), 0);
	CHECK_STR(b.data, "worldhello world");
	CHECK_INT(vt_objstore_get(st, "results/2026/01/05/1.bz2", 6, 6, &b, err,
				  sizeof err), VT_ECORRUPT);
	CHECK_INT(b.len, 16);
	CHECK_INT(vt_objstore_get(st, "results/2026/01/05/2.bz2", 0, 1, &b, err,
				  sizeof err), VT_ENOTFOUND);
	CHECK_INT(vt_objstore_get(st, "../etc/passwd", 0, 1, &b, err, sizeof err),
		  VT_EINVAL);
	CHECK_INT(vt_objstore_put(st, "a//b", "x", 1, etag, err, sizeof err),
		  VT_EINVAL);
	vt_objstore_free(st);
	CHECK_INT(vt_objstore_open("ftp://x", &st, err, sizeof err), VT_EINVAL);
	CHECK_INT(vt_objstore_open("http://127.0.0.1:1/x", &st, err, sizeof err), 0);
	CHECK_INT(vt_objstore_put(st, "k", "x", 1, etag, err, sizeof err), VT_EUNSUPP);
	vt_objstore_free(st);
	vt_objstore_free(NULL);
	vt_buf_free(&b);
	{
		char cmd[128];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		CHECK_INT(system(cmd), 0);
	}
}

int main(void)
{
	test_roundtrip();
	test_big();
	test_index();
	test_line_info();
	test_file_store();
	return CHECK_DONE();
}
