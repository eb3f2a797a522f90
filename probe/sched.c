/* sched.c - the probe's measurement scheduler (see sched.h): crontab jobs,
 * reloading crons/, the loop glue.  Result files are in sched_result.c,
 * one-offs in sched_oneoff.c, the condmv and httppost jobs and the
 * fallback in sched_upjob.c. */
#include "probe/sched_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/evloop.h"
#include "common/log.h"
#include "common/vtime.h"
#include "probe/measure/measure.h"
#include "probe/sched_cron.h"
#include "probe/spool.h"
#include "proto/cmdline.h"
#include "proto/crontab.h"

static void plan_job(struct vt_sched *s, struct job *j, long long min_k,
		     int count_skips);

/* ---- small helpers ------------------------------------------------------ */

int64_t vt_sched_now_us(const struct vt_sched *s)
{
	struct timespec ts;

	if (s->o.now_us)
		return s->o.now_us(s->o.clock_arg);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* xorshift64* */
static uint64_t rnd(struct vt_sched *s)
{
	uint64_t x = s->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void rnd_seed(struct vt_sched *s, uint64_t seed)
{
	if (!seed && getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed)
		seed = (uint64_t)vt_now_ms() * 6364136223846793005ULL ^
		       (uint64_t)getpid();
	s->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

/* ---- crontab jobs --------------------------------------------------------- */

static void job_free(struct job *j)
{
	if (!j)
		return;
	if (j->timer)
		vt_loop_timer_cancel(j->s->loop, j->timer);
	free(j->out_path);
	free(j->up);
	free(j);
}

static void on_job_done(void *arg, long msm_id, const char *json)
{
	struct job *j = arg;
	struct vt_sched *s = j->s;

	j->running = 0;
	vt_sched_write_result(s, j->out_path, msm_id, json);
	if (!j->ct) {
		/* its line was removed while it ran */
		for (struct job **pp = &s->orphans; *pp; pp = &(*pp)->next) {
			if (*pp == j) {
				*pp = j->next;
				break;
			}
		}
		job_free(j);
	}
}

static void on_job_timer(struct vt_loop *loop, void *arg)
{
	struct job *j = arg;
	struct vt_sched *s = j->s;
	int64_t now = vt_sched_now_us(s);
	int rc;

	(void)loop;
	j->timer = 0;
	if (j->at_us - now > 1000) {
		/* the wall clock went back: wait for the planned time again */
		if (vt_loop_timer(s->loop, (j->at_us - now + 999) / 1000,
				  on_job_timer, j, &j->timer) < 0)
			j->timer = 0;
		return;
	}
	switch (vt_sched_fire_check(&j->line, j->at_us, now)) {
	case VT_SCHED_FIRE_PAST_END:
		j->ended = 1;
		vt_debug("sched: %s: msm %ld ended", j->ct ? j->ct->name : "?",
			 vt_cron_msm_id(j->line.command));
		return;
	case VT_SCHED_FIRE_LATE:
		s->st.late++;
		vt_warn("sched: msm %ld: run planned at %lld.%06lld skipped, "
			"%.1f s late", vt_cron_msm_id(j->line.command),
			(long long)(j->at_us / 1000000),
			(long long)(j->at_us % 1000000),
			(double)(now - j->at_us) / 1e6);
		break;
	case VT_SCHED_FIRE_RUN:
		if (j->up) {
			vt_sched_upjob_run(s, j);
			break;
		}
		if (j->running) {
			s->st.busy++;
			vt_info("sched: msm %ld: last run still going, run skipped",
				vt_cron_msm_id(j->line.command));
			break;
		}
		if (now / 1000000 == j->last_s) {
			/* A late slot and the next one due at once (after the
			 * probe stalled): a result is named by its measurement,
			 * probe and start second, so two runs in one second
			 * would be one result twice.  The second is late. */
			s->st.late++;
			vt_warn("sched: msm %ld: run skipped, the last one "
				"started in the same second",
				vt_cron_msm_id(j->line.command));
			break;
		}
		rc = vt_measure_start(s->mctx, j->line.command, on_job_done, j);
		if (rc < 0) {
			s->st.failed++;
			vt_warn("sched: msm %ld: %s", vt_cron_msm_id(j->line.command),
				vt_strerror(rc));
		} else {
			j->running = 1;
			j->last_s = now / 1000000;
			s->st.runs++;
			/* the plan beside what happened: a run's result says
			 * only when it started, which a busy machine may make
			 * later than planned (up to VT_SCHED_LATE_US) */
			vt_debug("sched: msm %ld: slot %lld planned at "
				 "%lld.%06lld, started at %lld.%06lld",
				 vt_cron_msm_id(j->line.command), j->k,
				 (long long)(j->at_us / 1000000),
				 (long long)(j->at_us % 1000000),
				 (long long)(now / 1000000),
				 (long long)(now % 1000000));
		}
		break;
	}
	plan_job(s, j, j->k + 1, 1);
}

/* Plans the next run of j from slot min_k on; with count_skips, slots
 * passed over because their window closed count (and log) as late. */
static void plan_job(struct vt_sched *s, struct job *j, long long min_k,
		     int count_skips)
{
	int64_t now = vt_sched_now_us(s), at;
	long long k;

	if (j->timer) {
		vt_loop_timer_cancel(s->loop, j->timer);
		j->timer = 0;
	}
	if (vt_sched_plan(&j->line, min_k, now, rnd(s), &k, &at) < 0) {
		j->ended = 1;
		return;
	}
	if (count_skips && k > min_k) {
		s->st.late += k - min_k;
		vt_warn("sched: msm %ld: %lld run(s) skipped, too late",
			vt_cron_msm_id(j->line.command), k - min_k);
	}
	j->ended = 0;
	j->k = k;
	j->at_us = at;
	if (vt_loop_timer(s->loop, at > now ? (at - now + 999) / 1000 : 0,
			  on_job_timer, j, &j->timer) < 0) {
		j->timer = 0;
		vt_err("sched: msm %ld: no timer, line not scheduled",
		       vt_cron_msm_id(j->line.command));
	}
}

/* Stops j: it is freed, or orphaned until its running measurement ends. */
static void job_stop(struct vt_sched *s, struct job *j)
{
	if (j->timer) {
		vt_loop_timer_cancel(s->loop, j->timer);
		j->timer = 0;
	}
	if (j->running) {
		j->ct = NULL;
		j->next = s->orphans;
		s->orphans = j;
		return;
	}
	job_free(j);
}

/* A parsed line of a crontab being loaded. */
struct newline {
	struct vt_cron_line line;
	struct vt_cmdline   cmd;
	struct vt_upjob    *up;     /* condmv / httppost, else NULL */
};

static void lines_free(struct newline *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].up);
	free(v);
}

/* Takes the condmv or httppost command of nl (word) as an upload job.
 * VT_OK, VT_EPARSE (refused and logged) or VT_ENOMEM. */
static int read_upjob(struct vt_sched *s, const struct crontab *ct,
		      size_t lineno, const char *word, struct newline *nl)
{
	struct vt_upjob *up = malloc(sizeof *up);
	char err[200];
	int rc;

	nl->up = NULL;
	if (!up)
		return VT_ENOMEM;
	rc = vt_upjob_parse(nl->line.command, strlen(nl->line.command),
			    vt_spool_root(s->sp), up, err, sizeof err);
	if (rc == VT_ENOMEM) {
		free(up);
		return rc;
	}
	if (rc < 0) {
		free(up);
		s->st.ignored++;
		vt_warn("sched: crons/%s line %zu: %s refused: %s", ct->name,
			lineno, word, err[0] ? err : vt_strerror(rc));
		return VT_EPARSE;
	}
	nl->up = up;
	return VT_OK;
}

/* Reads the measurement lines of path into *lines (*n of them). */
static int read_crontab(struct vt_sched *s, const struct crontab *ct,
			const char *path, struct newline **lines, size_t *n)
{
	struct vt_buf b;
	struct vt_cur c;
	struct newline *v = NULL;
	const char *l;
	size_t len, cap = 0, cnt = 0, lineno = 0;
	int rc;

	vt_buf_init(&b, CRONTAB_MAX);
	rc = vt_spool_read_file(path, CRONTAB_MAX, &b);
	if (rc < 0)
		goto out;
	vt_cur_init(&c, b.data, b.len);
	while (vt_cur_line(&c, &l, &len) > 0) {
		struct newline *nl;
		char err[160], word[32];
		size_t i = 0, w;

		lineno++;
		while (i < len && (l[i] == ' ' || l[i] == '\t' || l[i] == '\r'))
			i++;
		if (i == len || l[i] == '#')
			continue;
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct newline *nv = realloc(v, ncap * sizeof *nv);

			if (!nv) {
				rc = VT_ENOMEM;
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		nl = &v[cnt];
		if (vt_cron_line_parse(l, len, &nl->line) < 0) {
			s->st.ignored++;
			vt_warn("sched: crons/%s line %zu: not a crontab line",
				ct->name, lineno);
			continue;
		}
		w = strcspn(nl->line.command, " \t");
		snprintf(word, sizeof word, "%.*s", (int)(w < 31 ? w : 31),
			 nl->line.command);
		nl->up = NULL;
		if (!strcmp(word, "condmv") || !strcmp(word, "httppost")) {
			rc = read_upjob(s, ct, lineno, word, nl);
			if (rc == VT_ENOMEM)
				goto out;
			if (rc == VT_OK)
				cnt++;
			continue;
		}
		if (strcmp(word, "evping") && strcmp(word, "evtraceroute") &&
		    strcmp(word, "evtdig")) {
			s->st.ignored++;
			vt_info("sched: crons/%s line %zu: %s ignored (not a "
				"measurement nor an upload job)", ct->name, lineno,
				word);
			continue;
		}
		if (vt_cmdline_parse(nl->line.command, strlen(nl->line.command),
				     &nl->cmd, err, sizeof err) < 0) {
			s->st.ignored++;
			vt_warn("sched: crons/%s line %zu: %s", ct->name, lineno,
				err);
			continue;
		}
		cnt++;
	}
	*lines = v;
	*n = cnt;
	v = NULL;
	rc = VT_OK;
out:
	lines_free(v, cnt);
	vt_buf_free(&b);
	return rc;
}

/* Applies the new content of ct's file: the diff of PROTOCOL.md. */
static int load_crontab(struct vt_sched *s, struct crontab *ct, const char *path)
{
	struct newline *lines = NULL;
	const struct vt_cron_line **oldv = NULL, **curv = NULL;
	struct job **olds = NULL, *head = NULL, **tail = &head;
	size_t n = 0, nold = 0, kept = 0, added = 0;
	int *match = NULL, rc;

	rc = read_crontab(s, ct, path, &lines, &n);
	if (rc < 0)
		goto out;
	for (struct job *j = ct->jobs; j; j = j->next)
		nold++;
	olds = calloc(nold + 1, sizeof *olds);
	oldv = calloc(nold + 1, sizeof *oldv);
	curv = calloc(n + 1, sizeof *curv);
	match = calloc(n + 1, sizeof *match);
	if (!olds || !oldv || !curv || !match) {
		rc = VT_ENOMEM;
		goto out;
	}
	nold = 0;
	for (struct job *j = ct->jobs; j; j = j->next) {
		olds[nold] = j;
		oldv[nold++] = &j->line;
	}
	for (size_t i = 0; i < n; i++)
		curv[i] = &lines[i].line;
	if ((rc = vt_sched_diff(oldv, nold, curv, n, match)) < 0)
		goto out;
	/* make the new jobs first, so that running out of memory changes
	 * nothing */
	for (size_t i = 0; i < n; i++) {
		struct job *j;

		if (match[i] >= 0)
			continue;
		j = calloc(1, sizeof *j);
		if (j && lines[i].up) {
			j->up = lines[i].up;
			lines[i].up = NULL;
		} else if (j) {
			j->out_path = vt_sched_out_path(s, &lines[i].cmd, ct->name);
		}
		if (!j || (!j->up && !j->out_path)) {
			free(j);
			rc = VT_ENOMEM;
			goto undo;
		}
		j->s = s;
		j->ct = ct;
		j->line = lines[i].line;
		j->k = -1;
		*tail = j;
		tail = &j->next;
		added++;
	}
	/* now the new list, in the order of the file */
	{
		struct job *fresh = head, *list = NULL, **lt = &list;

		for (size_t i = 0; i < n; i++) {
			struct job *j;

			if (match[i] >= 0) {
				j = olds[match[i]];
				olds[match[i]] = NULL;
				if (j->line.end != lines[i].line.end) {
					j->line.end = lines[i].line.end;
					if (!j->timer)
						plan_job(s, j, j->k + 1, 0);
				}
				kept++;
			} else {
				j = fresh;
				fresh = fresh->next;
				plan_job(s, j, 0, 0);
			}
			*lt = j;
			lt = &j->next;
		}
		*lt = NULL;
		for (size_t i = 0; i < nold; i++)
			if (olds[i])
				job_stop(s, olds[i]);
		ct->jobs = list;
	}
	s->st.reloads++;
	vt_info("sched: crons/%s: %zu line(s): %zu kept, %zu new, %zu stopped",
		ct->name, n, kept, added, nold - kept);
	rc = VT_OK;
	goto out;
undo:
	while (head) {
		struct job *j = head;

		head = j->next;
		job_free(j);
	}
out:
	lines_free(lines, n);
	free(olds);
	free(oldv);
	free(curv);
	free(match);
	return rc;
}

static void crontab_drop(struct vt_sched *s, struct crontab *ct)
{
	struct job *j = ct->jobs;
	size_t n = 0;

	while (j) {
		struct job *next = j->next;

		job_stop(s, j);
		j = next;
		n++;
	}
	vt_info("sched: crons/%s removed: %zu line(s) stopped", ct->name, n);
	free(ct);
}

/* ---- reload ----------------------------------------------------------------- */

int vt_sched_reload(struct vt_sched *s)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	dir = opendir(s->crons_dir);
	if (!dir) {
		vt_warn("sched: %s: %s", s->crons_dir, strerror(errno));
		return VT_EIO;
	}
	while ((d = readdir(dir))) {
		struct crontab *ct;
		struct stat st;

		if (strncmp(d->d_name, TAKEN_PREFIX, sizeof TAKEN_PREFIX - 1) == 0) {
			/* left by an earlier run of the probe? */
			int known = 0;

			for (struct taken *t = s->taken; t; t = t->next)
				known |= strcmp(t->name, d->d_name) == 0;
			if (!known && strlen(d->d_name) < 64 &&
			    vt_sched_taken_add(s, d->d_name, 0) < 0)
				break;
			continue;
		}
		if (d->d_name[0] == '.' || strcmp(d->d_name, ONEOFF_NAME) == 0 ||
		    strlen(d->d_name) >= sizeof ct->name)
			continue;
		snprintf(path, sizeof path, "%s/%s", s->crons_dir, d->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		for (ct = s->crontabs; ct; ct = ct->next)
			if (strcmp(ct->name, d->d_name) == 0)
				break;
		if (!ct) {
			ct = calloc(1, sizeof *ct);
			if (!ct)
				break;
			snprintf(ct->name, sizeof ct->name, "%s", d->d_name);
			ct->next = s->crontabs;
			s->crontabs = ct;
		} else if (ct->dev == st.st_dev && ct->ino == st.st_ino &&
			   ct->size == st.st_size &&
			   ct->mtime.tv_sec == st.st_mtim.tv_sec &&
			   ct->mtime.tv_nsec == st.st_mtim.tv_nsec) {
			ct->seen = 1;
			continue;
		}
		ct->seen = 1;
		if (load_crontab(s, ct, path) < 0) {
			vt_warn("sched: crons/%s could not be read; kept as it was",
				ct->name);
			continue;
		}
		ct->dev = st.st_dev;
		ct->ino = st.st_ino;
		ct->size = st.st_size;
		ct->mtime = st.st_mtim;
	}
	closedir(dir);
	for (struct crontab **pp = &s->crontabs; *pp;) {
		struct crontab *ct = *pp;

		if (ct->seen) {
			ct->seen = 0;
			pp = &ct->next;
			continue;
		}
		*pp = ct->next;
		crontab_drop(s, ct);
	}
	vt_sched_oneoffs_check(s);
	return VT_OK;
}

/* ---- loop glue ---------------------------------------------------------------- */

static void clock_from_spool(struct vt_sched *s)
{
	long long date, local;

	if (vt_spool_timesync_read(s->sp, &date, &local) == VT_OK)
		vt_measure_set_clock_confirmed(s->mctx, local);
}

static void on_kick(struct vt_loop *loop, void *arg)
{
	struct vt_sched *s = arg;

	(void)loop;
	s->kick_timer = 0;
	if (vt_sched_reload(s) < 0)
		return;
	/* taken one-off files wait to settle: look again then */
	if (s->taken && vt_loop_timer(s->loop, TAKEN_SETTLE + 50, on_kick, s,
				      &s->kick_timer) < 0)
		s->kick_timer = 0;
}

static void kick(struct vt_sched *s, int64_t ms)
{
	if (s->kick_timer)
		return;
	if (vt_loop_timer(s->loop, ms, on_kick, s, &s->kick_timer) < 0)
		s->kick_timer = 0;
}

static void on_rescan(struct vt_loop *loop, void *arg)
{
	struct vt_sched *s = arg;

	(void)loop;
	s->rescan_timer = 0;
	clock_from_spool(s);
	kick(s, 0);
	if (vt_loop_timer(s->loop, s->o.rescan_ms, on_rescan, s,
			  &s->rescan_timer) < 0)
		s->rescan_timer = 0;
}

static void on_move(struct vt_loop *loop, void *arg)
{
	struct vt_sched *s = arg;

	(void)loop;
	s->move_timer = 0;
	vt_sched_upjob_tick(s);
	if (vt_loop_timer(s->loop, s->o.move_ms, on_move, s, &s->move_timer) < 0)
		s->move_timer = 0;
}

static void on_inotify(struct vt_loop *loop, int fd, int events, void *arg)
{
	struct vt_sched *s = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int relevant = 0;
	ssize_t n;

	(void)loop;
	(void)events;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			if (ev->len == 0 || ev->name[0] != '.' ||
			    (ev->mask & IN_Q_OVERFLOW))
				relevant = 1;
			p += sizeof *ev + ev->len;
		}
	}
	if (relevant)
		kick(s, KICK_MS);
}

