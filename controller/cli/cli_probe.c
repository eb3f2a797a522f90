/* cli_probe.c - `vantage probe add|list`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"
#include "controller/cli/cli.h"

/* Reads "TYPE BASE64 [comment]" from an OpenSSH public key file. */
static int read_pubkey(const char *path, char *type, size_t tlen, char *b64,
		       size_t blen)
{
	char line[16384], *tok, *save = NULL;
	FILE *f = fopen(path, "r");

	if (!f) {
		cli_error("%s: %s", path, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof line, f)) {
		fclose(f);
		cli_error("%s: empty file", path);
		return -1;
	}
	fclose(f);
	tok = strtok_r(line, " \t\r\n", &save);
	if (tok && strlen(tok) < tlen)
		snprintf(type, tlen, "%s", tok);
	else
		type[0] = '\0';
	tok = strtok_r(NULL, " \t\r\n", &save);
	if (tok && strlen(tok) < blen)
		snprintf(b64, blen, "%s", tok);
	else
		b64[0] = '\0';
	if (!*b64 || strncmp(type, "ssh-", 4) != 0) {
		cli_error("%s: not an OpenSSH public key (expected 'ssh-TYPE BASE64')",
			  path);
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
	char type[64], b64[12288], tagarr[4096], lat[64] = "", lon[64] = "";
	int c, anchor = 0, virt = 0, rc = 1;
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
	if (asn && strspn(asn, "0123456789") != strlen(asn)) {
		cli_error("probe add: --asn wants a number");
		return 2;
	}
	if (read_pubkey(pubkey, type, sizeof type, b64, sizeof b64) < 0)
		return 1;
	snprintf(tagarr, sizeof tagarr, "{%s}", tags);
	{
		const char *p[10] = {
			type, b64, descr, tagarr, anchor ? "t" : "f",
			virt ? "t" : "f", country, asn,
			*lat ? lat : NULL, *lon ? lon : NULL
		};

		if (!(db = cli_db(ctx)))
			return 1;
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
	PQclear(res);
	PQfinish(db);
	return rc;
}

int cli_probe_list(struct cli_ctx *ctx, int argc, char **argv)
{
	PGresult *res = NULL;
	PGconn *db;
	char err[512];

	if (!(db = cli_db(ctx)))
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
