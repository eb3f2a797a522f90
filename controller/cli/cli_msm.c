/* cli_msm.c - `vantage msm create|stop|list|show|participate` and
 * `vantage probe tags`. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/opt.h"
#include "common/pg.h"
#include "common/vtime.h"
#include "controller/cli/cli.h"
#include "controller/scheduler/def.h"
#include "controller/scheduler/msm.h"

/* Reads FILE ('-': stdin) into b (capped at the request maximum). */
static int read_file(const char *path, struct vt_buf *b)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char chunk[8192];
	size_t n;
	int rc = 0;

	if (!f) {
		cli_error("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (vt_buf_add(b, chunk, n) < 0) {
			cli_error("%s: over %d bytes", path, VT_MSM_BODY_MAX);
			rc = -1;
			break;
		}
	if (ferror(f)) {
		cli_error("%s: read error", path);
		rc = -1;
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

static int parse_id(const char *s, long long *id)
{
	if (vt_num_parse(s, 1, INT64_MAX, id) < 0) {
		cli_error("not a measurement id: %s", s);
		return -1;
	}
	return 0;
}

int cli_msm_create(struct cli_ctx *ctx, int argc, char **argv)
{
	struct vt_msm_request *r = NULL;
	struct vt_buf body;
	long long ids[VT_MSM_DEFS_MAX];
	PGconn *db = NULL;
	char err[512];
	int n, rc = 1;

	vt_buf_init(&body, VT_MSM_BODY_MAX);
	if (argc != 2) {
		cli_error("msm create: want FILE (the JSON body, '-' for stdin)");
		return 2;
	}
	if (read_file(argv[1], &body) < 0)
		goto out;
	if (vt_msm_request_parse(body.data ? body.data : "", body.len,
				 vt_now_ms() / 1000, &r, err, sizeof err) < 0) {
		cli_error("msm create: %s", err);
		goto out;
	}
	if (!(db = cli_db(ctx)))
		goto out;
	if (vt_msm_create(db, r, vt_now_ms() / 1000, ids, VT_MSM_DEFS_MAX, &n,
			  err, sizeof err) < 0) {
		cli_error("msm create: %s", err);
		goto out;
	}
	for (int i = 0; i < n; i++)
		printf("%lld\n", ids[i]);
	rc = 0;
out:
	PQfinish(db);
	vt_msm_request_free(r);
	vt_buf_free(&body);
	return rc;
}

int cli_msm_stop(struct cli_ctx *ctx, int argc, char **argv)
{
	long long id;
	PGconn *db;
	char err[512];
	int rc;

	if (argc != 2) {
		cli_error("msm stop: want ID");
		return 2;
	}
	if (parse_id(argv[1], &id) < 0)
		return 2;
	if (!(db = cli_db(ctx)))
		return 1;
	rc = vt_msm_stop(db, id, vt_now_ms() / 1000, err, sizeof err);
	if (rc < 0)
		cli_error("msm stop: %s", err);
	PQfinish(db);
	return rc < 0 ? 1 : 0;
}

int cli_msm_list(struct cli_ctx *ctx, int argc, char **argv)
{
	PGresult *res = NULL;
	PGconn *db;
	char err[512];

	if (!(db = cli_db_read(ctx)))
		return 1;
	if (vt_pg_exec(db, &res, err, sizeof err,
		       "SELECT m.id, m.type, m.af, m.status, coalesce(m.target, '-'),"
		       " (SELECT count(*) FROM assignments a WHERE a.msm_id = m.id"
		       "  AND a.removed IS NULL), m.probes_requested,"
		       " CASE WHEN m.is_oneoff THEN 'oneoff' ELSE m.interval::text END,"
		       " m.description FROM measurements m ORDER BY m.id", 0, NULL) < 0) {
		cli_error("msm list: %s", err);
		PQfinish(db);
		return 1;
	}
	printf("%-10s %-10s %-2s %-18s %-24s %-9s %-7s %s\n", "ID", "TYPE", "AF",
	       "STATUS", "TARGET", "PROBES", "EVERY", "DESCRIPTION");
	for (int i = 0; i < PQntuples(res); i++) {
		char probes[32];

		snprintf(probes, sizeof probes, "%s/%s", PQgetvalue(res, i, 5),
			 PQgetvalue(res, i, 6));
		printf("%-10s %-10s %-2s %-18s %-24s %-9s %-7s %s\n",
		       PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		       PQgetvalue(res, i, 2),
		       vt_msm_status_name(atoi(PQgetvalue(res, i, 3))),
		       PQgetvalue(res, i, 4), probes, PQgetvalue(res, i, 7),
		       PQgetvalue(res, i, 8));
	}
	PQclear(res);
	PQfinish(db);
	return 0;
}

int cli_msm_show(struct cli_ctx *ctx, int argc, char **argv)
{
	PGresult *res = NULL;
	long long id;
	char ids[24], err[512];
	const char *p[1] = { ids };
	PGconn *db;
	int rc = 1;

	if (argc != 2) {
		cli_error("msm show: want ID");
		return 2;
	}
	if (parse_id(argv[1], &id) < 0)
		return 2;
	snprintf(ids, sizeof ids, "%lld", id);
	if (!(db = cli_db_read(ctx)))
		return 1;
	/* The measurement object of API.md, "Objects" (status name added by
	 * the caller below). */
again:
	if (vt_pg_exec(db, &res, err, sizeof err,
		       "SELECT (m.definition || jsonb_build_object("
		       " 'id', m.id, 'type', m.type, 'af', m.af,"
		       " 'description', m.description,"
		       " 'creation_time', extract(epoch FROM m.creation_time)::bigint,"
		       " 'start_time', m.start_time, 'stop_time', m.stop_time,"
		       " 'status', jsonb_build_object('id', m.status,"
		       "  'when', extract(epoch FROM m.status_since)::bigint),"
		       " 'is_oneoff', m.is_oneoff, 'is_public', m.is_public,"
		       " 'interval', m.interval, 'spread', m.spread,"
		       " 'target', m.target, 'group_id', m.group_id, 'tags', m.tags,"
		       " 'probes_requested', m.probes_requested,"
		       " 'probes_scheduled', (SELECT count(*) FROM assignments a"
		       "   WHERE a.msm_id = m.id AND a.removed IS NULL),"
		       " 'participant_count', (SELECT count(*) FROM assignments a"
		       "   WHERE a.msm_id = m.id),"
		       " 'probes', coalesce((SELECT jsonb_agg(jsonb_build_object("
		       "   'id', a.probe_id) ORDER BY a.probe_id) FROM assignments a"
		       "   WHERE a.msm_id = m.id AND a.removed IS NULL), '[]')))::text,"
		       " m.status FROM measurements m WHERE m.id = $1", 1, p) < 0) {
		cli_error("msm show: %s", err);
		goto out;
	}
	if (PQntuples(res) == 0 && cli_db_read_again(ctx, &db)) {
		/* Made a moment ago, not on the replica yet. */
		PQclear(res);
		res = NULL;
		goto again;
	}
	if (PQntuples(res) == 0) {
		cli_error("msm show: no measurement %lld", id);
		goto out;
	}
	{
		/* Splice the status name into the status object. */
		const char *j = PQgetvalue(res, 0, 0), *s = strstr(j, "\"status\": {");

		if (s) {
			s += strlen("\"status\": {");
			printf("%.*s\"name\": \"%s\", %s\n", (int)(s - j), j,
			       vt_msm_status_name(atoi(PQgetvalue(res, 0, 1))), s);
		} else {
			printf("%s\n", j);
		}
	}
	rc = 0;
out:
	PQclear(res);
	PQfinish(db);
	return rc;
}

int cli_msm_participate(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "add", required_argument, NULL, 'a' },
		{ "remove", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	const char *add = NULL, *rm = NULL;
	struct vt_msm_spec spec;
	struct vt_buf body;
	json_t *j = NULL;
	long long id, req = 0;
	PGconn *db = NULL;
	char err[512];
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': add = optarg; break;
		case 'r': rm = optarg; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || !add == !rm) {
		cli_error("msm participate: want ID and one of --add SPEC.json "
			  "or --remove 1,2,3");
		return 2;
	}
	if (parse_id(argv[optind], &id) < 0)
		return 2;
	vt_buf_init(&body, 65536);
	if (add) {
		json_error_t jerr;

		if (read_file(add, &body) < 0)
			goto out;
		if (!(j = json_loadb(body.data ? body.data : "", body.len, 0, &jerr))) {
			cli_error("msm participate: %s: not JSON: %s", add, jerr.text);
			goto out;
		}
		if (vt_msm_spec_parse(j, "spec", &spec, err, sizeof err) < 0) {
			cli_error("msm participate: %s", err);
			goto out;
		}
	}
	if (!(db = cli_db(ctx)))
		goto out;
	if ((add ? vt_msm_participate_add(db, id, &spec, &req, err, sizeof err) :
	     vt_msm_participate_remove(db, id, rm, &req, err, sizeof err)) < 0) {
		cli_error("msm participate: %s", err);
		goto out;
	}
	printf("%lld\n", req);
	rc = 0;
out:
	json_decref(j);
	vt_buf_free(&body);
	PQfinish(db);
	return rc;
}

/* "a,b" -> "{a,b}" after checking each slug. */
static int tag_literal(const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in);

	if (n + 3 > outlen || strspn(in, "abcdefghijklmnopqrstuvwxyz0123456789-_,")
	    != n) {
		cli_error("probe tags: not a list of tags (lower-case letters, "
			  "digits, '-', '_'): %s", in);
		return -1;
	}
	snprintf(out, outlen, "{%s}", in);
	return 0;
}

