/* objstore_int.h - what the object store backends share (not public). */
#ifndef VT_OBJSTORE_INT_H
#define VT_OBJSTORE_INT_H

#include "storage/objstore.h"

enum vt_obj_kind { VT_OBJ_FILE, VT_OBJ_HTTP, VT_OBJ_S3 };

struct vt_objstore {
	enum vt_obj_kind kind;
	char     *url;       /* as opened */
	char     *base;      /* folder (file) or URL prefix without '/' at the end */
	char     *region;    /* s3 */
	char     *userpwd;   /* s3: "access:secret" */
	void     *curl;      /* CURL handle, reused across requests */
	uint64_t  requests;
};

/* HTTP and S3 backends (objstore_http.c). */
int vt_obj_http_open(struct vt_objstore *s, char *errbuf, size_t errlen);
void vt_obj_http_close(struct vt_objstore *s);
int vt_obj_http_put(struct vt_objstore *s, const char *key, const void *data,
		    size_t len, char *etag, char *errbuf, size_t errlen);
int vt_obj_http_get(struct vt_objstore *s, const char *key, uint64_t off,
		    uint64_t len, struct vt_buf *out, char *errbuf,
		    size_t errlen);

#endif
