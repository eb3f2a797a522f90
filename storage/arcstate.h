/* arcstate.h - where the archive stands, for the archiver's metrics and
 * `vantage status`: the newest archived (verified) day and the oldest day
 * past the late window that is not archived yet. */
#ifndef VT_ARCSTATE_H
#define VT_ARCSTATE_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "common/err.h"

struct vt_arc_state {
	char    last_day[16];      /* newest verified day, "" when none */
	char    oldest_due[16];    /* oldest unarchived day past the window, "" */
	int64_t overdue_s;         /* how long oldest_due has been due (0: none) */
	int64_t objects;           /* archive objects not expired */
	int64_t bytes;             /* their size */
};

/* Reads the state at now (unix s) with the late window late_days. */
int vt_arc_state_read(PGconn *db, int64_t now, int late_days,
		      struct vt_arc_state *out, char *errbuf,
		      size_t errlen) VT_WUR;

#endif
