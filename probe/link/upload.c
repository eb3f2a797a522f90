/* upload.c - posting result files (see upload.h). */
#include "probe/link/upload.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "probe/link/sshc.h"
#include "proto/upload.h"

#define REPLY_MAX 65536
#define HEADER    "P_TO_C_REPORT\n"

struct reply_ctx {
	int status;
	const char *body;
	size_t body_len;
	long long date;
	int rc;
};

/* read_until predicate: the reply is complete (with Content-Length). */
static int reply_done(void *arg, const struct vt_buf *b)
{
	struct reply_ctx *r = arg;

	if (b->len == 0)
		return 0;
	r->rc = vt_upload_reply_parse(b->data, b->len, 0, &r->status, &r->body,
				      &r->body_len, &r->date);
	return r->rc != VT_EAGAIN;
}

/* Posts one batch; VT_OK when acknowledged. */
static int post_batch(ssh_session s, struct vt_spool *sp, long probe_id,
		      const char *sid, const struct vt_spool_batch *batch,
		      int timeout_ms, struct vt_upload_stats *stats)
{
	struct reply_ctx r = { .rc = VT_EAGAIN, .date = -1 };
	struct vt_buf body, req, reply;
	ssh_channel ch = NULL;
	int rc, eof;

	vt_buf_init(&body, VT_UPLOAD_MAX_BODY);
	vt_buf_init(&req, VT_UPLOAD_MAX_BODY + VT_UPLOAD_MAX_HEAD);
	vt_buf_init(&reply, REPLY_MAX);
	if ((rc = vt_buf_adds(&body, HEADER)) < 0 ||
	    (rc = vt_spool_out_read(sp, batch, &body)) < 0 ||
	    (rc = vt_buf_addf(&body, "SESSION_ID %s\n", sid)) < 0 ||
	    (rc = vt_upload_req_format(&req, probe_id, sid, NULL, body.data,
				       body.len)) < 0)
		goto out;
	ch = ssh_channel_new(s);
	if (!ch) {
		rc = VT_ENOMEM;
		goto out;
	}
	if (ssh_channel_open_forward(ch, VT_UPLOAD_SINK_HOST, VT_UPLOAD_SINK_PORT,
				     "127.0.0.1", 0) != SSH_OK) {
		/* refused: the controller may not have taken our KEEP yet */
		rc = ssh_is_connected(s) ? VT_EAGAIN : VT_ECLOSED;
		goto out;
	}
	if (ssh_channel_write(ch, req.data, (uint32_t)req.len) != (int)req.len) {
		rc = VT_ESSH;
		goto out;
	}
	rc = vt_sshc_read_until(ch, &reply, timeout_ms, reply_done, &r, &eof);
	if (rc < 0)
		goto out;
	if (r.rc == VT_EAGAIN || (eof && r.rc != VT_OK)) {
		/* no Content-Length: the reply ends at EOF */
		if (!eof || reply.len == 0) {
			rc = VT_EPROTO;
			goto out;
		}
		r.rc = vt_upload_reply_parse(reply.data, reply.len, 1, &r.status,
					     &r.body, &r.body_len, &r.date);
	}
	if (r.rc < 0) {
		rc = VT_EPROTO;
		goto out;
	}
	stats->status = r.status;
	if (!vt_upload_acked(r.status, r.body, r.body_len)) {
		rc = VT_EPROTO;
		goto out;
	}
	/* acknowledged: the files go before anything else can fail */
	rc = vt_spool_out_remove(sp, batch);
	stats->posts++;
	stats->files += (int)batch->n;
	if (r.date > 0) {
		stats->date = r.date;
		if (vt_spool_timesync_write(sp, r.date, (long long)time(NULL)) < 0)
			stats->timesync_errors++;
	}
out:
	if (ch) {
		ssh_channel_close(ch);
		ssh_channel_free(ch);
	}
	vt_buf_free(&body);
	vt_buf_free(&req);
	vt_buf_free(&reply);
	return rc;
}

int vt_upload_spool(ssh_session s, struct vt_spool *sp, long probe_id,
		    const char *session_id, int timeout_ms,
		    struct vt_upload_stats *stats)
{
	/* room for the header, the footer and one '\n' per file */
	size_t max_files = VT_UPLOAD_MAX_FILES;
	size_t max_bytes = VT_UPLOAD_MAX_BODY - sizeof HEADER -
			   (sizeof "SESSION_ID \n" + VT_SESSION_ID_MAX) - max_files;
	int rc = VT_OK, skipped;

	memset(stats, 0, sizeof *stats);
	stats->date = -1;
	for (;;) {
		struct vt_spool_batch b;

		rc = vt_spool_out_batch(sp, max_bytes, max_files, &b, &skipped);
		if (rc < 0)
			return rc;
		stats->too_big = skipped;
		if (b.n == 0) {
			vt_spool_batch_free(&b);
			return VT_OK;
		}
		rc = post_batch(s, sp, probe_id, session_id, &b, timeout_ms, stats);
		vt_spool_batch_free(&b);
		if (rc < 0)
			return rc;
	}
}
