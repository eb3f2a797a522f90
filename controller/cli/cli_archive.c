/* cli_archive.c - `vantage archive get`: results of one measurement-day
 * read back from the cold archive. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/opt.h"
#include "storage/archive.h"
#include "storage/objstore.h"
#include "controller/cli/cli.h"

static int print_line(void *arg, const char *line, size_t len)
{
	FILE *f = arg;

	if (fwrite(line, 1, len, f) != len || fputc('\n', f) == EOF)
		return VT_EIO;
	return 0;
}

static int num(const char *flag, const char *s, int64_t min, int64_t *v)
{
	char err[128];
	long long x;

	if (vt_opt_num(flag, s, min, INT64_MAX, &x, err, sizeof err) < 0) {
		cli_error("archive get: %s", err);
		return -1;
	}
	*v = x;
	return 0;
}

int cli_archive_get(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "day", required_argument, NULL, 'D' },
		{ "probe", required_argument, NULL, 'p' },
		{ "start", required_argument, NULL, 's' },
		{ "stop", required_argument, NULL, 'S' },
		{ "store", required_argument, NULL, 'o' },
		{ "stats", no_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 }
	};
	struct vt_arc_query q = { 0, NULL, 0, INT64_MIN, INT64_MAX };
	struct vt_arc_read_stats rs;
	struct vt_objstore *st = NULL;
	const char *store = getenv("VANTAGE_ARCHIVE");
	char err[1024] = "";
	PGconn *db = NULL;
	int c, r, rc = 1, want_stats = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'D': q.day = optarg; break;
		case 'p':
			if (num("--probe", optarg, 1, &q.prb_id) < 0)
				goto usage;
			break;
		case 's':
			if (num("--start", optarg, INT64_MIN, &q.start) < 0)
				goto usage;
			break;
		case 'S':
			if (num("--stop", optarg, INT64_MIN, &q.stop) < 0)
				goto usage;
			break;
		case 'o': store = optarg; break;
		case 'x': want_stats = 1; break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || !q.day ||
	    num("MSM", argv[optind], 1, &q.msm_id) < 0)
		goto usage;
	if (!store || !*store) {
		cli_error("no archive store: give --store URL or set VANTAGE_ARCHIVE");
		return 2;
	}
	if (!(db = cli_db_read(ctx)))
		return 1;
	if (vt_objstore_open(store, &st, err, sizeof err) < 0) {
		cli_error("store: %s", err);
		goto out;
	}
	r = vt_archive_get(db, st, &q, print_line, stdout, &rs, err, sizeof err);
	/* A day archived a moment ago may not be in the replica's index yet:
	 * with nothing printed, the primary is asked. */
	if (r < 0 && rs.results == 0 && cli_db_read_again(ctx, &db))
		r = vt_archive_get(db, st, &q, print_line, stdout, &rs, err, sizeof err);
	if (fflush(stdout) == EOF && r >= 0)
		r = VT_EIO;
	if (r < 0) {
		cli_error("archive: %s", r == VT_EIO && !err[0] ?
			  "cannot write the output" : err);
		goto out;
	}
	if (want_stats)
		fprintf(stderr, "segments=%d requests=%d bytes=%llu results=%lld\n",
			rs.segments, rs.requests, (unsigned long long)rs.bytes,
			(long long)rs.results);
	rc = 0;
out:
	vt_objstore_free(st);
	PQfinish(db);
	return rc;
usage:
	cli_error("usage: vantage archive get MSM --day YYYY-MM-DD [--probe N] "
		  "[--start T --stop T] [--store URL]");
	return 2;
}
