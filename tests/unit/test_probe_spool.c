/* test_probe_spool.c - the probe's spool, cached link state and backoff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "probe/link/link.h"
#include "probe/link/state.h"
#include "probe/spool.h"
#include "tests/unit/check.h"

static void put(const char *root, const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", root, rel);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int exists(const char *root, const char *rel)
{
	char path[1024];

	snprintf(path, sizeof path, "%s/%s", root, rel);
	return access(path, F_OK) == 0;
}

static void test_files(struct vt_spool *sp, const char *root)
{
	struct vt_buf b;
	char path[1024];
	long long d = 0, l = 0;

	vt_buf_init(&b, 1024);
	CHECK_INT(vt_spool_path(sp, "status/x", path, sizeof path), VT_OK);
	CHECK_INT(vt_spool_write_atomic(path, "one\n", 4, 0644), VT_OK);
	CHECK_INT(vt_spool_write_atomic(path, "two\n", 4, 0644), VT_OK);
	CHECK_INT(vt_spool_read_file(path, 100, &b), VT_OK);
	CHECK_STR(b.data, "two\n");
	vt_buf_reset(&b);
	CHECK_INT(vt_spool_read_file(path, 2, &b), VT_ETOOBIG);
	CHECK_INT(vt_spool_path(sp, "status/none", path, sizeof path), VT_OK);
	CHECK_INT(vt_spool_read_file(path, 100, &b), VT_ENOTFOUND);
	CHECK_INT(vt_spool_timesync_read(sp, &d, &l), VT_ENOTFOUND);
	CHECK_INT(vt_spool_timesync_write(sp, 1700000000, 1700000003), VT_OK);
	CHECK_INT(vt_spool_timesync_read(sp, &d, &l), VT_OK);
	CHECK_INT(d, 1700000000);
	CHECK_INT(l, 1700000003);
	CHECK(exists(root, "crons") && exists(root, "data/new") &&
	      exists(root, "data/out") && exists(root, "status"));
	vt_buf_free(&b);
}

static void test_crontab(struct vt_spool *sp, const char *root)
{
	struct vt_spool_crontab *ct = NULL;
	struct vt_buf b;
	char path[1024], bad[1024];

	vt_buf_init(&b, 4096);
	CHECK_INT(vt_spool_path(sp, "crons/2", path, sizeof path), VT_OK);
	CHECK_INT(vt_spool_crontab_begin(sp, path, &ct), VT_OK);
	CHECK_INT(vt_spool_crontab_line(ct, "60 1 2 NONE 0 evping -4 -A 1001 192.0.2.1"), VT_OK);
	/* not visible before the commit */
	CHECK(!exists(root, "crons/2"));
	CHECK_INT(vt_spool_crontab_commit(ct), VT_OK);
	CHECK_INT(vt_spool_read_file(path, 4096, &b), VT_OK);
	CHECK_STR(b.data, "60 1 2 NONE 0 evping -4 -A 1001 192.0.2.1\n");
	/* an aborted replacement leaves the old crontab */
	ct = NULL;
	CHECK_INT(vt_spool_crontab_begin(sp, path, &ct), VT_OK);
	CHECK_INT(vt_spool_crontab_line(ct, "garbage"), VT_OK);
	vt_spool_crontab_abort(ct);
	vt_buf_reset(&b);
	CHECK_INT(vt_spool_read_file(path, 4096, &b), VT_OK);
	CHECK_STR(b.data, "60 1 2 NONE 0 evping -4 -A 1001 192.0.2.1\n");
	/* an empty crontab empties it */
	CHECK_INT(vt_spool_crontab_begin(sp, path, &ct), VT_OK);
	CHECK_INT(vt_spool_crontab_commit(ct), VT_OK);
	vt_buf_reset(&b);
	CHECK_INT(vt_spool_read_file(path, 4096, &b), VT_OK);
	CHECK_INT(b.len, 0);
	/* only names directly in crons/ */
	CHECK_INT(vt_spool_path(sp, "data/out/x", bad, sizeof bad), VT_OK);
	CHECK_INT(vt_spool_crontab_begin(sp, bad, &ct), VT_EINVAL);
	CHECK_INT(vt_spool_path(sp, "crons/a/b", bad, sizeof bad), VT_OK);
	CHECK_INT(vt_spool_crontab_begin(sp, bad, &ct), VT_EINVAL);
	CHECK_INT(vt_spool_path(sp, "crons/.hidden", bad, sizeof bad), VT_OK);
	CHECK_INT(vt_spool_crontab_begin(sp, bad, &ct), VT_EINVAL);
	vt_spool_crontab_abort(NULL);
	/* one-offs are appended */
	CHECK_INT(vt_spool_path(sp, "crons/oneoff", path, sizeof path), VT_OK);
	CHECK_INT(vt_spool_append_line(path, "evping -4 -A 5 192.0.2.1"), VT_OK);
	CHECK_INT(vt_spool_append_line(path, "evping -4 -A 6 192.0.2.1"), VT_OK);
	vt_buf_reset(&b);
	CHECK_INT(vt_spool_read_file(path, 4096, &b), VT_OK);
	CHECK_STR(b.data, "evping -4 -A 5 192.0.2.1\nevping -4 -A 6 192.0.2.1\n");
	vt_buf_free(&b);
}

