/* crontab.h - crontab lines (PROTOCOL.md, "Crontab lines").
 *
 *   <interval_s> <start_unix> <end_unix> NONE|UNIFORM <spread_s> <command...> */
#ifndef VT_PROTO_CRONTAB_H
#define VT_PROTO_CRONTAB_H

#include <stddef.h>
#include "common/buf.h"

#define VT_CMDLINE_MAX 512          /* bytes of a measurement command line */

struct vt_cron_line {
	long      interval;         /* seconds, > 0 */
	long long start;            /* unix seconds */
	long long end;              /* unix seconds */
	int       uniform;          /* 1: UNIFORM, 0: NONE */
	long      spread;           /* seconds, >= 0 */
	char      command[VT_CMDLINE_MAX + 1];
};

/* Parses one line (no terminator needed).  VT_EPARSE on a bad field,
 * VT_ETOOBIG when the command is over VT_CMDLINE_MAX bytes. */
int vt_cron_line_parse(const char *line, size_t len,
		       struct vt_cron_line *out) VT_WUR;
/* Appends the line, without a newline. */
int vt_cron_line_format(const struct vt_cron_line *l, struct vt_buf *out) VT_WUR;
/* 1 when a and b are the same job: equal interval, start and command (a
 * re-sent line that differs only in end time keeps its state). */
int vt_cron_same_job(const struct vt_cron_line *a, const struct vt_cron_line *b);
/* The measurement id of a command line (the digits after -A), or -1. */
long vt_cron_msm_id(const char *command);

#endif
