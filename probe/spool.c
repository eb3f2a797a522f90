/* spool.c - the probe's spool directory (see spool.h). */
#include "probe/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct vt_spool {
	char root[3072];
};

struct vt_spool_crontab {
	int  fd;
	char tmp[PATH_MAX];
	char path[PATH_MAX];
};

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof tmp)
		return VT_EINVAL;
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return VT_EIO;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return VT_EIO;
	return VT_OK;
}

int vt_spool_open(const char *root, struct vt_spool **out)
{
	static const char *const subdirs[] = {
		"crons", "data/new", "data/out", "status"
	};
	struct vt_spool *sp = NULL;
	char path[PATH_MAX];
	int rc;

	if (!root || !*root || strlen(root) >= sizeof sp->root - 32)
		return VT_EINVAL;
	sp = calloc(1, sizeof *sp);
	if (!sp)
		return VT_ENOMEM;
	snprintf(sp->root, sizeof sp->root, "%s", root);
	/* no trailing slash, so joined paths have exactly one */
	for (size_t n = strlen(sp->root); n > 1 && sp->root[n - 1] == '/'; n--)
		sp->root[n - 1] = '\0';
	for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", sp->root, subdirs[i]);
		rc = mkdir_p(path);
		if (rc < 0)
			goto out;
	}
	*out = sp;
	sp = NULL;
	rc = VT_OK;
out:
	vt_spool_free(sp);
	return rc;
}

void vt_spool_free(struct vt_spool *sp)
{
	free(sp);
}

const char *vt_spool_root(const struct vt_spool *sp)
{
	return sp->root;
}

int vt_spool_path(const struct vt_spool *sp, const char *rel, char *out,
		  size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", sp->root, rel);

	return (n < 0 || (size_t)n >= outlen) ? VT_ETOOBIG : VT_OK;
}

int vt_spool_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = VT_OK;

	if (fd < 0)
		return VT_EIO;
	if (fsync(fd) < 0)
		rc = VT_EIO;
	close(fd);
	return rc;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return vt_spool_fsync_dir(dir);
}

int vt_spool_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

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

/* Opens a fresh temporary file beside path: "<dir>/.<name>.tmp.<pid>". */
static int open_tmp(const char *path, int mode, char *tmp, size_t tmplen)
{
	const char *slash = strrchr(path, '/');
	int n, fd;

	if (slash)
		n = snprintf(tmp, tmplen, "%.*s/.%s.tmp.%ld", (int)(slash - path),
			     path, slash + 1, (long)getpid());
	else
		n = snprintf(tmp, tmplen, ".%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= tmplen)
		return VT_ETOOBIG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	return fd < 0 ? VT_EIO : fd;
}

static int commit_tmp(int fd, const char *tmp, const char *path)
{
	int rc = VT_OK;

	if (fsync(fd) < 0)
		rc = VT_EIO;
	if (close(fd) < 0 && rc == VT_OK)
		rc = VT_EIO;
	if (rc == VT_OK && rename(tmp, path) < 0)
		rc = VT_EIO;
	if (rc == VT_OK)
		rc = fsync_dir_of(path);
	else
		unlink(tmp);
	return rc;
}

int vt_spool_write_atomic(const char *path, const void *data, size_t len,
			  int mode)
{
	char tmp[PATH_MAX];
	int fd, rc;

	fd = open_tmp(path, mode, tmp, sizeof tmp);
	if (fd < 0)
		return fd;
	rc = vt_spool_write_all(fd, data, len);
	if (rc < 0) {
		close(fd);
		unlink(tmp);
		return rc;
	}
	return commit_tmp(fd, tmp, path);
}

int vt_spool_read_file(const char *path, size_t max, struct vt_buf *out)
{
	char chunk[8192];
	size_t total = 0;
	int fd, rc = VT_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? VT_ENOTFOUND : VT_EIO;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = VT_EIO;
			break;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > max) {
			rc = VT_ETOOBIG;
			break;
		}
		rc = vt_buf_add(out, chunk, (size_t)n);
		if (rc < 0)
			break;
	}
	close(fd);
	return rc;
}

int vt_spool_append_line(const char *path, const char *line)
{
	size_t len = strlen(line);
	int fd, rc;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return VT_EIO;
	rc = vt_spool_write_all(fd, line, len);
	if (rc == VT_OK)
		rc = vt_spool_write_all(fd, "\n", 1);
	if (rc == VT_OK && fsync(fd) < 0)
		rc = VT_EIO;
	close(fd);
	return rc;
}

/* ---- crontabs ---- */

int vt_spool_crontab_begin(struct vt_spool *sp, const char *path,
			   struct vt_spool_crontab **out)
{
	struct vt_spool_crontab *ct;
	char crons[PATH_MAX];
	size_t clen;
	int fd;

