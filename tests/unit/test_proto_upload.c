/* test_proto_upload.c - the httppost upload: request head, report body and
 * reply, against the transcripts in tests/data/proto/. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proto/upload.h"

#define LIT(s) s, sizeof(s) - 1

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* Collects the JSON texts, one per line. */
static int collect(void *arg, const char *json, size_t len)
{
	struct vt_buf *b = arg;
	int r = vt_buf_add(b, json, len);

	return r < 0 ? r : vt_buf_addc(b, '\n');
}

static int stop_at_two(void *arg, const char *json, size_t len)
{
	int *n = arg;

	return ++*n == 2 ? VT_EAUTH : 0;
}

static void test_request(void)
{
	struct vt_upload_req req;
	struct vt_buf b, got;
	size_t len = 0, blen = 0;
	char *http = slurp("tests/data/proto/upload_request.http", &len);
	char *body = slurp("tests/data/proto/report_body.txt", &blen);
	char *want = slurp("tests/data/proto/report_body.expected", &blen);
	char sid[VT_SESSION_ID_MAX + 1];
	int n;

	CHECK(http && body && want);
	if (!http || !body || !want)
		goto out;
	blen = strlen(body);
	CHECK_INT(vt_upload_req_parse(http, len, &req), VT_OK);
	CHECK_STR(req.method, "POST");
	CHECK_INT(req.probe_id, 1016425);
	CHECK_STR(req.session_id, "0123456789abcdef0123456789abcdef");
	CHECK_STR(req.src, "");
	CHECK_INT(req.content_length, (long)blen);
	CHECK_INT(req.head_len + blen, len);
	CHECK(memcmp(http + req.head_len, body, blen) == 0);

	/* the head arrives in pieces */
	for (size_t k = 0; k < req.head_len; k += 7) {
		struct vt_upload_req part;

		if (vt_upload_req_parse(http, k, &part) != VT_EAGAIN) {
			CHECK(!"partial head not EAGAIN");
			break;
		}
	}

	/* the probe's formatter gives back the same bytes */
	vt_buf_init(&b, 2 * VT_UPLOAD_MAX_BODY);
	CHECK_INT(vt_upload_req_format(&b, 1016425, "0123456789abcdef0123456789abcdef",
				       NULL, body, blen), VT_OK);
	CHECK_INT(b.len, len);
	CHECK(b.len == len && memcmp(b.data, http, len) == 0);

	/* the body: RESULT JSON lines only, legacy and condmv lines skipped */
	vt_buf_init(&got, 0);
	CHECK_INT(vt_report_parse(body, blen, collect, &got, sid, sizeof sid, &n), VT_OK);
	CHECK_INT(n, 4);
	CHECK_STR(got.data, want);
	CHECK_STR(sid, "0123456789abcdef0123456789abcdef");
	n = 0;
	CHECK_INT(vt_report_parse(body, blen, stop_at_two, &n, NULL, 0, NULL), VT_EAUTH);
	CHECK_INT(vt_report_parse(body, blen, NULL, NULL, sid, 8, &n), VT_EPARSE);
	vt_buf_free(&got);

	/* SRC=oneoff */
	vt_buf_reset(&b);
	CHECK_INT(vt_upload_req_format(&b, 7, "ab", "oneoff", LIT("P_TO_C_REPORT\n")), VT_OK);
	CHECK_INT(vt_upload_req_parse(b.data, b.len, &req), VT_OK);
	CHECK_STR(req.src, "oneoff");
	CHECK_INT(req.probe_id, 7);
	CHECK_INT(req.content_length, 14);
	CHECK_INT(vt_upload_req_format(&b, 7, "not hex", NULL, "", 0), VT_EINVAL);
	CHECK_INT(vt_upload_req_format(&b, 7, "ab", "a&b", "", 0), VT_EINVAL);
	vt_buf_free(&b);
out:
	free(http);
	free(body);
	free(want);
}

