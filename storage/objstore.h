/* objstore.h - object stores behind one small interface.
 *
 * A store is opened from a URL:
 *   file:///path/to/folder   a folder (the default store); keys are paths
 *   http(s)://host/prefix    read-only; reads use HTTP Range requests
 *   s3://bucket/prefix       an S3-compatible store, signed with AWS SigV4
 *                            (endpoint, region and keys from the environment:
 *                            VANTAGE_S3_ENDPOINT, VANTAGE_S3_REGION,
 *                            AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
 * A plain path without a scheme means file://.  Errors come back as VT_E*
 * codes with a reason in the caller's errbuf; nothing here logs. */
#ifndef VT_OBJSTORE_H
#define VT_OBJSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

struct vt_objstore;

/* Room for an ETag (quoted hex digest as S3 returns it, or longer). */
#define VT_OBJ_ETAG_MAX 130

/* Opens the store named by url.  *out is freed with vt_objstore_free. */
int vt_objstore_open(const char *url, struct vt_objstore **out, char *errbuf,
		     size_t errlen) VT_WUR;
void vt_objstore_free(struct vt_objstore *s);
/* The URL the store was opened with (owned by the store). */
const char *vt_objstore_url(const struct vt_objstore *s);

/* Stores len bytes under key, replacing what was there.  Readers see the
 * old object or the new one, never a part.  etag (VT_OBJ_ETAG_MAX bytes)
 * gets the store's ETag (an MD5 hex digest for the folder store).
 * VT_EUNSUPP on a read-only store. */
int vt_objstore_put(struct vt_objstore *s, const char *key, const void *data,
		    size_t len, char *etag, char *errbuf, size_t errlen) VT_WUR;

/* Appends exactly len bytes of key from byte off to out (len 0: the whole
 * object from off).  VT_ENOTFOUND when there is no such object,
 * VT_ECORRUPT when it is shorter than off + len. */
int vt_objstore_get(struct vt_objstore *s, const char *key, uint64_t off,
		    uint64_t len, struct vt_buf *out, char *errbuf,
		    size_t errlen) VT_WUR;

/* Counts the requests sent (HTTP stores) or reads made (folder store). */
uint64_t vt_objstore_requests(const struct vt_objstore *s);

#endif
