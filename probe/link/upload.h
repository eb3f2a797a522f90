/* upload.h - posting the spool's result files through a direct-tcpip
 * channel to the controller's result sink (127.0.0.1:8080 as the
 * controller sees it), in the httppost format of proto/upload.h.
 *
 * A file is deleted only after a 2xx reply whose body starts "OK\n", and
 * before anything else happens, so an acknowledged file is never posted
 * again and an unacknowledged one is posted again later. */
#ifndef VT_PROBE_LINK_UPLOAD_H
#define VT_PROBE_LINK_UPLOAD_H

#include <libssh/libssh.h>
#include "probe/spool.h"

#define VT_UPLOAD_MAX_FILES 1000
#define VT_UPLOAD_SINK_HOST "127.0.0.1"
#define VT_UPLOAD_SINK_PORT 8080

struct vt_upload_stats {
	int       posts;        /* acknowledged posts */
	int       files;        /* files deleted after OK */
	long long date;         /* Date of the last reply, -1 if none */
	int       status;       /* HTTP status of the last reply, 0 if none */
	int       too_big;      /* files in data/out too big for any post */
	int       timesync_errors; /* status/timesync could not be written */
};

/* Posts every file of data/out, in batches of at most VT_UPLOAD_MAX_BODY
 * bytes and VT_UPLOAD_MAX_FILES files, until data/out is empty or a post
 * fails.  Records the reply's Date in status/timesync.  Returns VT_OK,
 * VT_EPROTO when the sink did not acknowledge (files kept), VT_EAGAIN when
 * the controller refused the channel to the sink (as it does until it has
 * taken the KEEP; files kept), VT_ETIMEOUT, or a link error (VT_ESSH,
 * VT_ECLOSED). */
int vt_upload_spool(ssh_session s, struct vt_spool *sp, long probe_id,
		    const char *session_id, int timeout_ms,
		    struct vt_upload_stats *stats) VT_WUR;

#endif
