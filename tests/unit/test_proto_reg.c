/* test_proto_reg.c - registration and controller INIT texts, against the
 * transcripts in tests/data/proto/. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "proto/reg.h"

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

static void test_request(void)
{
	struct vt_reg_request req, back;
	struct vt_buf b;
	size_t len = 0;
	char *txt = slurp("tests/data/proto/reg_request.txt", &len);

	CHECK(txt != NULL);
	if (!txt)
		return;
	CHECK_INT(vt_reg_request_parse(txt, len, &req), VT_OK);
	CHECK_STR(req.arch, "x86_64");
	CHECK_STR(req.kernel, "5.10.0-26-amd64");
	CHECK_INT(req.firmware, 5120);
	CHECK_STR(req.os, "Linux/5.10.0/x86_64");
	CHECK_STR(req.token_specs, "x86_64 5.10.0-26-amd64 5120 Linux/5.10.0/x86_64");
	CHECK_INT(req.reason, VT_REG_NEW);

	/* format gives back the same bytes */
	vt_buf_init(&b, 4096);
	CHECK_INT(vt_reg_request_format(&req, &b), VT_OK);
	CHECK_STR(b.data, txt);
	CHECK_INT(vt_reg_request_parse(b.data, b.len, &back), VT_OK);
	CHECK_INT(back.firmware, 5120);

	/* from the words alone */
	vt_buf_reset(&b);
	req.token_specs[0] = '\0';
	req.reason = VT_REG_REREG_TIMER_EXPIRED;
	CHECK_INT(vt_reg_request_format(&req, &b), VT_OK);
	CHECK_STR(b.data, "P_TO_R_INIT\nTOKEN_SPECS x86_64 5.10.0-26-amd64 5120 "
		  "Linux/5.10.0/x86_64\nREASON_FOR_REGISTRATION REREG_TIMER_EXPIRED\n");
	req.reason = VT_REG_UNKNOWN;
	CHECK_INT(vt_reg_request_format(&req, &b), VT_EINVAL);
	vt_buf_free(&b);
	free(txt);

	/* tolerated: CRLF, unknown lines, odd reasons, missing specs */
	CHECK_INT(vt_reg_request_parse(LIT("P_TO_R_INIT\r\nFOO bar\r\n"
				       "REASON_FOR_REGISTRATION WAIT_OVER\r\n"), &req), VT_OK);
	CHECK_INT(req.reason, VT_REG_WAIT_OVER);
	CHECK_STR(req.token_specs, "");
	CHECK_INT(vt_reg_request_parse(LIT("P_TO_R_INIT\nREASON_FOR_REGISTRATION MAYBE\n"
				       "TOKEN_SPECS a b notanumber\n"), &req), VT_OK);
	CHECK_INT(req.reason, VT_REG_UNKNOWN);
	CHECK_INT(req.firmware, 0);
	CHECK_STR(req.kernel, "b");
	CHECK_STR(req.os, "");
	/* refused */
	CHECK_INT(vt_reg_request_parse(LIT("HELLO\n"), &req), VT_EPARSE);
	CHECK_INT(vt_reg_request_parse(LIT(""), &req), VT_EPARSE);
	{
		char big[2000];

		memset(big, 'A', sizeof big);
		memcpy(big, "P_TO_R_INIT\nX ", 14);
		CHECK_INT(vt_reg_request_parse(big, sizeof big, &req), VT_EPARSE);
	}
	{
		char *huge = calloc(1, 20000);

		memcpy(huge, "P_TO_R_INIT\n", 12);
		memset(huge + 12, '\n', 20000 - 12);
		CHECK_INT(vt_reg_request_parse(huge, 20000, &req), VT_ETOOBIG);
		free(huge);
	}
}

