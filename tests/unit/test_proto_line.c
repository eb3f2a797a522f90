/* test_proto_line - result lines the sink cannot queue as text
 * (vt_report_line_check) and their storable form (vt_report_line_escape). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/buf.h"
#include "proto/upload.h"

#define LIT(s) s, sizeof s - 1

static enum vt_line_fault check(const char *s, size_t n, long *at)
{
	size_t a = 9999;
	enum vt_line_fault f = vt_report_line_check(s, n, &a);

	*at = f == VT_LINE_OK ? -1 : (long)a;
	return f;
}

static void test_check(void)
{
	long at;

	CHECK_INT(check(LIT("{\"a\":1}"), &at), VT_LINE_OK);
	CHECK_INT(check(LIT(""), &at), VT_LINE_OK);
	/* valid multi-byte: e-acute, euro, U+10FFFF, an emoji */
	CHECK_INT(check(LIT("{\"n\":\"\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf\xf0\x9f\x98\x80\"}"), &at),
		  VT_LINE_OK);
	CHECK_INT(check(LIT("{\"bad\":\"\xff\xfe\"}"), &at), VT_LINE_UTF8);
	CHECK_INT(at, 8);
	CHECK_INT(check(LIT("{\"a\":\"x\0y\"}"), &at), VT_LINE_NUL);
	CHECK_INT(at, 7);
	/* overlong, surrogate, past U+10FFFF, truncated, lone continuation */
	CHECK_INT(check(LIT("\xc0\xaf"), &at), VT_LINE_UTF8);
	CHECK_INT(check(LIT("\xe0\x80\xaf"), &at), VT_LINE_UTF8);
	CHECK_INT(check(LIT("\xf0\x80\x80\xaf"), &at), VT_LINE_UTF8);
	CHECK_INT(check(LIT("a\xed\xa0\x80"), &at), VT_LINE_UTF8);
	CHECK_INT(at, 1);
	CHECK_INT(check(LIT("\xf4\x90\x80\x80"), &at), VT_LINE_UTF8);
	CHECK_INT(check(LIT("ab\xe2\x82"), &at), VT_LINE_UTF8);
	CHECK_INT(at, 2);
	CHECK_INT(check(LIT("\x80"), &at), VT_LINE_UTF8);
	CHECK_INT(check(LIT("\xf5\x80\x80\x80"), &at), VT_LINE_UTF8);
	CHECK_STR(vt_line_fault_name(VT_LINE_NUL), "NUL byte");
	CHECK_STR(vt_line_fault_name(VT_LINE_UTF8), "not UTF-8");
}

/* A NUL, a byte that is not UTF-8 and a valid sequence at every offset
 * and alignment of a longer ASCII line (the check reads eight bytes at a
 * time): the fault and its place are the first one's. */
static void test_positions(void)
{
	char line[80];
	long at;
	int bad = 0;

	for (int start = 0; start < 8; start++)
		for (int len = 1; len + start <= 72; len++)
			for (int pos = 0; pos < len; pos++) {
				char *l = line + start;

				memset(line, 'a', sizeof line);
				l[pos] = '\0';
				bad += check(l, (size_t)len, &at) != VT_LINE_NUL || at != pos;
				l[pos] = (char)0xff;
				bad += check(l, (size_t)len, &at) != VT_LINE_UTF8 || at != pos;
				if (pos + 1 < len) {
					l[pos] = (char)0xc3;
					l[pos + 1] = (char)0xa9;
					bad += check(l, (size_t)len, &at) != VT_LINE_OK;
					if (pos + 2 < len) {
						l[pos + 2] = '\0';
						bad += check(l, (size_t)len, &at) != VT_LINE_NUL ||
						       at != pos + 2;
					}
				}
				memset(line, 'a', sizeof line);
				bad += check(l, (size_t)len, &at) != VT_LINE_OK;
			}
	CHECK_INT(bad, 0);
}

static void test_escape(void)
{
	struct vt_buf b;
	long at;

	vt_buf_init(&b, 0);
	CHECK_INT(vt_report_line_escape(&b, LIT("{\"bad\":\"\xff\xfe\"}")), VT_OK);
	CHECK_INT(b.len, strlen("{\"bad\":\"\\xff\\xfe\"}"));
	CHECK(b.data && memcmp(b.data, "{\"bad\":\"\\xff\\xfe\"}", b.len) == 0);
	CHECK_INT(check(b.data, b.len, &at), VT_LINE_OK);
	vt_buf_reset(&b);
	CHECK_INT(vt_report_line_escape(&b, LIT("x\0\xc3\xa9\xe2\x82")), VT_OK);
	CHECK(b.data && b.len == strlen("x\\x00\xc3\xa9\\xe2\\x82") &&
	      memcmp(b.data, "x\\x00\xc3\xa9\\xe2\\x82", b.len) == 0);
	vt_buf_reset(&b);
	CHECK_INT(vt_report_line_escape(&b, LIT("{\"ok\":\"\xc3\xa9\"}")), VT_OK);
	CHECK(b.data && b.len == 11 && memcmp(b.data, "{\"ok\":\"\xc3\xa9\"}", 11) == 0);
	vt_buf_free(&b);
}

int main(void)
{
	test_check();
	test_positions();
	test_escape();
	return CHECK_DONE();
}