int vt_sched_new(struct vt_loop *loop, struct vt_measure_ctx *mctx,
		 struct vt_spool *sp, struct vt_sched **out)
{
	return vt_sched_new_opts(loop, mctx, sp, NULL, out);
}

int vt_sched_new_opts(struct vt_loop *loop, struct vt_measure_ctx *mctx,
		      struct vt_spool *sp, const struct vt_sched_opts *opts,
		      struct vt_sched **out)
{
	struct vt_sched *s = calloc(1, sizeof *s);
	int rc;

	if (!s)
		return VT_ENOMEM;
	s->loop = loop;
	s->mctx = mctx;
	s->sp = sp;
	s->ino_fd = -1;
	if (opts)
		s->o = *opts;
	if (s->o.move_ms <= 0)
		s->o.move_ms = 15000;
	if (s->o.fallback_ms <= 0)
		s->o.fallback_ms = 600000;
	s->last_condmv_ms = s->last_httppost_ms = vt_mono_ms();
	if (s->o.rescan_ms <= 0)
		s->o.rescan_ms = 10000;
	if (s->o.max_oneoffs <= 0)
		s->o.max_oneoffs = 10;
	if (s->o.max_queue <= 0)
		s->o.max_queue = 10000;
	rnd_seed(s, s->o.seed);
	if ((rc = vt_spool_path(sp, "crons", s->crons_dir, sizeof s->crons_dir)) < 0 ||
	    (rc = vt_spool_path(sp, "data/new", s->new_dir, sizeof s->new_dir)) < 0 ||
	    (rc = vt_spool_path(sp, "data/out", s->out_dir, sizeof s->out_dir)) < 0)
		goto out;
	/* one-offs: data/new/oneoff whatever -O says, posted once written */
	snprintf(s->oneoff_path, sizeof s->oneoff_path, "%s/" ONEOFF_NAME,
		 s->new_dir);
	s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino_fd >= 0 &&
	    (inotify_add_watch(s->ino_fd, s->crons_dir, IN_CLOSE_WRITE |
			       IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0 ||
	     vt_loop_add(loop, s->ino_fd, VT_EV_READ, on_inotify, s) < 0)) {
		close(s->ino_fd);
		s->ino_fd = -1;
	}
	/* without inotify the periodic rescan still finds every change */
	if ((rc = vt_loop_timer(loop, 0, on_rescan, s, &s->rescan_timer)) < 0 ||
	    (rc = vt_loop_timer(loop, s->o.move_ms, on_move, s, &s->move_timer)) < 0)
		goto out;
	*out = s;
	s = NULL;
	rc = VT_OK;
out:
	vt_sched_free(s);
	return rc;
}

