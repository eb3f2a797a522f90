/* upjob.h - the two upload jobs a controller pushes in crons/main
 * (PROTOCOL.md, "Crontab lines"), parsed strictly so that the scheduler
 * (probe/sched.h) can run them:
 *
 *   condmv [-f] SRC DST
 *       SRC: /home/atlas/data/new/<file> or /home/atlas/data/new
 *       DST: /home/atlas/data/out/<file> or /home/atlas/data/out
 *       Moves the finished result file SRC (every file, for the folder)
 *       into data/out.  -f is accepted: the probe never overwrites, every
 *       moved file gets a new time-ordered name ending in DST's name.
 *
 *   httppost [-A N] [--delete-file] [--post-header P] [--post-footer P]
 *            [--post-dir /home/atlas/data/out] [-O P] [--set-time N] URL
 *       Asks the link to upload data/out now.  --post-dir is required and
 *       must be data/out; P must be a /home/atlas/ path; URL must be
 *       http://127.0.0.1:8080/ (or localhost) with the query keys
 *       PROBE_ID, SESSION_ID and SRC only.  PROBE_ID and SESSION_ID are
 *       kept for logs only: the link posts under its own session.
 *
 * Paths are mapped onto the spool root like every /home/atlas path
 * (proto/dialogue.h vt_dlg_map_path).  Anything else is refused with a
 * reason: unknown options, missing operands, other paths. */
#ifndef VT_PROBE_UPJOB_H
#define VT_PROBE_UPJOB_H

#include <limits.h>
#include <stddef.h>
#include "common/err.h"
#include "proto/reg.h"

enum vt_upjob_kind {
	VT_UPJOB_CONDMV = 1,
	VT_UPJOB_HTTPPOST
};

struct vt_upjob {
	enum vt_upjob_kind kind;
	/* condmv: the mapped source file of data/new, or data/new itself */
	char src[PATH_MAX];
	/* condmv: name the moved files end in; "" means each file's own name
	 * (DST was the data/out folder).  httppost: "". */
	char dst_name[256];
	int  src_is_dir;        /* condmv: SRC was the data/new folder */
	char post_dir[PATH_MAX];/* httppost: the mapped --post-dir (data/out) */
	long msm_id;            /* httppost -A, 0 when absent */
	long probe_id;          /* URL PROBE_ID, 0 when absent (logs only) */
	/* URL SESSION_ID (hex, at most VT_SESSION_ID_MAX), "" when absent
	 * (logs only) */
	char session_id[VT_SESSION_ID_MAX + 1];
	int  delete_file;       /* httppost --delete-file given */
};

/* Parses the command part of a crontab line (cmd[0..len)) against the
 * spool root.  Returns VT_OK with *out filled, VT_EUNSUPP when the command
 * is neither condmv nor httppost (out untouched but kind 0), VT_EPARSE
 * when it is one of them but not acceptable (err says why), VT_ETOOBIG
 * over the tokenizer's limits.  err may be NULL. */
int vt_upjob_parse(const char *cmd, size_t len, const char *root,
		   struct vt_upjob *out, char *err, size_t errlen) VT_WUR;

/* The name of kind for logs ("condmv", "httppost", "?"). */
const char *vt_upjob_name(enum vt_upjob_kind kind);

#endif
