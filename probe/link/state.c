/* state.c - the cached link state (see state.h). */
#include "probe/link/state.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"

#define STATE_FILE "status/link.state"

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

int vt_link_state_load(struct vt_spool *sp, struct vt_link_state *st)
{
	struct vt_conf *c = NULL;
	struct vt_buf b;
	char path[PATH_MAX], err[256];
	long v;
	int rc;

	memset(st, 0, sizeof *st);
	vt_buf_init(&b, 65536);
	rc = vt_spool_path(sp, STATE_FILE, path, sizeof path);
	if (rc < 0)
		goto out;
	rc = vt_spool_read_file(path, 65536, &b);
	if (rc == VT_ENOTFOUND) {
		rc = VT_OK;
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = vt_conf_parse(path, b.data ? b.data : "", b.len, &c, err, sizeof err);
	if (rc < 0)
		goto out;
	if ((rc = vt_conf_int(c, "probe_id", 0, 0, LONG_MAX, &st->probe_id)) < 0 ||
	    (rc = vt_conf_int(c, "ctrl_port", 0, 0, 65535, &v)) < 0)
		goto out;
	st->ctrl_port = (int)v;
	if ((rc = vt_conf_int(c, "remote_port", 0, 0, 65535, &v)) < 0)
		goto out;
	st->remote_port = (int)v;
	if ((rc = vt_conf_int(c, "rereg_at", 0, 0, LONG_MAX, &v)) < 0)
		goto out;
	st->rereg_at = v;
	if ((rc = vt_conf_int(c, "force_reg", 0, 0, 1, &v)) < 0)
		goto out;
	st->force_reg = (int)v;
	copy(st->ctrl_host, sizeof st->ctrl_host, vt_conf_get(c, "ctrl_host", ""));
	copy(st->ctrl_key_type, sizeof st->ctrl_key_type,
	     vt_conf_get(c, "ctrl_key_type", ""));
	copy(st->ctrl_key, sizeof st->ctrl_key, vt_conf_get(c, "ctrl_key", ""));
	copy(st->session_id, sizeof st->session_id, vt_conf_get(c, "session_id", ""));
	if (st->session_id[0] && !vt_session_id_valid(st->session_id)) {
		rc = VT_EPARSE;
		goto out;
	}
	rc = VT_OK;
out:
	if (rc < 0)
		memset(st, 0, sizeof *st);
	vt_conf_free(c);
	vt_buf_free(&b);
	return rc;
}

int vt_link_state_save(struct vt_spool *sp, const struct vt_link_state *st)
{
	struct vt_buf b;
	char path[PATH_MAX];
	int rc;

	vt_buf_init(&b, 65536);
	rc = vt_buf_addf(&b,
		"# vantage-probe link state, rewritten by the probe\n"
		"probe_id = %ld\nctrl_host = %s\nctrl_port = %d\n"
		"ctrl_key_type = %s\nctrl_key = %s\nrereg_at = %lld\n"
		"force_reg = %d\nsession_id = %s\nremote_port = %d\n",
		st->probe_id, st->ctrl_host, st->ctrl_port, st->ctrl_key_type,
		st->ctrl_key, st->rereg_at, st->force_reg, st->session_id,
		st->remote_port);
	if (rc < 0)
		goto out;
	if ((rc = vt_spool_path(sp, STATE_FILE, path, sizeof path)) < 0 ||
	    (rc = vt_spool_write_atomic(path, b.data, b.len, 0600)) < 0)
		goto out;
	vt_buf_reset(&b);
	if ((rc = vt_buf_addf(&b, "SESSION_ID %s\n", st->session_id)) < 0 ||
	    (rc = vt_spool_path(sp, "status/con_session_id.txt", path,
				sizeof path)) < 0 ||
	    (rc = vt_spool_write_atomic(path, b.data, b.len, 0644)) < 0)
		goto out;
	if ((rc = vt_spool_path(sp, "status/p_to_c_report_header", path,
				sizeof path)) < 0)
		goto out;
	rc = vt_spool_write_atomic(path, "P_TO_C_REPORT\n", 14, 0644);
out:
	vt_buf_free(&b);
	return rc;
}