void vt_sched_get_stats(const struct vt_sched *s, struct vt_sched_stats *st)
{
	*st = s->st;
	st->jobs = 0;
	for (const struct crontab *ct = s->crontabs; ct; ct = ct->next)
		for (const struct job *j = ct->jobs; j; j = j->next)
			st->jobs++;
}

void vt_sched_free(struct vt_sched *s)
{
	if (!s)
		return;
	if (s->ino_fd >= 0) {
		vt_loop_del(s->loop, s->ino_fd);
		close(s->ino_fd);
	}
	if (s->kick_timer)
		vt_loop_timer_cancel(s->loop, s->kick_timer);
	if (s->rescan_timer)
		vt_loop_timer_cancel(s->loop, s->rescan_timer);
	if (s->move_timer)
		vt_loop_timer_cancel(s->loop, s->move_timer);
	while (s->crontabs) {
		struct crontab *ct = s->crontabs;

		s->crontabs = ct->next;
		while (ct->jobs) {
			struct job *j = ct->jobs;

			ct->jobs = j->next;
			job_free(j);
		}
		free(ct);
	}
	while (s->orphans) {
		struct job *j = s->orphans;

		s->orphans = j->next;
		job_free(j);
	}
	vt_sched_oneoffs_free(s);
	free(s);
}
