/* objstore.c - store selection and the folder (file://) store. */
#include "storage/objstore_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"

static int key_ok(const char *key)
{
	/* Keys are relative paths of plain segments: no "..", no "//". */
	const char *p = key;

	if (!*key || *key == '/' || strlen(key) > 1000)
		return 0;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x21 || p[i] == '\\' ||
			    p[i] == '?' || p[i] == '#' || p[i] == '%')
				return 0;
		p += n;
		if (*p == '/')
			p++;
	}
	return 1;
}

static char *strip_slashes(const char *s)
{
	char *d = strdup(s);
	size_t n;

	if (!d)
		return NULL;
	n = strlen(d);
	while (n > 1 && d[n - 1] == '/')
		d[--n] = '\0';
	return d;
}

int vt_objstore_open(const char *url, struct vt_objstore **out, char *errbuf,
		     size_t errlen)
{
	struct vt_objstore *s;
	int ret = VT_OK;

	*out = NULL;
	if (!url || !*url) {
		snprintf(errbuf, errlen, "no object store given");
		return VT_EINVAL;
	}
	if (!(s = calloc(1, sizeof *s)) || !(s->url = strdup(url))) {
		free(s);
		return VT_ENOMEM;
	}
	if (!strncmp(url, "file://", 7) || !strstr(url, "://")) {
		const char *path = strncmp(url, "file://", 7) ? url : url + 7;

		s->kind = VT_OBJ_FILE;
		if (!*path) {
			snprintf(errbuf, errlen, "%s: no folder", url);
			ret = VT_EINVAL;
			goto out;
		}
		if (!(s->base = strip_slashes(path))) {
			ret = VT_ENOMEM;
			goto out;
		}
	} else if (!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8)) {
		s->kind = VT_OBJ_HTTP;
		if (!(s->base = strip_slashes(url))) {
			ret = VT_ENOMEM;
			goto out;
		}
		ret = vt_obj_http_open(s, errbuf, errlen);
	} else if (!strncmp(url, "s3://", 5)) {
		s->kind = VT_OBJ_S3;
		ret = vt_obj_http_open(s, errbuf, errlen);
	} else {
		snprintf(errbuf, errlen, "%s: unknown object store scheme "
			 "(file://, http(s)://, s3://)", url);
		ret = VT_EINVAL;
	}
out:
	if (ret < 0) {
		vt_objstore_free(s);
		return ret;
	}
	*out = s;
	return VT_OK;
}

void vt_objstore_free(struct vt_objstore *s)
{
	if (!s)
		return;
	if (s->kind != VT_OBJ_FILE)
		vt_obj_http_close(s);
	free(s->url);
	free(s->base);
	free(s->region);
	if (s->userpwd) {
		explicit_bzero(s->userpwd, strlen(s->userpwd));
		free(s->userpwd);
	}
	free(s);
}

const char *vt_objstore_url(const struct vt_objstore *s)
{
	return s->url;
}

uint64_t vt_objstore_requests(const struct vt_objstore *s)
{
	return s->requests;
}

static int mkdirs(char *path)
{
	/* Creates every folder above the file named by path. */
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

static int md5_hex(const void *data, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(data, len, md, &n, EVP_md5(), NULL))
		return VT_ENOMEM;
	for (unsigned i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	return VT_OK;
}

static int file_put(struct vt_objstore *s, const char *key, const void *data,
		    size_t len, char *etag, char *errbuf, size_t errlen)
{
	char path[PATH_MAX];
	int ret;

	if (snprintf(path, sizeof path, "%s/%s", s->base, key) >= (int)sizeof path)
		return VT_ETOOBIG;
	if (mkdirs(path) < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return VT_EIO;
	}
	s->requests++;
	if ((ret = vt_file_replace(path, data, len, errbuf, errlen)) < 0)
		return ret;
	return md5_hex(data, len, etag);
}

static int file_get(struct vt_objstore *s, const char *key, uint64_t off,
		    uint64_t len, struct vt_buf *out, char *errbuf,
		    size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;
	size_t start = out->len;
	int fd, ret = VT_OK;

	if (snprintf(path, sizeof path, "%s/%s", s->base, key) >= (int)sizeof path)
		return VT_ETOOBIG;
	s->requests++;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? VT_ENOTFOUND : VT_EIO;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		ret = VT_EIO;
		goto out;
	}
	if (!len && (uint64_t)st.st_size >= off)
		len = (uint64_t)st.st_size - off;
	if (off > (uint64_t)st.st_size || len > (uint64_t)st.st_size - off) {
		snprintf(errbuf, errlen, "%s: object is %lld bytes, shorter than "
			 "the %llu bytes wanted at %llu", path,
			 (long long)st.st_size, (unsigned long long)len,
			 (unsigned long long)off);
		ret = VT_ECORRUPT;
		goto out;
	}
	if (len > SIZE_MAX / 2 || (ret = vt_buf_reserve(out, (size_t)len)) < 0) {
		snprintf(errbuf, errlen, "%s: %llu bytes is over the read cap",
			 path, (unsigned long long)len);
		ret = ret < 0 ? ret : VT_ETOOBIG;
		goto out;
	}
	while (out->len - start < len) {
		ssize_t r = pread(fd, out->data + out->len,
				  (size_t)len - (out->len - start),
				  (off_t)(off + (out->len - start)));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(errbuf, errlen, "%s: %s", path,
				 r ? strerror(errno) : "object shrank while read");
			ret = r ? VT_EIO : VT_ECORRUPT;
			goto out;
		}
		out->len += (size_t)r;
	}
	out->data[out->len] = '\0';
out:
	if (ret < 0 && out->data) {
		out->len = start;
		out->data[start] = '\0';
	}
	close(fd);
	return ret;
}

int vt_objstore_put(struct vt_objstore *s, const char *key, const void *data,
		    size_t len, char *etag, char *errbuf, size_t errlen)
{
	etag[0] = '\0';
	if (!key_ok(key)) {
		snprintf(errbuf, errlen, "bad object key '%s'", key);
		return VT_EINVAL;
	}
	switch (s->kind) {
	case VT_OBJ_FILE:
		return file_put(s, key, data, len, etag, errbuf, errlen);
	case VT_OBJ_S3:
		return vt_obj_http_put(s, key, data, len, etag, errbuf, errlen);
	default:
		snprintf(errbuf, errlen, "%s: read-only store", s->url);
		return VT_EUNSUPP;
	}
}

int vt_objstore_get(struct vt_objstore *s, const char *key, uint64_t off,
		    uint64_t len, struct vt_buf *out, char *errbuf,
		    size_t errlen)
{
	if (!key_ok(key)) {
		snprintf(errbuf, errlen, "bad object key '%s'", key);
		return VT_EINVAL;
	}
	if (s->kind == VT_OBJ_FILE)
		return file_get(s, key, off, len, out, errbuf, errlen);
	return vt_obj_http_get(s, key, off, len, out, errbuf, errlen);
}
