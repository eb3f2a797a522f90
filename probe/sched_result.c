/* sched_result.c - the scheduler's result files: appending RESULT lines
 * durably and moving data/new to data/out (see sched.h, sched_int.h). */
#include "probe/sched_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "probe/spool.h"
#include "proto/cmdline.h"
#include "proto/dialogue.h"

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return VT_EIO;
		}
		p += n;
		len -= (size_t)n;
	}
	return VT_OK;
}

static int fsync_path(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = VT_OK;

	if (fd < 0)
		return VT_EIO;
	if (fsync(fd) < 0)
		rc = VT_EIO;
	close(fd);
	return rc;
}

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
	rc = write_all(fd, line, len);
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
 * /home/atlas/data/new/, else data/new/<def>.  Returns a new string. */
char *vt_sched_out_path(struct vt_sched *s, const struct vt_cmdline *c,
			const char *def)
{
	char path[PATH_MAX];
	size_t nl = strlen(s->new_dir);
	int n;

	if (c->out_file[0]) {
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

int vt_sched_flush(struct vt_sched *s)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct dirent *d;
	DIR *dir;
	long long sec = vt_sched_now_us(s) / 1000000;
	int moved = 0;

	dir = opendir(s->new_dir);
	if (!dir)
		return VT_EIO;
	while ((d = readdir(dir))) {
		struct stat st;
		int n;

		if (d->d_name[0] == '.')
			continue;
		n = snprintf(from, sizeof from, "%s/%s", s->new_dir, d->d_name);
		if (n < 0 || (size_t)n >= sizeof from ||
		    stat(from, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
			continue;
		/* time-ordered unique names: the upload takes the oldest first */
		n = snprintf(to, sizeof to, "%s/%010lld.%ld.%06u.%.200s", s->out_dir,
			     sec, (long)getpid(), ++s->seq, d->d_name);
		if (n < 0 || (size_t)n >= sizeof to)
			continue;
		if (rename(from, to) < 0) {
			vt_warn("sched: cannot move %s to data/out: %s", from,
				strerror(errno));
			continue;
		}
		moved++;
	}
	closedir(dir);
	if (moved > 0) {
		s->st.moved += moved;
		if (fsync_path(s->out_dir) < 0 || fsync_path(s->new_dir) < 0)
			vt_warn("sched: cannot fsync the data folders");
	}
	return moved;
}