int cli_probe_tags(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "add", required_argument, NULL, 'a' },
		{ "remove", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	char add[2048] = "{}", rm[2048] = "{}", err[512];
	const char *p[3] = { NULL, add, rm };
	PGresult *res = NULL;
	PGconn *db;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (tag_literal(optarg, add, sizeof add) < 0)
				return 2;
			break;
		case 'r':
			if (tag_literal(optarg, rm, sizeof rm) < 0)
				return 2;
			break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || strspn(argv[optind], "0123456789") !=
	    strlen(argv[optind]) || !argv[optind][0]) {
		cli_error("probe tags: want a probe ID");
		return 2;
	}
	p[0] = argv[optind];
	if (!(db = cli_db(ctx)))
		return 1;
	if (vt_pg_exec(db, &res, err, sizeof err,
		       "UPDATE probes SET tags = array(SELECT DISTINCT t FROM"
		       " unnest(tags || $2::text[]) t WHERE t <> ALL ($3::text[])"
		       " ORDER BY t) WHERE id = $1::integer"
		       " RETURNING array_to_string(tags || system_tags, ',')",
		       3, p) < 0) {
		cli_error("probe tags: %s", err);
		goto out;
	}
	if (PQntuples(res) == 0) {
		cli_error("probe tags: no probe %s", argv[optind]);
		goto out;
	}
	printf("%s\n", PQgetvalue(res, 0, 0));
	vt_pg_try(db, "NOTIFY vantage_sched");
	rc = 0;
out:
	PQclear(res);
	PQfinish(db);
	return rc;
}
