/* cli_probe.c - `vantage probe add|list`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/opt.h"
#include "common/pg.h"
#include "proto/sshkey.h"
#include "controller/cli/cli.h"

/* Reads and checks the OpenSSH public key in path (proto/sshkey.h). */
static int read_pubkey(const char *path, struct vt_sshkey *key)
{
	char text[VT_SSHKEY_B64_MAX + 1024], err[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		cli_error("%s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(text, 1, sizeof text, f);
	fclose(f);
	if (vt_sshkey_parse(text, n, key, err, sizeof err) < 0) {
		cli_error("probe add: %s: %s", path, err);
		return -1;
	}
	return 0;
}

int cli_probe_add(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'k' },
		{ "tags", required_argument, NULL, 't' },
		{ "anchor", no_argument, NULL, 'a' },
		{ "virtual", no_argument, NULL, 'v' },
		{ "country", required_argument, NULL, 'c' },
		{ "asn", required_argument, NULL, 'n' },
		{ "location", required_argument, NULL, 'l' },
		{ "description", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	const char *pubkey = NULL, *tags = "", *country = NULL, *asn = NULL,
		   *loc = NULL, *descr = "";
	char tagarr[4096], lat[64] = "", lon[64] = "";
	struct vt_sshkey *key = NULL;
	int c, anchor = 0, virt = 0, rc = 1;
	long long asn_v;
	PGresult *res = NULL;
	PGconn *db = NULL;
	char err[512];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': pubkey = optarg; break;
		case 't': tags = optarg; break;
		case 'a': anchor = 1; break;
		case 'v': virt = 1; break;
		case 'c': country = optarg; break;
		case 'n': asn = optarg; break;
		case 'l': loc = optarg; break;
		case 'd': descr = optarg; break;
		default: return 2;
		}
	}
	if (!pubkey) {
		cli_error("probe add: --pubkey FILE is required");
		return 2;
	}
	if (loc && sscanf(loc, "%63[^,],%63s", lat, lon) != 2) {
		cli_error("probe add: --location wants LAT,LON");
		return 2;
	}
	if (asn && vt_opt_num("--asn", asn, 0, 2147483647LL, &asn_v, err,
			      sizeof err) < 0) {
		cli_error("probe add: %s", err);
		return 2;
	}
	if (!(key = malloc(sizeof *key)) || read_pubkey(pubkey, key) < 0)
		goto out;
	snprintf(tagarr, sizeof tagarr, "{%s}", tags);
	{
		const char *p[10] = {
			key->type, key->b64, descr, tagarr, anchor ? "t" : "f",
			virt ? "t" : "f", country, asn,
			*lat ? lat : NULL, *lon ? lon : NULL
		};

		if (!(db = cli_db(ctx)))
			goto out;
		if (vt_pg_exec(db, &res, err, sizeof err,
			       "INSERT INTO probes (key_type, pubkey, description, tags,"
			       " is_anchor, is_virtual, country_code, asn_v4, latitude,"
			       " longitude, system_tags) VALUES ($1, $2, $3, $4, $5, $6,"
			       " $7, $8::integer, $9::float8, $10::float8,"
			       " CASE WHEN $5::boolean THEN '{system-anchor}'::text[]"
			       " ELSE '{}' END || CASE WHEN $6::boolean THEN"
			       " '{system-virtual}'::text[] ELSE '{}' END)"
			       " RETURNING id", 10, p) < 0) {
			if (strstr(err, "probes_pubkey_key"))
				cli_error("probe add: this key is registered already");
			else
				cli_error("probe add: %s", err);
			goto out;
		}
	}
	printf("%s\n", PQgetvalue(res, 0, 0));
	rc = 0;
out:
	free(key);
	PQclear(res);
	PQfinish(db);
	return rc;
}

int cli_probe_list(struct cli_ctx *ctx, int argc, char **argv)
{
	PGresult *res = NULL;
	PGconn *db;
	char err[512];

	if (!(db = cli_db_read(ctx)))
		return 1;
	if (vt_pg_exec(db, &res, err, sizeof err,
		       "SELECT p.id, CASE p.status WHEN 0 THEN 'never' WHEN 1 THEN"
		       " 'connected' WHEN 2 THEN 'disconnected' ELSE 'abandoned' END,"
		       " coalesce(host(s.from_addr), '-'), coalesce(s.gateway, '-'),"
		       " p.key_type, array_to_string(p.tags || p.system_tags, ','),"
		       " p.description FROM probes p LEFT JOIN probe_sessions s"
		       " ON s.probe_id = p.id ORDER BY p.id", 0, NULL) < 0) {
		cli_error("probe list: %s", err);
		PQfinish(db);
		return 1;
	}
	printf("%-8s %-12s %-16s %-12s %-12s %s\n", "ID", "STATUS", "FROM",
	       "GATEWAY", "KEY", "TAGS");
	for (int i = 0; i < PQntuples(res); i++)
		printf("%-8s %-12s %-16s %-12s %-12s %s\n", PQgetvalue(res, i, 0),
		       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
		       PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
		       PQgetvalue(res, i, 5));
	PQclear(res);
	PQfinish(db);
	return 0;
}
