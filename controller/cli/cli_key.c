/* cli_key.c - `vantage key add|list|revoke`: the researcher API's keys
 * (controller/api/keys.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"
#include "controller/api/keys.h"
#include "controller/cli/cli.h"

int cli_key_add(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "label", required_argument, NULL, 'l' },
		{ "grant", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 }
	};
	const char *label = NULL, *grant = "";
	char key[VT_KEY_LEN + 1], err[512];
	unsigned grants = 0;
	long long id;
	PGconn *db;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': label = optarg; break;
		case 'g': grant = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc || !label || !*label || strlen(label) > 60) {
		cli_error("key add: want --label LABEL (1 to 60 characters) "
			  "[--grant results,create,stop,tags,participation]");
		return 2;
	}
	if (vt_key_grants_parse(grant, &grants) < 0) {
		cli_error("key add: unknown grant in '%s' (results, create, stop, "
			  "tags, participation)", grant);
		return 2;
	}
	if (!(db = cli_db(ctx)))
		return 1;
	rc = vt_key_add(db, label, grants, key, &id, err, sizeof err);
	PQfinish(db);
	if (rc < 0) {
		cli_error("key add: %s", err);
		return 1;
	}
	printf("%s\n", key);
	return 0;
}

int cli_key_list(struct cli_ctx *ctx, int argc, char **argv)
{
	PGresult *res = NULL;
	char err[512];
	PGconn *db;

	if (!(db = cli_db(ctx)))
		return 1;
	if (vt_pg_exec(db, &res, err, sizeof err,
		       "SELECT id, label, array_to_string(grants, ','),"
		       " to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),"
		       " coalesce(to_char(revoked AT TIME ZONE 'UTC',"
		       " 'YYYY-MM-DD HH24:MI'), '-') FROM api_keys ORDER BY id",
		       0, NULL) < 0) {
		cli_error("key list: %s", err);
		PQfinish(db);
		return 1;
	}
	printf("%-6s %-24s %-40s %-17s %s\n", "ID", "LABEL", "GRANTS", "CREATED",
	       "REVOKED");
	for (int i = 0; i < PQntuples(res); i++)
		printf("%-6s %-24s %-40s %-17s %s\n", PQgetvalue(res, i, 0),
		       PQgetvalue(res, i, 1), *PQgetvalue(res, i, 2) ?
		       PQgetvalue(res, i, 2) : "-", PQgetvalue(res, i, 3),
		       PQgetvalue(res, i, 4));
	PQclear(res);
	PQfinish(db);
	return 0;
}

int cli_key_revoke(struct cli_ctx *ctx, int argc, char **argv)
{
	char err[512];
	PGconn *db;
	int n = 0, rc;

	if (argc != 2) {
		cli_error("key revoke: want ID or LABEL");
		return 2;
	}
	if (!(db = cli_db(ctx)))
		return 1;
	rc = vt_key_revoke(db, argv[1], &n, err, sizeof err);
	PQfinish(db);
	if (rc < 0) {
		cli_error("key revoke: %s", err);
		return 1;
	}
	if (n == 0) {
		cli_error("key revoke: no live key %s", argv[1]);
		return 1;
	}
	printf("%d revoked\n", n);
	return 0;
}
