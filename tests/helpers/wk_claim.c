/* wk_claim - one batch of vantage-worker's (vt_worker_batch) from a cursor
 * the caller gives, so that a test can put a worker's claim where it
 * wants it: behind the queue's shared front (migration 024), or after a
 * batch that batch_bytes cut, or just after a wake (FRONT_ONLY 1).  Prints
 * the cursor the batch leaves and the rows it took, "from F claims C own O
 * rows N".
 *
 *   wk_claim FROM CLAIMS OWN BATCH BATCH_BYTES [FRONT_ONLY]
 *   (database from $VANTAGE_DB) */
#include <stdio.h>
#include <stdlib.h>

#include "common/pg.h"
#include "controller/worker/worker.h"

int main(int argc, char **argv)
{
	struct vt_worker_cursor cur = { 0 };
	struct vt_worker_stats st = { 0 };
	struct vt_worker_opts o;
	const char *conninfo = getenv("VANTAGE_DB");
	PGconn *db = NULL;
	char err[256];
	int r;

	if ((argc != 6 && argc != 7) || !conninfo) {
		fprintf(stderr, "usage: VANTAGE_DB=... wk_claim FROM CLAIMS OWN"
			" BATCH BATCH_BYTES [FRONT_ONLY]\n");
		return 2;
	}
	vt_worker_opts_default(&o);
	cur.from = atoll(argv[1]);
	cur.claims = atoi(argv[2]);
	cur.own = atoi(argv[3]);
	cur.front_only = argc == 7 && atoi(argv[6]);
	o.batch = atoi(argv[4]);
	o.batch_bytes = atol(argv[5]);
	o.active = 0;
	if (vt_pg_connect(conninfo, &db, err, sizeof err) < 0) {
		fprintf(stderr, "wk_claim: %s\n", err);
		return 1;
	}
	r = vt_worker_batch(db, &o, &cur, &st, err, sizeof err);
	PQfinish(db);
	if (r < 0) {
		fprintf(stderr, "wk_claim: %s\n", err);
		return 1;
	}
	printf("from %lld claims %d own %d rows %ld\n", cur.from, cur.claims,
	       cur.own, st.claimed);
	return 0;
}
