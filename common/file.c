/* file.c - whole files replaced at once (see file.h). */
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int vt_file_replace(const char *path, const void *data, size_t len,
		    char *errbuf, size_t errlen)
{
	char tmp[PATH_MAX + 32], dirpath[PATH_MAX], *dir;
	const char *p = data;
	size_t left = len;
	int fd = -1;

	if (strlen(path) >= PATH_MAX)
		return vt_err_set(VT_ETOOBIG, errbuf, errlen, "%.64s...: path too long",
				  path);
	snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		goto fail;
	while (left) {
		ssize_t w = write(fd, p, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	/* Make the rename itself durable. */
	snprintf(dirpath, sizeof dirpath, "%s", path);
	if ((dir = strrchr(dirpath, '/'))) {
		*dir = '\0';
		if ((fd = open(dirpath[0] ? dirpath : "/", O_RDONLY | O_DIRECTORY |
			       O_CLOEXEC)) >= 0) {
			if (fsync(fd) < 0) {
				/* the file is in place; only its durability waits */
			}
			close(fd);
		}
	}
	return VT_OK;
fail:
	vt_err_set(VT_EIO, errbuf, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return VT_EIO;
}
