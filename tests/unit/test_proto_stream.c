/* test_proto_stream - the live stream's wire formats (proto/stream.h): the
 * client messages, the server's answers, and the NOTIFY vantage_stream
 * payload built from stored rows and parsed back. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/buf.h"
#include "proto/stream.h"

#define LIT(s) s, sizeof s - 1

static void test_msg(void)
{
	struct vt_stream_msg m;
	char err[192];

	CHECK_INT(vt_stream_msg_parse(LIT("[\"atlas_subscribe\", {\"stream_type\": \"result\","
		" \"msm\": 1001, \"prb\": 7, \"sendBacklog\": true, \"buffering\": true}]"),
		&m, err, sizeof err), VT_OK);
	CHECK(m.type == VT_STREAM_SUBSCRIBE && m.msm == 1001 && m.prb == 7 && m.backlog == 1);
	CHECK_INT(vt_stream_msg_parse(LIT("[\"atlas_subscribe\",{\"streamType\":\"result\",\"msm\":\"42\"}]"),
		&m, err, sizeof err), VT_OK);
	CHECK(m.msm == 42 && m.prb == 0 && m.backlog == 0);
	CHECK_INT(vt_stream_msg_parse(LIT("[\"atlas_unsubscribe\",{\"stream_type\":\"result\",\"msm\":42}]"),
		&m, err, sizeof err), VT_OK);
	CHECK(m.type == VT_STREAM_UNSUBSCRIBE);
	CHECK_INT(vt_stream_msg_parse(LIT("[\"atlas_subscribe\",{\"stream_type\":\"result\"}]"),
		&m, err, sizeof err), VT_EPARSE);
	CHECK_STR(err, "msm is required");
	CHECK_INT(vt_stream_msg_parse(LIT("[\"atlas_subscribe\",{\"stream_type\":\"result\",\"msm\":0}]"),
		&m, err, sizeof err), VT_EPARSE);
	CHECK_INT(vt_stream_msg_parse(LIT("[\"atlas_subscribe\",{\"stream_type\":\"result\",\"msm\":\"1 \"}]"),
		&m, err, sizeof err), VT_EPARSE);
	CHECK_INT(vt_stream_msg_parse(LIT("[\"atlas_subscribe\",{\"stream_type\":\"result\",\"msm\":1.5}]"),
		&m, err, sizeof err), VT_EPARSE);
	CHECK_INT(vt_stream_msg_parse(LIT("[\"atlas_subscribe\",{\"stream_type\":\"result\",\"streamType\":\"result\",\"msm\":1}]"),
		&m, err, sizeof err), VT_EPARSE);
	CHECK_INT(vt_stream_msg_parse(LIT("[\"atlas_subscribe\",{\"stream_type\":\"result\",\"msm\":1,\"prb\":2147483648}]"),
		&m, err, sizeof err), VT_EPARSE);
	CHECK_INT(vt_stream_msg_parse(LIT("[\"atlas_subscribe\",{},3]"), &m, err, sizeof err), VT_EPARSE);
	CHECK_INT(vt_stream_msg_parse(LIT("\"atlas_subscribe\""), &m, err, sizeof err), VT_EPARSE);
}

static void test_fmt(void)
{
	struct vt_stream_msg m = { VT_STREAM_SUBSCRIBE, 1001, 7, 1 };
	struct vt_buf b;

	vt_buf_init(&b, 0);
	CHECK_INT(vt_stream_fmt_subscribed(&b, &m), VT_OK);
	CHECK_STR(b.data, "[\"atlas_subscribed\",{\"stream_type\":\"result\",\"msm\":1001,\"prb\":7}]");
	vt_buf_reset(&b);
	CHECK_INT(vt_stream_fmt_error(&b, "bad \"x\"\n"), VT_OK);
	CHECK_STR(b.data, "[\"atlas_error\",\"bad \\\"x\\\"\\n\"]");
	vt_buf_reset(&b);
	CHECK_INT(vt_stream_fmt_result(&b, LIT("{\"a\":1}")), VT_OK);
	CHECK_STR(b.data, "[\"atlas_result\",{\"a\":1}]");
	vt_buf_free(&b);
}

static void test_note(void)
{
	static const struct vt_stream_row rows[] = {
		{ 5, 10 }, { 5, 11 }, { 5, 12 }, { 5, 20 }, { 9, 13 }, { 9, 14 },
	};
	struct vt_stream_row *many;
	struct vt_stream_note n;
	struct vt_buf b;
	size_t at = 0, total = 0, k = 0;
	int payloads = 0;

	vt_buf_init(&b, 0);
	CHECK_INT(vt_stream_note_build(rows, 6, &at, &b), VT_OK);
	CHECK_INT(at, 6);
	CHECK_STR(b.data, "5:10-12,20-20 9:13-14");
	vt_buf_reset(&b);
	CHECK_INT(vt_buf_adds(&b, "77 5:10-12,20-20 9:13-14"), VT_OK);
	CHECK_INT(vt_stream_note_parse(b.data, &n), VT_OK);
	CHECK(n.xid == 77 && n.n == 3);
	CHECK(n.r[1].msm == 5 && n.r[1].lo == 20 && n.r[1].hi == 20);
	CHECK(n.r[2].msm == 9 && n.r[2].lo == 13 && n.r[2].hi == 14);
	vt_stream_note_free(&n);
	CHECK_INT(vt_stream_note_parse("77", &n), VT_EPARSE);
	CHECK_INT(vt_stream_note_parse("77 5:3-2", &n), VT_EPARSE);
	CHECK_INT(vt_stream_note_parse("77 5:0-2", &n), VT_EPARSE);
	CHECK_INT(vt_stream_note_parse("77 ,3-4", &n), VT_EPARSE);
	CHECK_INT(vt_stream_note_parse("77 5:3-4 ", &n), VT_EPARSE);
	CHECK_INT(vt_stream_note_parse("77 5:99999999999999999999-1", &n), VT_EPARSE);
	/* rows with no two seq adjacent need several payloads, each under
	 * the cap, and name every row once */
	many = calloc(5000, sizeof *many);
	for (int i = 0; many && i < 5000; i++)
		many[i] = (struct vt_stream_row){ 1000 + i / 1000, 2 * i + 1 };
	at = 0;
	while (many && at < 5000) {
		char txt[VT_STREAM_NOTE_MAX + 64];

		vt_buf_reset(&b);
		CHECK_INT(vt_stream_note_build(many, 5000, &at, &b), VT_OK);
		CHECK(b.len <= VT_STREAM_NOTE_MAX);
		snprintf(txt, sizeof txt, "1 %s", b.data);
		CHECK_INT(vt_stream_note_parse(txt, &n), VT_OK);
		for (size_t i = 0; i < n.n; i++, k++)
			if (n.r[i].lo != many[k].seq || n.r[i].hi != many[k].seq ||
			    n.r[i].msm != many[k].msm)
				break;
		total += n.n;
		vt_stream_note_free(&n);
		payloads++;
	}
	CHECK_INT(total, 5000);
	CHECK_INT(k, 5000);
	CHECK(payloads > 1);
	free(many);
	vt_buf_free(&b);
}

int main(void)
{
	test_msg();
	test_fmt();
	test_note();
	return CHECK_DONE();
}