static void test_reply(void)
{
	struct vt_reg_reply r, back;
	struct vt_buf b;
	size_t len = 0;
	char *txt = slurp("tests/data/proto/reg_reply_ok.txt", &len);

	CHECK(txt != NULL);
	if (!txt)
		return;
	CHECK_INT(vt_reg_reply_parse(txt, len, &r), VT_OK);
	CHECK_INT(r.wait, 0);
	CHECK_INT(r.timestamp, 1700000000);
	CHECK_INT(r.probe_id, 1016425);
	CHECK_STR(r.ctrl_host, "ctr-ams01.example.net");
	CHECK_INT(r.ctrl_port, 443);
	CHECK_STR(r.ctrl_key_type, "ssh-rsa");
	CHECK(strncmp(r.ctrl_key, "AAAAB3NzaC1yc2E", 15) == 0);
	CHECK_INT(r.rereg, 7200);

	vt_buf_init(&b, 65536);
	CHECK_INT(vt_reg_reply_format(&r, &b), VT_OK);
	CHECK_STR(b.data, txt);
	CHECK(strstr(b.data, "FIRMWARE_APPS") == NULL);
	free(txt);

	/* quirks: CRLF, unknown tags, lowercase junk, v6 host, REREGISTER
	 * clamped, lines past the 16th ignored */
	txt = slurp("tests/data/proto/reg_reply_quirks.txt", &len);
	CHECK(txt != NULL);
	if (txt) {
		CHECK_INT(vt_reg_reply_parse(txt, len, &r), VT_OK);
		CHECK_INT(r.probe_id, 42);
		CHECK_STR(r.ctrl_host, "2001:db8::1");
		CHECK_INT(r.ctrl_port, 2222);
		CHECK_INT(r.rereg, VT_REREG_MIN);
		free(txt);
	}
	CHECK_INT(vt_reg_reply_parse(LIT("OK\nREREGISTER 99999999\n"), &r), VT_OK);
	CHECK_INT(r.rereg, VT_REREG_MAX);
	CHECK_INT(vt_reg_reply_parse(LIT("OK\nPROBE_ID 7\n"), &r), VT_OK);
	CHECK_INT(r.rereg, 0);
	CHECK_STR(r.ctrl_key, "");

	txt = slurp("tests/data/proto/reg_reply_wait.txt", &len);
	CHECK(txt != NULL);
	if (txt) {
		CHECK_INT(vt_reg_reply_parse(txt, len, &r), VT_OK);
		CHECK_INT(r.wait, 1);
		CHECK_INT(r.timeout, 300);
		vt_buf_reset(&b);
		CHECK_INT(vt_reg_reply_format(&r, &b), VT_OK);
		CHECK_STR(b.data, txt);
		free(txt);
	}

	/* malformed known values, bad first line */
	CHECK_INT(vt_reg_reply_parse(LIT("OK\nPROBE_ID x\n"), &r), VT_EPARSE);
	CHECK_INT(vt_reg_reply_parse(LIT("OK\nCONTROLLER h 70000 ssh-rsa AAAA\n"), &r), VT_EPARSE);
	CHECK_INT(vt_reg_reply_parse(LIT("OK\nCONTROLLER h 22 ssh-rsa\n"), &r), VT_EPARSE);
	CHECK_INT(vt_reg_reply_parse(LIT("NOPE\n"), &r), VT_EPARSE);
	CHECK_INT(vt_reg_reply_parse(LIT(""), &r), VT_EPARSE);

	/* format: no CONTROLLER without a key, clamped REREGISTER, bad host */
	memset(&back, 0, sizeof back);
	back.probe_id = 5;
	back.timestamp = 1;
	back.rereg = 10;
	vt_buf_reset(&b);
	CHECK_INT(vt_reg_reply_format(&back, &b), VT_OK);
	CHECK_STR(b.data, "OK\nREGSERVER_TIMESTAMP 1\nPROBE_ID 5\nREREGISTER 100\n");
	strcpy(back.ctrl_key, "AAAA");
	strcpy(back.ctrl_host, "bad host");
	back.ctrl_port = 22;
	CHECK_INT(vt_reg_reply_format(&back, &b), VT_EINVAL);
	vt_buf_free(&b);
}

static void test_ctrl(void)
{
	struct vt_ctrl_reply r;
	struct vt_buf b;
	size_t len = 0;
	char *txt = slurp("tests/data/proto/ctrl_reply_ok.txt", &len);
	char sid[100];

	CHECK(txt != NULL);
	if (!txt)
		return;
	CHECK_INT(vt_ctrl_reply_parse(txt, len, &r), VT_OK);
	CHECK_INT(r.status, VT_CTRL_OK);
	CHECK_INT(r.remote_port, 51234);
	CHECK_STR(r.session_id, "0123456789abcdef0123456789abcdef");
	vt_buf_init(&b, 4096);
	CHECK_INT(vt_ctrl_reply_format(&r, &b), VT_OK);
	CHECK_STR(b.data, txt);
	free(txt);

	CHECK_INT(vt_ctrl_reply_parse(LIT("WAIT\nTIMEOUT 60\n"), &r), VT_OK);
	CHECK_INT(r.status, VT_CTRL_WAIT);
	CHECK_INT(r.timeout, 60);
	CHECK_INT(vt_ctrl_reply_parse(LIT("REFUSED\n"), &r), VT_OK);
	CHECK_INT(r.status, VT_CTRL_REFUSED);
	vt_buf_reset(&b);
	CHECK_INT(vt_ctrl_reply_format(&r, &b), VT_OK);
	CHECK_STR(b.data, "REFUSED\n");

	/* REMOTE_PORT at most 5 digits, SESSION_ID hex only, at most 80 */
	CHECK_INT(vt_ctrl_reply_parse(LIT("OK\nREMOTE_PORT 012345\nSESSION_ID ab\n"), &r), VT_EPARSE);
	CHECK_INT(vt_ctrl_reply_parse(LIT("OK\nREMOTE_PORT 0\nSESSION_ID ab\n"), &r), VT_EPARSE);
	CHECK_INT(vt_ctrl_reply_parse(LIT("OK\nREMOTE_PORT 22\nSESSION_ID xyz\n"), &r), VT_EPARSE);
	CHECK_INT(vt_ctrl_reply_parse(LIT("OK\nREMOTE_PORT 22\n"), &r), VT_EPARSE);
	memset(sid, 'a', sizeof sid);
	sid[80] = '\0';
	CHECK(vt_session_id_valid(sid));
	sid[80] = 'a';
	sid[81] = '\0';
	CHECK(!vt_session_id_valid(sid));
	CHECK(!vt_session_id_valid(""));
	CHECK(!vt_session_id_valid(NULL));
	CHECK(vt_session_id_valid("DEADbeef09"));

	memset(&r, 0, sizeof r);
	r.status = VT_CTRL_OK;
	r.remote_port = 70000;
	strcpy(r.session_id, "ab");
	CHECK_INT(vt_ctrl_reply_format(&r, &b), VT_EINVAL);
	r.remote_port = 2023;
	strcpy(r.session_id, "a-b");
	CHECK_INT(vt_ctrl_reply_format(&r, &b), VT_EINVAL);
	vt_buf_free(&b);
}

int main(void)
{
	test_request();
	test_reply();
	test_ctrl();
	return CHECK_DONE();
}
