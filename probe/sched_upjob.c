/* sched_upjob.c - the scheduler's condmv and httppost jobs (the upload
 * jobs of crons/main, probe/upjob.h) and the fallback that moves and
 * uploads when they stop running (see sched.h). */
#include "probe/sched_int.h"

#include <string.h>

#include "common/log.h"
#include "common/vtime.h"

static void fallback_end(struct vt_sched *s, enum vt_upjob_kind kind)
{
	if (kind == VT_UPJOB_CONDMV && s->move_fallback) {
		s->move_fallback = 0;
		vt_info("sched: a condmv job ran: data/new moves with it again");
	} else if (kind == VT_UPJOB_HTTPPOST && s->upload_fallback) {
		s->upload_fallback = 0;
		vt_info("sched: an httppost job ran: uploads follow it again");
	}
}

void vt_sched_upjob_run(struct vt_sched *s, struct job *j)
{
	const char *ct = j->ct ? j->ct->name : "?";
	int n;

	switch (j->up->kind) {
	case VT_UPJOB_CONDMV:
		s->st.condmv_runs++;
		s->last_condmv_ms = vt_mono_ms();
		n = vt_sched_condmv(s, j->up);
		if (n < 0)
			vt_warn("sched: crons/%s: condmv: cannot read data/new", ct);
		else
			vt_debug("sched: crons/%s: condmv %s: %d file(s) moved",
				 ct, j->up->src_is_dir ? "data/new" :
				 strrchr(j->up->src, '/') + 1, n);
		fallback_end(s, VT_UPJOB_CONDMV);
		break;
	case VT_UPJOB_HTTPPOST:
		s->st.httppost_runs++;
		s->last_httppost_ms = vt_mono_ms();
		if (s->o.upload) {
			s->o.upload(s->o.upload_arg);
			vt_debug("sched: crons/%s: httppost: upload of data/out "
				 "asked", ct);
		} else {
			vt_debug("sched: crons/%s: httppost: no link to ask", ct);
		}
		fallback_end(s, VT_UPJOB_HTTPPOST);
		break;
	}
}

void vt_sched_upjob_tick(struct vt_sched *s)
{
	int64_t now = vt_mono_ms();
	long fb_s = s->o.fallback_ms / 1000, mv_s = s->o.move_ms / 1000;
	int n;

	if (now - s->last_condmv_ms >= s->o.fallback_ms && !s->move_fallback) {
		s->move_fallback = 1;
		vt_warn("sched: no condmv job ran for %ld s: moving data/new to "
			"data/out on its own every %ld s", fb_s, mv_s ? mv_s : 1);
	}
	if (now - s->last_httppost_ms >= s->o.fallback_ms && !s->upload_fallback) {
		s->upload_fallback = 1;
		vt_warn("sched: no httppost job ran for %ld s: uploading data/out "
			"on its own every %ld s", fb_s, mv_s ? mv_s : 1);
	}
	n = s->move_fallback ? vt_sched_flush(s) : vt_sched_move_unclaimed(s);
	if (n < 0)
		vt_warn("sched: cannot read %s", s->new_dir);
	if (s->upload_fallback && s->o.upload) {
		s->st.fallback_uploads++;
		s->o.upload(s->o.upload_arg);
	}
}
