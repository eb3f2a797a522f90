/* probejobs.c - the upload job a controller pushes (see probejobs.h). */
#include "proto/probejobs.h"

#include <stdio.h>
#include <string.h>

int vt_jobs_upload(struct vt_dlg_batch *b, long probe_id, const char *sid)
{
	char line[640];
	long long start;
	int r;

	if (!sid[0] || strspn(sid, "0123456789abcdefABCDEF") != strlen(sid) ||
	    strlen(sid) > 80 || probe_id <= 0)
		return VT_EINVAL;
	start = VT_JOBS_UPLOAD_START + probe_id % 60;
	if ((r = vt_dlg_batch_crontab(b, VT_JOBS_MAIN_CRONTAB)) < 0)
		return r;
	snprintf(line, sizeof line, "60 %lld 2147483647 NONE 0 condmv "
		 VT_JOBS_NEW_FILE " " VT_JOBS_OUT_FILE, start);
	if ((r = vt_dlg_batch_cronline(b, line)) < 0)
		return r;
	snprintf(line, sizeof line, "60 %lld 2147483647 UNIFORM 20 httppost"
		 " -A %d --delete-file --set-time %d --post-header"
		 " /home/atlas/status/p_to_c_report_header --post-dir"
		 " /home/atlas/data/out --post-footer"
		 " /home/atlas/status/con_session_id.txt -O"
		 " /home/atlas/data/new/httppost_sent.vol"
		 " http://127.0.0.1:8080/?PROBE_ID=%ld&SESSION_ID=%s",
		 start, VT_JOBS_UPLOAD_MSM, VT_JOBS_SET_TIME_S, probe_id, sid);
	return vt_dlg_batch_cronline(b, line);
}