	snprintf(crons, sizeof crons, "%s/crons/", sp->root);
	clen = strlen(crons);
	/* exactly one name below crons/, no hidden names */
	if (strncmp(path, crons, clen) != 0 || path[clen] == '\0' ||
	    path[clen] == '.' || strchr(path + clen, '/') ||
	    strlen(path) >= PATH_MAX)
		return VT_EINVAL;
	ct = calloc(1, sizeof *ct);
	if (!ct)
		return VT_ENOMEM;
	snprintf(ct->path, sizeof ct->path, "%s", path);
	fd = open_tmp(path, 0644, ct->tmp, sizeof ct->tmp);
	if (fd < 0) {
		free(ct);
		return fd;
	}
	ct->fd = fd;
	*out = ct;
	return VT_OK;
}

int vt_spool_crontab_line(struct vt_spool_crontab *ct, const char *line)
{
	int rc = vt_spool_write_all(ct->fd, line, strlen(line));

	return rc < 0 ? rc : vt_spool_write_all(ct->fd, "\n", 1);
}

int vt_spool_crontab_commit(struct vt_spool_crontab *ct)
{
	int rc = commit_tmp(ct->fd, ct->tmp, ct->path);

	free(ct);
	return rc;
}

void vt_spool_crontab_abort(struct vt_spool_crontab *ct)
{
	if (!ct)
		return;
	close(ct->fd);
	unlink(ct->tmp);
	free(ct);
}

/* ---- result files ---- */

static int cmp_file(const void *a, const void *b)
{
	const struct vt_spool_file *fa = a, *fb = b;

	return strcmp(fa->name, fb->name);
}

int vt_spool_out_batch(struct vt_spool *sp, size_t max_bytes, size_t max_files,
		       struct vt_spool_batch *out, int *skipped)
{
	struct vt_spool_file *all = NULL, *tmp;
	size_t n = 0, cap = 0;
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = VT_OK;

	memset(out, 0, sizeof *out);
	*skipped = 0;
	snprintf(dir, sizeof dir, "%s/data/out", sp->root);
	d = opendir(dir);
	if (!d)
		return VT_EIO;
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof all->name)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if ((size_t)st.st_size > max_bytes) {
			(*skipped)++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			tmp = realloc(all, cap * sizeof *all);
			if (!tmp) {
				rc = VT_ENOMEM;
				goto out;
			}
			all = tmp;
		}
		snprintf(all[n].name, sizeof all[n].name, "%s", de->d_name);
		all[n].size = (size_t)st.st_size;
		n++;
	}
	if (n > 0)
		qsort(all, n, sizeof *all, cmp_file);
	for (size_t i = 0; i < n && out->n < max_files; i++) {
		if (out->bytes + all[i].size > max_bytes)
			break;
		out->bytes += all[i].size;
		out->n++;
	}
	out->files = all;
	all = NULL;
out:
	free(all);
	closedir(d);
	return rc;
}

int vt_spool_out_read(struct vt_spool *sp, const struct vt_spool_batch *b,
		      struct vt_buf *body)
{
	char path[PATH_MAX];
	int rc;

	for (size_t i = 0; i < b->n; i++) {
		snprintf(path, sizeof path, "%s/data/out/%s", sp->root,
			 b->files[i].name);
		rc = vt_spool_read_file(path, b->files[i].size + 65536, body);
		if (rc < 0)
			return rc;
		if (body->len > 0 && body->data[body->len - 1] != '\n') {
			rc = vt_buf_addc(body, '\n');
			if (rc < 0)
				return rc;
		}
	}
	return VT_OK;
}

int vt_spool_out_remove(struct vt_spool *sp, const struct vt_spool_batch *b)
{
	char path[PATH_MAX];
	int rc = VT_OK;

	for (size_t i = 0; i < b->n; i++) {
		snprintf(path, sizeof path, "%s/data/out/%s", sp->root,
			 b->files[i].name);
		if (unlink(path) < 0 && errno != ENOENT)
			rc = VT_EIO;
	}
	if (b->n > 0) {
		snprintf(path, sizeof path, "%s/data/out/x", sp->root);
		if (fsync_dir_of(path) < 0)
			rc = VT_EIO;
	}
	return rc;
}

void vt_spool_batch_free(struct vt_spool_batch *b)
{
	if (!b)
		return;
	free(b->files);
	memset(b, 0, sizeof *b);
}

/* ---- time sync record ---- */

int vt_spool_timesync_write(struct vt_spool *sp, long long date,
			    long long local)
{
	char path[PATH_MAX], line[64];
	int n = snprintf(line, sizeof line, "%lld %lld\n", date, local);

	snprintf(path, sizeof path, "%s/status/timesync", sp->root);
	return vt_spool_write_atomic(path, line, (size_t)n, 0644);
}

int vt_spool_timesync_read(struct vt_spool *sp, long long *date,
			   long long *local)
{
	struct vt_buf b;
	char path[PATH_MAX];
	int rc;

	vt_buf_init(&b, 128);
	snprintf(path, sizeof path, "%s/status/timesync", sp->root);
	rc = vt_spool_read_file(path, 100, &b);
	if (rc == VT_OK) {
		if (!b.data || sscanf(b.data, "%lld %lld", date, local) != 2)
			rc = VT_EPARSE;
	}
	vt_buf_free(&b);
	return rc;
}
