/* test_proto_probejobs.c - the jobs a controller pushes (proto/probejobs.h):
 * where they go (crons/7 is the stock probe's measurement crontab), and the
 * upload job: stock crontab lines that Vantage's own probe accepts too,
 * with --set-time so that a stock probe's "lts" can become >= 0, the same
 * each time they are pushed (a fixed start keeps their schedule). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "proto/crontab.h"
#include "proto/probejobs.h"
#include "probe/upjob.h"

static void test_paths(void)
{
	CHECK_STR(VT_JOBS_MSM_CRONTAB, "/home/atlas/crons/7");
	CHECK_STR(VT_JOBS_MAIN_CRONTAB, "/home/atlas/crons/main");
	CHECK_STR(VT_JOBS_ONEOFF, "/home/atlas/crons/oneoff");
}

static void test_upload(void)
{
	struct vt_dlg_batch *b = vt_dlg_batch_new();
	struct vt_buf out;
	char *line, *save = NULL;
	int n = 0, posts = 0, moves = 0;

	vt_buf_init(&out, 64 * 1024);
	CHECK(b != NULL);
	if (!b)
		return;
	CHECK_INT(vt_jobs_upload(b, 1234, "00ff"), VT_OK);
	CHECK_INT(vt_dlg_batch_format(b, &out), VT_OK);
	for (line = strtok_r(out.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct vt_cron_line cl;
		struct vt_upjob u;
		char err[200];

		n++;
		if (n == 1) {
			CHECK_STR(line, "CRONTAB /home/atlas/crons/main");
			continue;
		}
		if (strncmp(line, "CRONLINE ", 9))
			continue;
		line += 9;
		CHECK_INT(vt_cron_line_parse(line, strlen(line), &cl), VT_OK);
		CHECK_INT(cl.interval, 60);
		CHECK_INT(cl.start, VT_JOBS_UPLOAD_START + 1234 % 60);
		CHECK_INT(vt_upjob_parse(cl.command, strlen(cl.command), "/spool",
					 &u, err, sizeof err), VT_OK);
		if (u.kind == VT_UPJOB_HTTPPOST) {
			posts++;
			CHECK(strstr(cl.command, " --set-time 3 ") != NULL);
			CHECK_INT(u.probe_id, 1234);
			CHECK_STR(u.session_id, "00ff");
			CHECK_INT(u.msm_id, 9015);
		} else if (u.kind == VT_UPJOB_CONDMV) {
			moves++;
			CHECK_STR(u.src, "/spool/data/new/2");
		}
	}
	CHECK_INT(posts, 1);
	CHECK_INT(moves, 1);
	vt_dlg_batch_free(b);
	/* pushed again later: the same text */
	{
		struct vt_buf again;
		struct vt_dlg_batch *b2 = vt_dlg_batch_new(), *b3 = vt_dlg_batch_new();

		vt_buf_init(&again, 64 * 1024);
		vt_buf_reset(&out);
		CHECK(b2 && b3);
		CHECK_INT(vt_jobs_upload(b2, 77, "abc"), VT_OK);
		CHECK_INT(vt_jobs_upload(b3, 77, "abc"), VT_OK);
		CHECK_INT(vt_dlg_batch_format(b2, &out), VT_OK);
		CHECK_INT(vt_dlg_batch_format(b3, &again), VT_OK);
		CHECK(out.len > 0 && out.len == again.len &&
		      !memcmp(out.data, again.data, out.len));
		vt_dlg_batch_free(b2);
		vt_dlg_batch_free(b3);
		vt_buf_free(&again);
	}
	vt_buf_free(&out);

	/* a session id that is not hex, a probe id that is not one */
	b = vt_dlg_batch_new();
	CHECK_INT(vt_jobs_upload(b, 1, "ab&SRC=x"), VT_EINVAL);
	CHECK_INT(vt_jobs_upload(b, 1, ""), VT_EINVAL);
	CHECK_INT(vt_jobs_upload(b, 0, "ab"), VT_EINVAL);
	vt_dlg_batch_free(b);
}

int main(void)
{
	test_paths();
	test_upload();
	return CHECK_DONE();
}
