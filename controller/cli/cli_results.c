/* cli_results.c - `vantage results ID [--probe N[,N...]] [--start T]
 * [--stop T] [--store URL] [--stats] [--api URL]`: the stored results of a
 * measurement, hot and archived days in one stream, one JSON per line, in
 * (timestamp, probe) order, read through the planner (storage/planner.h),
 * or through vantage-api when --api or $VANTAGE_API_URL names it. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/opt.h"
#include "storage/objstore.h"
#include "storage/planner.h"
#include "controller/cli/cli.h"

#define CLI_PROBES_MAX 10000

/* The CLI holds one connection; the planner borrows it per statement. */
static PGconn *cli_acquire(void *arg)
{
	return arg;
}

static void cli_release(void *arg, PGconn *c)
{
	(void)arg;
	(void)c;
}

/* Adds the ids of "N[,N...]" to v; the reason of a refusal in err. */
static int add_probes(const char *s, long long *v, size_t *n, char *err,
		      size_t errlen)
{
	char buf[4096], *save = NULL;

	if (strlen(s) >= sizeof buf) {
		snprintf(err, errlen, "--probe: too long");
		return -1;
	}
	strcpy(buf, s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*n == CLI_PROBES_MAX) {
			snprintf(err, errlen, "--probe: more than %d probes",
				 CLI_PROBES_MAX);
			return -1;
		}
		if (vt_opt_num("--probe", t, 1, INT_MAX, &v[*n], err, errlen) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

int cli_results(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "probe", required_argument, NULL, 'p' },
		{ "start", required_argument, NULL, 's' },
		{ "stop", required_argument, NULL, 'e' },
		{ "store", required_argument, NULL, 'o' },
		{ "stats", no_argument, NULL, 'x' },
		{ "api", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	const char *api = getenv("VANTAGE_API_URL");
	char pargs[4096] = "", pathq[4600];
	struct vt_plan_query q = { 0, 0, LLONG_MAX, NULL, 0 };
	const char *store_url = getenv("VANTAGE_ARCHIVE");
	struct vt_objstore *store = NULL;
	struct vt_plan_db pdb;
	struct vt_plan *plan = NULL;
	long long *probes = NULL;
	static char obuf[1 << 16];
	char err[1024];
	PGconn *db = NULL;
	int c, r, rc = 1, want_stats = 0;

	if (!(probes = calloc(CLI_PROBES_MAX, sizeof *probes))) {
		cli_error("results: out of memory");
		return 1;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (add_probes(optarg, probes, &q.nprobes, err,
				       sizeof err) < 0) {
				cli_error("results: %s (probe ids: N[,N...])", err);
				rc = 2;
				goto out;
			}
			q.probes = probes;
			if (strlen(pargs) + strlen(optarg) + 2 < sizeof pargs)
				snprintf(pargs + strlen(pargs), sizeof pargs - strlen(pargs),
					 "%s%s", pargs[0] ? "," : "", optarg);
			break;
		case 's':
		case 'e':
			if (vt_opt_num(c == 's' ? "--start" : "--stop", optarg, 0,
				       LLONG_MAX, c == 's' ? &q.start : &q.stop,
				       err, sizeof err) < 0) {
				cli_error("results: %s", err);
				rc = 2;
				goto out;
			}
			break;
		case 'o': store_url = optarg; break;
		case 'x': want_stats = 1; break;
		case 'a': api = optarg; break;
		default: rc = 2; goto out;
		}
	}
	if (optind + 1 != argc || vt_num_parse(argv[optind], 1, LLONG_MAX,
						&q.msm_id) < 0) {
		cli_error("results: usage: vantage results MSM_ID [--probe N[,N...]]"
			  " [--start T] [--stop T] [--store URL] [--stats] [--api URL]");
		rc = 2;
		goto out;
	}
	if (api && *api) {
		int n = snprintf(pathq, sizeof pathq, "api/v2/measurements/%lld/results/"
				 "?format=txt", q.msm_id);

		if (pargs[0])
			n += snprintf(pathq + n, sizeof pathq - (size_t)n, "&probe_ids=%s",
				      pargs);
		if (q.start)
			n += snprintf(pathq + n, sizeof pathq - (size_t)n, "&start=%lld",
				      q.start);
		if (q.stop != LLONG_MAX)
			snprintf(pathq + n, sizeof pathq - (size_t)n, "&stop=%lld", q.stop);
		rc = cli_api_get(api, pathq);
		goto out;
	}
	if (store_url && *store_url &&
	    vt_objstore_open(store_url, &store, err, sizeof err) < 0) {
		cli_error("results: store: %s", err);
		goto out;
	}
	if (!(db = cli_db_read(ctx)))
		goto out;
	pdb.acquire = cli_acquire;
	pdb.release = cli_release;
	pdb.arg = db;
	/* Nothing printed yet: a plan the replica cannot make goes to the
	 * primary.  Later, losing the replica ends the output with an error
	 * and exit status 1, never a silently short answer. */
	while (vt_plan_open(&plan, &pdb, store, &q, err, sizeof err) < 0) {
		if (cli_db_read_again(ctx, &db)) {
			cli_error("results: on the replica: %s: reading from the"
				  " primary", err);
			pdb.arg = db;
			continue;
		}
		cli_error("results: %s", err);
		goto out;
	}
	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
	for (;;) {
		const char *json;
		size_t len;

		if ((r = vt_plan_next(plan, &json, &len)) <= 0)
			break;
		if (fwrite(json, 1, len, stdout) != len || putchar('\n') == EOF) {
			r = VT_EIO;
			break;
		}
	}
	if (fflush(stdout) == EOF && r >= 0)
		r = VT_EIO;
	if (r < 0) {
		cli_error("results: %s", r == VT_EIO && !*vt_plan_error(plan) ?
			  "cannot write the output" : vt_plan_error(plan));
		goto out;
	}
	if (want_stats) {
		struct vt_plan_stats st;

		vt_plan_stats(plan, &st);
		fprintf(stderr, "days_hot=%lld days_archived=%lld days_switched=%lld "
			"statements=%lld requests=%lld segments=%lld results=%lld "
			"spilled_days=%lld\n", st.days_hot, st.days_archived,
			st.days_switched, st.statements, st.requests, st.segments,
			st.results, st.spilled_days);
	}
	rc = 0;
out:
	vt_plan_free(plan);
	vt_objstore_free(store);
	PQfinish(db);
	free(probes);
	return rc;
}
