/* plan_race - streams a measurement's results through the planner, and
 * right before its Nth statement archives, verifies and expires one day
 * on a second connection, as the archiver would while a long read runs.
 * Prints the results (one per line) and the plan's statistics on stderr.
 *
 *   plan_race MSM STORE-URL DAY N     (database from $VANTAGE_DB) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"
#include "storage/archive.h"
#include "storage/objstore.h"
#include "storage/planner.h"

struct race {
	PGconn             *plan_db, *arc_db;
	struct vt_objstore *store;
	const char         *day;
	int                 at, n, done;
};

static PGconn *acquire(void *arg)
{
	struct race *r = arg;

	if (++r->n == r->at) {
		struct vt_arc_opts o;
		struct vt_arc_stats st;
		int64_t d;
		char err[1024];

		vt_arc_opts_init(&o);
		if (vt_arc_day_parse(r->day, &d) < 0)
			return NULL;
		o.day = r->day;
		o.now = (d + 40) * 86400;
		if (vt_archive_run(r->arc_db, r->store, &o, &st, err, sizeof err) < 0) {
			fprintf(stderr, "plan_race: archiver: %s\n", err);
			return NULL;
		}
		r->done = st.objects_expired;
	}
	return r->plan_db;
}

static void release(void *arg, PGconn *c)
{
	(void)arg;
	(void)c;
}

int main(int argc, char **argv)
{
	struct race r = { 0 };
	struct vt_plan_query q = { 0, 0, 9000000000LL, NULL, 0 };
	struct vt_plan_db db = { acquire, release, &r };
	struct vt_plan *p = NULL;
	struct vt_plan_stats st;
	const char *conn = getenv("VANTAGE_DB");
	const char *json;
	size_t len;
	char err[1024];
	int ret;

	if (argc != 5 || !conn) {
		fprintf(stderr, "usage: plan_race MSM STORE-URL DAY N\n");
		return 2;
	}
	q.msm_id = atoll(argv[1]);
	r.day = argv[3];
	r.at = atoi(argv[4]);
	if (vt_pg_connect(conn, &r.plan_db, err, sizeof err) < 0 ||
	    vt_pg_connect(conn, &r.arc_db, err, sizeof err) < 0 ||
	    vt_objstore_open(argv[2], &r.store, err, sizeof err) < 0 ||
	    vt_plan_open(&p, &db, r.store, &q, err, sizeof err) < 0) {
		fprintf(stderr, "plan_race: %s\n", err);
		return 1;
	}
	while ((ret = vt_plan_next(p, &json, &len)) == 1) {
		fwrite(json, 1, len, stdout);
		putchar('\n');
	}
	if (ret < 0)
		fprintf(stderr, "plan_race: %s\n", vt_plan_error(p));
	vt_plan_stats(p, &st);
	fprintf(stderr, "expired=%d days_hot=%lld days_archived=%lld "
		"days_switched=%lld statements=%lld\n", r.done, st.days_hot,
		st.days_archived, st.days_switched, st.statements);
	vt_plan_free(p);
	vt_objstore_free(r.store);
	PQfinish(r.plan_db);
	PQfinish(r.arc_db);
	return ret < 0;
}