static void test_out(struct vt_spool *sp, const char *root)
{
	struct vt_spool_batch b;
	struct vt_buf body;
	char big[300];
	int skipped;

	vt_buf_init(&body, 100000);
	CHECK_INT(vt_spool_out_batch(sp, 1000, 10, &b, &skipped), VT_OK);
	CHECK_INT(b.n, 0);
	vt_spool_batch_free(&b);
	put(root, "data/out/b", "RESULT {\"b\":1}\n");
	put(root, "data/out/a", "RESULT {\"a\":1}");     /* no final newline */
	put(root, "data/out/c", "RESULT {\"c\":1}\n");
	put(root, "data/out/.tmp", "RESULT {\"hidden\":1}\n");
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	put(root, "data/out/z", big);
	/* two files by count */
	CHECK_INT(vt_spool_out_batch(sp, 200, 2, &b, &skipped), VT_OK);
	CHECK_INT(b.n, 2);
	CHECK_INT(skipped, 1);
	CHECK_STR(b.files[0].name, "a");
	CHECK_STR(b.files[1].name, "b");
	CHECK_INT(vt_spool_out_read(sp, &b, &body), VT_OK);
	CHECK_STR(body.data, "RESULT {\"a\":1}\nRESULT {\"b\":1}\n");
	CHECK_INT(vt_spool_out_remove(sp, &b), VT_OK);
	vt_spool_batch_free(&b);
	CHECK(!exists(root, "data/out/a") && !exists(root, "data/out/b"));
	CHECK(exists(root, "data/out/c") && exists(root, "data/out/.tmp"));
	/* by size: c fits in 20 bytes, nothing else */
	CHECK_INT(vt_spool_out_batch(sp, 20, 1000, &b, &skipped), VT_OK);
	CHECK_INT(b.n, 1);
	CHECK_STR(b.files[0].name, "c");
	vt_spool_batch_free(&b);
	/* the big one comes with a big enough cap */
	CHECK_INT(vt_spool_out_batch(sp, 1000, 1000, &b, &skipped), VT_OK);
	CHECK_INT(b.n, 2);
	CHECK_INT(skipped, 0);
	CHECK_INT(b.bytes, 15 + 299);
	vt_spool_batch_free(&b);
	vt_buf_free(&body);
}

static void test_state(struct vt_spool *sp, const char *root)
{
	struct vt_link_state st, back;
	struct vt_buf b;
	char path[1024];

	CHECK_INT(vt_link_state_load(sp, &back), VT_OK);
	CHECK_INT(back.probe_id, 0);
	CHECK_STR(back.session_id, "");
	memset(&st, 0, sizeof st);
	st.probe_id = 1004;
	snprintf(st.ctrl_host, sizeof st.ctrl_host, "127.0.0.1");
	st.ctrl_port = 2222;
	snprintf(st.ctrl_key_type, sizeof st.ctrl_key_type, "ssh-rsa");
	snprintf(st.ctrl_key, sizeof st.ctrl_key, "AAAAB3NzaC1yc2EAAAADAQAB==");
	st.rereg_at = 1800000000LL;
	st.force_reg = 1;
	snprintf(st.session_id, sizeof st.session_id, "0123abcdef");
	st.remote_port = 40001;
	CHECK_INT(vt_link_state_save(sp, &st), VT_OK);
	CHECK_INT(vt_link_state_load(sp, &back), VT_OK);
	CHECK_INT(back.probe_id, 1004);
	CHECK_STR(back.ctrl_host, "127.0.0.1");
	CHECK_INT(back.ctrl_port, 2222);
	CHECK_STR(back.ctrl_key_type, "ssh-rsa");
	CHECK_STR(back.ctrl_key, "AAAAB3NzaC1yc2EAAAADAQAB==");
	CHECK_INT(back.rereg_at, 1800000000LL);
	CHECK_INT(back.force_reg, 1);
	CHECK_STR(back.session_id, "0123abcdef");
	CHECK_INT(back.remote_port, 40001);
	vt_buf_init(&b, 1024);
	CHECK_INT(vt_spool_path(sp, "status/con_session_id.txt", path, sizeof path), VT_OK);
	CHECK_INT(vt_spool_read_file(path, 1024, &b), VT_OK);
	CHECK_STR(b.data, "SESSION_ID 0123abcdef\n");
	vt_buf_free(&b);
	/* a damaged file is reported and gives an empty state */
	put(root, "status/link.state", "probe_id = 12\nsession_id = not-hex!\n");
	CHECK_INT(vt_link_state_load(sp, &back), VT_EPARSE);
	CHECK_INT(back.probe_id, 0);
}

static void test_backoff(void)
{
	CHECK_INT(vt_link_backoff_ms(1000, 300000, 0, 0), 0);
	CHECK_INT(vt_link_backoff_ms(1000, 300000, 0, 0xffffffffu), 1000);
	CHECK_INT(vt_link_backoff_ms(1000, 300000, 3, 0xffffffffu), 8000);
	CHECK_INT(vt_link_backoff_ms(1000, 300000, 30, 0xffffffffu), 300000);
	CHECK_INT(vt_link_backoff_ms(1000, 300000, 1000, 0xffffffffu), 300000);
	CHECK(vt_link_backoff_ms(1000, 300000, 2, 0x80000000u) >= 1999 &&
	      vt_link_backoff_ms(1000, 300000, 2, 0x80000000u) <= 2001);
}

int main(void)
{
	char root[] = "/tmp/vt-spool-test.XXXXXX", cmd[128];
	struct vt_spool *sp = NULL;

	if (!mkdtemp(root))
		return 1;
	CHECK_INT(vt_spool_open(root, &sp), VT_OK);
	if (sp) {
		test_files(sp, root);
		test_crontab(sp, root);
		test_out(sp, root);
		test_state(sp, root);
	}
	test_backoff();
	vt_spool_free(sp);
	vt_spool_free(NULL);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", root);
	return CHECK_DONE();
}
