/* sched_result.c - the scheduler's result files: appending RESULT lines
 * durably and moving data/new to data/out, for condmv jobs, for files no
 * condmv job moves, and all at once (see sched.h, sched_int.h). */
#include "probe/sched_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "probe/spool.h"
#include "proto/cmdline.h"
#include "proto/dialogue.h"

void vt_sched_write_result(struct vt_sched *s, const char *path, long msm_id,
			   const char *json)
{
	size_t jl = strlen(json), len = sizeof "RESULT " - 1 + jl + 1;
	char *line = malloc(len);
	int fd, rc = VT_EIO;

	if (!line) {
		rc = VT_ENOMEM;
		goto out;
	}
	memcpy(line, "RESULT ", 7);
	memcpy(line + 7, json, jl);
	line[len - 1] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		goto out;
	rc = vt_spool_write_all(fd, line, len);
	if (rc == VT_OK && fsync(fd) < 0)
		rc = VT_EIO;
	if (close(fd) < 0 && rc == VT_OK)
		rc = VT_EIO;
out:
	free(line);
	if (rc < 0) {
		s->st.write_errors++;
		vt_warn("sched: cannot append a result to %s: %s", path,
			vt_strerror(rc));
	} else {
		s->st.results++;
		vt_debug("sched: msm %ld: result written to %s", msm_id, path);
	}
}

/* The result file of a command: its -O when that is a plain file of
 * /home/atlas/data/new/, else (or with c NULL) data/new/<def>.  Returns a
 * new string. */
char *vt_sched_out_path(struct vt_sched *s, const struct vt_cmdline *c,
			const char *def)
{
	char path[PATH_MAX];
	size_t nl = strlen(s->new_dir);
	int n;

	if (c && c->out_file[0]) {
		if (vt_dlg_map_path(c->out_file, vt_spool_root(s->sp), path,
				    sizeof path) == VT_OK &&
		    strncmp(path, s->new_dir, nl) == 0 && path[nl] == '/' &&
		    path[nl + 1] && path[nl + 1] != '.' &&
		    !strchr(path + nl + 1, '/'))
			return strdup(path);
		vt_warn("sched: -O %s is not a file of /home/atlas/data/new/; "
			"results go to data/new/%s", c->out_file, def);
	}
	n = snprintf(path, sizeof path, "%s/%s", s->new_dir, def);
	if (n < 0 || (size_t)n >= sizeof path)
		return NULL;
	return strdup(path);
}

/* Moves the files of new_dir to out_dir under unique time-ordered names
 * <sec>.<pid>.<seq>.<name or suffix>.  only: just that name; skip(arg,
 * name) non-zero: left alone.  Empty files and names starting with '.' stay.
 * Returns the number moved, or VT_EIO when new_dir cannot be read. */
static int move_files(const char *new_dir, const char *out_dir, long long sec,
		      unsigned *seq, const char *only, const char *suffix,
		      int (*skip)(void *, const char *), void *arg)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct dirent *d;
	DIR *dir;
	int moved = 0;

	dir = opendir(new_dir);
	if (!dir)
		return VT_EIO;
	while ((d = readdir(dir))) {
		struct stat st;
		int n;

		if (d->d_name[0] == '.' || (only && strcmp(only, d->d_name)) ||
		    (skip && skip(arg, d->d_name)))
			continue;
		n = snprintf(from, sizeof from, "%s/%s", new_dir, d->d_name);
		if (n < 0 || (size_t)n >= sizeof from ||
		    stat(from, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
			continue;
		/* time-ordered unique names: the upload takes the oldest first;
		 * a name that exists already is never replaced */
		for (int tries = 0; tries < 100; tries++) {
			n = snprintf(to, sizeof to, "%s/%010lld.%ld.%06u.%.200s",
				     out_dir, sec, (long)getpid(), ++*seq,
				     suffix && *suffix ? suffix : d->d_name);
			if (n < 0 || (size_t)n >= sizeof to)
				break;
			n = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
			if (n < 0 && errno == EINVAL)   /* not supported here */
				n = rename(from, to);
			if (n == 0) {
				moved++;
				break;
			}
			if (errno != EEXIST) {
				vt_warn("sched: cannot move %s to data/out: %s",
					from, strerror(errno));
				break;
			}
		}
	}
	closedir(dir);
	if (moved > 0 && (vt_spool_fsync_dir(out_dir) < 0 ||
			  vt_spool_fsync_dir(new_dir) < 0))
		vt_warn("sched: cannot fsync the data folders");
	return moved;
}

static int counted(struct vt_sched *s, int moved)
{
	if (moved > 0)
		s->st.moved += moved;
	return moved;
}

int vt_sched_flush(struct vt_sched *s)
{
	return counted(s, move_files(s->new_dir, s->out_dir,
				     vt_sched_now_us(s) / 1000000, &s->seq,
				     NULL, NULL, NULL, NULL));
}

int vt_sched_condmv(struct vt_sched *s, const struct vt_upjob *up)
{
	const char *only = NULL;

	if (!up->src_is_dir)
		only = strrchr(up->src, '/') + 1;
	return counted(s, move_files(s->new_dir, s->out_dir,
				     vt_sched_now_us(s) / 1000000, &s->seq,
				     only, up->dst_name, NULL, NULL));
}

/* Non-zero when a condmv job of s moves name (or all of data/new). */
static int claimed(void *arg, const char *name)
{
	struct vt_sched *s = arg;

	for (const struct crontab *ct = s->crontabs; ct; ct = ct->next)
		for (const struct job *j = ct->jobs; j; j = j->next)
			if (j->up && j->up->kind == VT_UPJOB_CONDMV &&
			    (j->up->src_is_dir ||
			     !strcmp(strrchr(j->up->src, '/') + 1, name)))
				return 1;
	return 0;
}

int vt_sched_move_unclaimed(struct vt_sched *s)
{
	return counted(s, move_files(s->new_dir, s->out_dir,
				     vt_sched_now_us(s) / 1000000, &s->seq,
				     NULL, NULL, claimed, s));
}

int vt_sched_post_now(struct vt_sched *s, const char *name)
{
	int n = counted(s, move_files(s->new_dir, s->out_dir,
				      vt_sched_now_us(s) / 1000000, &s->seq,
				      name, NULL, NULL, NULL));

	if (n > 0 && s->o.upload)
		s->o.upload(s->o.upload_arg);
	return n;
}

int vt_sched_flush_spool(struct vt_spool *sp)
{
	unsigned seq = 0;
	char new_dir[PATH_MAX], out_dir[PATH_MAX];
	int rc;

	if ((rc = vt_spool_path(sp, "data/new", new_dir, sizeof new_dir)) < 0 ||
	    (rc = vt_spool_path(sp, "data/out", out_dir, sizeof out_dir)) < 0)
		return rc;
	return move_files(new_dir, out_dir, (long long)time(NULL), &seq, NULL,
			  NULL, NULL, NULL);
}