static void test_request_bad(void)
{
	struct vt_upload_req r;
	char *big;

	/* curl's head (no SESSION_ID, lower-case header names) */
	CHECK_INT(vt_upload_req_parse(LIT("POST /?PROBE_ID=3 HTTP/1.1\r\nhost: x\r\n"
					  "content-length: 0\r\n\r\n"), &r), VT_OK);
	CHECK_INT(r.probe_id, 3);
	CHECK_STR(r.session_id, "");
	CHECK_INT(r.content_length, 0);
	CHECK_INT(vt_upload_req_parse(LIT("POST / HTTP/1.0\n\n"), &r), VT_OK);
	CHECK_INT(r.probe_id, -1);
	CHECK_INT(r.content_length, -1);
	CHECK_INT(r.head_len, 17);
	/* a probe never speaks for two */
	CHECK_INT(vt_upload_req_parse(LIT("POST /?PROBE_ID=3&PROBE_ID=4 HTTP/1.1\r\n\r\n"), &r), VT_EPARSE);
	CHECK_INT(vt_upload_req_parse(LIT("POST /?PROBE_ID=3x HTTP/1.1\r\n\r\n"), &r), VT_EPARSE);
	CHECK_INT(vt_upload_req_parse(LIT("POST /?SESSION_ID=zz HTTP/1.1\r\n\r\n"), &r), VT_EPARSE);
	CHECK_INT(vt_upload_req_parse(LIT("POST / HTTP/1.1\r\nContent-Length: 1\r\n"
					  "Content-Length: 1\r\n\r\n"), &r), VT_EPARSE);
	CHECK_INT(vt_upload_req_parse(LIT("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), &r), VT_EPARSE);
	CHECK_INT(vt_upload_req_parse(LIT("POST / HTTP/1.1\r\nContent-Length: 1000001\r\n\r\n"), &r), VT_ETOOBIG);
	CHECK_INT(vt_upload_req_parse(LIT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), &r), VT_EPARSE);
	CHECK_INT(vt_upload_req_parse(LIT("POST / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), &r), VT_EPARSE);
	CHECK_INT(vt_upload_req_parse(LIT("POST / HTTP/2\r\n\r\n"), &r), VT_EPARSE);
	CHECK_INT(vt_upload_req_parse(LIT("post / HTTP/1.1\r\n\r\n"), &r), VT_EPARSE);
	CHECK_INT(vt_upload_req_parse(LIT("POST / HTTP/1.1\r\nNoColon\r\n\r\n"), &r), VT_EPARSE);
	CHECK_INT(vt_upload_req_parse(LIT("POST / HTTP/1.1\r\n"), &r), VT_EAGAIN);
	big = malloc(VT_UPLOAD_MAX_HEAD + 10);
	memcpy(big, "POST / HTTP/1.1\r\nX: ", 20);
	memset(big + 20, 'a', VT_UPLOAD_MAX_HEAD - 10);
	CHECK_INT(vt_upload_req_parse(big, VT_UPLOAD_MAX_HEAD + 10, &r), VT_ETOOBIG);
	free(big);
}

static void test_report_edges(void)
{
	char sid[VT_SESSION_ID_MAX + 1];
	int n;

	CHECK_INT(vt_report_parse(LIT("RESULT {}\n"), NULL, NULL, sid, sizeof sid, &n), VT_EPARSE);
	CHECK_INT(vt_report_parse(LIT(""), NULL, NULL, sid, sizeof sid, &n), VT_EPARSE);
	CHECK_INT(vt_report_parse(LIT("P_TO_C_REPORT\r\nRESULT {\"a\":1}\r\n"
				      "RESULT 9000 done 1 2\r\nRESULT\r\nRESULT  \r\n"
				      "9999 1 /home/atlas/data/new/1\r\n"),
				  NULL, NULL, sid, sizeof sid, &n), VT_OK);
	CHECK_INT(n, 1);
	CHECK_STR(sid, "");
	CHECK_INT(vt_report_parse(LIT("P_TO_C_REPORT\nSESSION_ID ab\nSESSION_ID ab\n"),
				  NULL, NULL, sid, sizeof sid, &n), VT_OK);
	CHECK_STR(sid, "ab");
	CHECK_INT(vt_report_parse(LIT("P_TO_C_REPORT\nSESSION_ID ab\nSESSION_ID cd\n"),
				  NULL, NULL, sid, sizeof sid, &n), VT_EPARSE);
	/* no final newline */
	CHECK_INT(vt_report_parse(LIT("P_TO_C_REPORT\nRESULT {}"), NULL, NULL, NULL, 0, &n), VT_OK);
	CHECK_INT(n, 1);
}

static void test_reply(void)
{
	struct vt_buf b;
	const char *body;
	size_t blen, len = 0;
	long long date;
	int status;
	char *txt = slurp("tests/data/proto/upload_reply_ok.http", &len);

	CHECK(txt != NULL);
	if (!txt)
		return;
	CHECK_INT(vt_upload_reply_parse(txt, len, 0, &status, &body, &blen, &date), VT_OK);
	CHECK_INT(status, 200);
	CHECK_INT(blen, 3);
	CHECK_INT(date, 1700000000);
	CHECK(vt_upload_acked(status, body, blen));
	CHECK_INT(vt_upload_reply_parse(txt, len - 1, 0, &status, &body, &blen, &date), VT_EAGAIN);
	CHECK_INT(vt_upload_reply_parse(txt, len - 1, 1, &status, &body, &blen, &date), VT_EPARSE);

	/* the gateway's formatter gives back the same bytes */
	vt_buf_init(&b, 4096);
	CHECK_INT(vt_upload_reply_format(&b, 200, "OK", "OK\n", 1700000000), VT_OK);
	CHECK_STR(b.data, txt);
	free(txt);

	txt = slurp("tests/data/proto/upload_reply_err.http", &len);
	CHECK(txt != NULL);
	if (txt) {
		CHECK_INT(vt_upload_reply_parse(txt, len, 1, &status, &body, &blen, &date), VT_OK);
		CHECK_INT(status, 503);
		CHECK(!vt_upload_acked(status, body, blen));
		free(txt);
	}

	/* acked only when 2xx and body starts "OK\n" */
	CHECK(!vt_upload_acked(200, "OK", 2));
	CHECK(!vt_upload_acked(200, "ok\n", 3));
	CHECK(!vt_upload_acked(302, "OK\n", 3));
	CHECK(vt_upload_acked(204, "OK\nmore", 7));

	/* no Content-Length: ends at EOF; no Date */
	CHECK_INT(vt_upload_reply_parse(LIT("HTTP/1.0 200 OK\r\n\r\nOK\n"), 0,
					&status, &body, &blen, &date), VT_EAGAIN);
	CHECK_INT(vt_upload_reply_parse(LIT("HTTP/1.0 200 OK\r\n\r\nOK\n"), 1,
					&status, &body, &blen, &date), VT_OK);
	CHECK_INT(date, -1);
	CHECK(vt_upload_acked(status, body, blen));
	CHECK_INT(vt_upload_reply_parse(LIT("HTTP/1.1 200\r\nDate: yesterday\r\n\r\n"), 1,
					&status, &body, &blen, &date), VT_OK);
	CHECK_INT(date, -1);
	CHECK_INT(vt_upload_reply_parse(LIT("HTTP/1.1 2000 OK\r\n\r\n"), 1,
					&status, &body, &blen, &date), VT_EPARSE);
	CHECK_INT(vt_upload_reply_parse(LIT("SSH-2.0-x\r\n\r\n"), 1,
					&status, &body, &blen, &date), VT_EPARSE);

	/* dates */
	CHECK_INT(vt_http_date_parse(LIT("Thu, 01 Jan 1970 00:00:00 GMT")), 0);
	CHECK_INT(vt_http_date_parse(LIT("Sun, 06 Nov 1994 08:49:37 GMT")), 784111777);
	CHECK_INT(vt_http_date_parse(LIT("Tue, 29 Feb 2028 12:00:00 GMT")), 1835438400);
	CHECK_INT(vt_http_date_parse(LIT("Sunday, 06-Nov-94 08:49:37 GMT")), -1);
	CHECK_INT(vt_http_date_parse(LIT("Sun, 06 Nov 1994 08:49:37 UTC")), -1);
	vt_buf_reset(&b);
	CHECK_INT(vt_upload_reply_format(&b, 200, "OK", NULL, 784111777), VT_OK);
	CHECK(strstr(b.data, "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n") != NULL);
	CHECK(strstr(b.data, "Content-Length: 0\r\n") != NULL);
	CHECK_INT(vt_upload_reply_format(&b, 200, "O\nK", NULL, 0), VT_EINVAL);
	vt_buf_free(&b);
}

int main(void)
{
	test_request();
	test_request_bad();
	test_report_edges();
	test_reply();
	return CHECK_DONE();
}
