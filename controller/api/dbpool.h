/* dbpool.h - a small pool of PostgreSQL connections for vantage-api.
 *
 * A request takes a connection for one statement (or one short
 * transaction) and gives it back at once, so no request waits for another
 * longer than a statement.  Every connection runs with statement_timeout
 * (and idle_in_transaction_session_timeout) set.  Connections are made on
 * demand up to max; a broken one is dropped when given back.  Thread-safe. */
#ifndef VT_API_DBPOOL_H
#define VT_API_DBPOOL_H

#include <stddef.h>
#include <libpq-fe.h>

#include "common/err.h"

struct vt_dbpool;

/* conninfo is copied.  stmt_ms: statement timeout; wait_ms: the longest an
 * acquire waits for a free connection. */
int vt_dbpool_new(const char *conninfo, int max, int stmt_ms, int wait_ms,
		  struct vt_dbpool **out) VT_WUR;
void vt_dbpool_free(struct vt_dbpool *p);

/* A connection, or NULL with the reason in errbuf (VT_ETIMEOUT when all
 * are busy for wait_ms, VT_EDB when connecting failed) in *rc. */
PGconn *vt_dbpool_get(struct vt_dbpool *p, int *rc, char *errbuf, size_t errlen);
/* Gives c back (NULL is fine). */
void vt_dbpool_put(struct vt_dbpool *p, PGconn *c);

#endif
