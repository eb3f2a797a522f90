/* pstatus.h - the worker's writes of the probes' own status lines
 * (proto/status.h) into probe_status (migration 008): per probe the newest
 * uptime and interface addresses, and a count of the other status lines. */
#ifndef VT_WORKER_PSTATUS_H
#define VT_WORKER_PSTATUS_H

#include <libpq-fe.h>
#include "common/err.h"
#include "proto/status.h"

struct wk_pstatus {
	long                    probe;
	const struct vt_status *st;
};

/* Upserts the n status lines (any order, several per probe) in one
 * statement; a report older than what is kept changes nothing, lines of
 * probes that no longer exist are left out.  VT_OK, or VT_EDB / VT_ENOMEM /
 * VT_ETOOBIG with the reason in errbuf (a database error as
 * "SQLSTATE XXXXX: message"). */
int wk_pstatus_store(PGconn *db, const struct wk_pstatus *s, int n,
		     char *errbuf, size_t errlen) VT_WUR;

#endif
