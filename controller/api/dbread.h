/* dbread.h - reads on a streaming replica for vantage-api (--db-read).
 *
 * A second pool (dbpool.h) holds connections to the replica.  A monitor
 * thread measures the replica's staleness once a second on two
 * connections of its own (common/pgreplica.h: the primary's WAL position
 * against the replica's replay position, else the age of its last
 * replayed commit); the replica is used while that is at most max_lag_s
 * and the last check is fresh (under 3 s old), otherwise reads go to the
 * primary.  Changes of state are logged.
 *
 * The rules the handlers follow (api.c, h_results.c, catchment.c):
 * - only GET and HEAD requests read on the replica; writes, API keys and
 *   the key lookup of every request are on the primary;
 * - a request moves forward in time only: it may go from the replica to
 *   the primary (a statement that fails there, or finds nothing: read your
 *   writes), never back;
 * - a results stream reads one source for its whole life; losing the
 *   replica after its first byte aborts it (the client sees a broken
 *   chunked transfer), before that it is planned again on the primary.
 * Thread-safe. */
#ifndef VT_API_DBREAD_H
#define VT_API_DBREAD_H

#include <libpq-fe.h>

#include "common/err.h"

struct vt_dbpool;
struct vt_dbread;

int vt_dbread_new(const char *primary, const char *replica, int conns,
		  int stmt_ms, int max_lag_s, struct vt_dbread **out) VT_WUR;
/* Stops the monitor and frees the replica's pool (NULL is fine). */
void vt_dbread_free(struct vt_dbread *rd);

/* The replica's pool when reads may go there now, else NULL. */
struct vt_dbpool *vt_dbread_pool(struct vt_dbread *rd);
/* A request saw the replica fail (why): reads go to the primary until the
 * monitor finds it well again. */
void vt_dbread_lost(struct vt_dbread *rd, const char *why);

/* A planner source (storage/planner.h, struct vt_plan_db with arg = the
 * source) pinned to one pool for a whole plan.  On the replica, each
 * acquire checks its replay position never went back (vt_pg_replica_since)
 * and a failure marks the replica lost. */
struct vt_dbread_src {
	struct vt_dbread *rd;
	struct vt_dbpool *pool;
	int replica;              /* pool is the replica's */
	int lost;                 /* the replica failed under this source */
	char lsn[32];             /* the highest replay position seen */
};
void vt_dbread_src_init(struct vt_dbread_src *s, struct vt_dbread *rd,
			struct vt_dbpool *primary, struct vt_dbpool *replica);
PGconn *vt_dbread_src_acquire(void *arg);
void vt_dbread_src_release(void *arg, PGconn *c);

#endif
