/* sched_oneoff.c - the scheduler's one-offs: crons/oneoff taken by
 * renaming, its lines queued and run at most max_oneoffs at once (see
 * sched.h, sched_int.h). */
#include "probe/sched_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/vtime.h"
#include "probe/measure/measure.h"
#include "probe/spool.h"
#include "proto/cmdline.h"

static void pump(struct vt_sched *s);

static void on_oneoff_done(void *arg, long msm_id, const char *json)
{
	struct oneoff *o = arg;
	struct vt_sched *s = o->s;

	vt_sched_write_result(s, s->oneoff_path, msm_id, json);
	if (vt_sched_post_now(s, ONEOFF_NAME) < 0)
		vt_warn("sched: cannot read %s", s->new_dir);
	for (struct oneoff **pp = &s->running; *pp; pp = &(*pp)->next) {
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	}
	s->st.oneoffs_running--;
	free(o);
	pump(s);
}

/* Starts queued one-offs while fewer than max_oneoffs run. */
static void pump(struct vt_sched *s)
{
	while (s->q_head && s->st.oneoffs_running < s->o.max_oneoffs) {
		struct oneoff *o = s->q_head;
		int rc;

		s->q_head = o->next;
		if (!s->q_head)
			s->q_tail = NULL;
		s->st.oneoffs_waiting--;
		rc = vt_measure_start(s->mctx, o->cmd, on_oneoff_done, o);
		if (rc < 0) {
			s->st.failed++;
			vt_warn("sched: one-off %s: %s", o->cmd, vt_strerror(rc));
			free(o);
			continue;
		}
		o->next = s->running;
		s->running = o;
		s->st.oneoffs_running++;
		s->st.oneoffs++;
	}
}

int vt_sched_oneoff(struct vt_sched *s, const char *command)
{
	struct vt_cmdline c;
	struct oneoff *o;
	size_t len = strlen(command);
	int rc;

	rc = vt_cmdline_parse(command, len, &c, NULL, 0);
	if (rc < 0)
		return rc == VT_EUNSUPP ? VT_EUNSUPP : VT_EPARSE;
	if (s->st.oneoffs_waiting >= s->o.max_queue)
		return VT_ELIMIT;
	o = calloc(1, sizeof *o + len + 1);
	if (!o)
		return VT_ENOMEM;
	o->s = s;
	memcpy(o->cmd, command, len + 1);
	if (s->q_tail)
		s->q_tail->next = o;
	else
		s->q_head = o;
	s->q_tail = o;
	s->st.oneoffs_waiting++;
	pump(s);
	return VT_OK;
}

/* Runs the complete lines of a taken one-off file from t->off on. */
static void taken_drain(struct vt_sched *s, struct taken *t)
{
	char path[PATH_MAX];
	struct vt_buf b;
	size_t at;

	snprintf(path, sizeof path, "%s/%s", s->crons_dir, t->name);
	vt_buf_init(&b, ONEOFF_MAX);
	if (vt_spool_read_file(path, ONEOFF_MAX, &b) < 0 || b.len <= t->off) {
		vt_buf_free(&b);
		return;
	}
	at = t->off;
	while (at < b.len) {
		char *nl = memchr(b.data + at, '\n', b.len - at);
		char *line = (char *)b.data + at;
		int rc;

		if (!nl)
			break;          /* incomplete: maybe later */
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (*line && (rc = vt_sched_oneoff(s, line)) < 0) {
			s->st.ignored++;
			vt_warn("sched: one-off \"%s\" dropped: %s", line,
				vt_strerror(rc));
		}
		at = (size_t)(nl - (char *)b.data) + 1;
	}
	t->off = at;
	vt_buf_free(&b);
}

int vt_sched_taken_add(struct vt_sched *s, const char *name, int64_t since_ms)
{
	struct taken *t = calloc(1, sizeof *t);

	if (!t)
		return VT_ENOMEM;
	snprintf(t->name, sizeof t->name, "%s", name);
	t->since_ms = since_ms;
	t->next = s->taken;
	s->taken = t;
	return VT_OK;
}

void vt_sched_oneoffs_check(struct vt_sched *s)
{
	char path[PATH_MAX], to[PATH_MAX], name[64];
	int64_t mono = vt_mono_ms();

	for (struct taken **pp = &s->taken; *pp;) {
		struct taken *t = *pp;

		if (mono - t->since_ms < TAKEN_SETTLE) {
			pp = &t->next;
			continue;
		}
		taken_drain(s, t);
		snprintf(path, sizeof path, "%s/%s", s->crons_dir, t->name);
		if (unlink(path) < 0 && errno != ENOENT)
			vt_warn("sched: cannot remove %s: %s", path, strerror(errno));
		*pp = t->next;
		free(t);
	}
	snprintf(path, sizeof path, "%s/%s", s->crons_dir, ONEOFF_NAME);
	snprintf(name, sizeof name, TAKEN_PREFIX "%ld.%u", (long)getpid(), ++s->seq);
	snprintf(to, sizeof to, "%s/%s", s->crons_dir, name);
	if (rename(path, to) < 0) {
		if (errno != ENOENT)
			vt_warn("sched: cannot take %s: %s", path, strerror(errno));
		return;
	}
	if (vt_sched_taken_add(s, name, mono) < 0) {
		vt_err("sched: out of memory taking one-offs");
		return;
	}
	taken_drain(s, s->taken);
}

void vt_sched_oneoffs_free(struct vt_sched *s)
{
	for (struct oneoff *lists[2] = { s->q_head, s->running }, **l = lists;
	     l < lists + 2; l++) {
		while (*l) {
			struct oneoff *o = *l;

			*l = o->next;
			free(o);
		}
	}
	s->q_head = s->q_tail = s->running = NULL;
	while (s->taken) {
		struct taken *t = s->taken;

		s->taken = t->next;
		free(t);
	}
}
