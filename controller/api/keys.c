/* keys.c - API keys. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/pg.h"
#include "controller/api/keys.h"

static const char *const grant_names[] = {
	"results", "create", "stop", "tags", "participation"
};
#define NGRANTS (sizeof grant_names / sizeof *grant_names)

const char *vt_key_grant_name(unsigned bit)
{
	for (size_t i = 0; i < NGRANTS; i++)
		if (bit == 1u << i)
			return grant_names[i];
	return "unknown";
}

int vt_key_grants_parse(const char *list, unsigned *out)
{
	unsigned g = 0;

	while (*list) {
		size_t n = strcspn(list, ", ");
		size_t i;

		for (i = 0; i < NGRANTS; i++)
			if (strlen(grant_names[i]) == n &&
			    !strncmp(list, grant_names[i], n))
				break;
		if (n && i == NGRANTS)
			return VT_EPARSE;
		if (n)
			g |= 1u << i;
		list += n;
		list += strspn(list, ", ");
	}
	*out = g;
	return 0;
}

void vt_key_grants_str(unsigned grants, char *out, size_t outlen)
{
	size_t used = 0;

	if (outlen)
		out[0] = '\0';
	for (size_t i = 0; i < NGRANTS && used < outlen; i++)
		if (grants & (1u << i))
			used += (size_t)snprintf(out + used, outlen - used, "%s%s",
						 used ? "," : "", grant_names[i]);
}

int vt_key_wellformed(const char *s)
{
	if (strlen(s) != VT_KEY_LEN)
		return 0;
	for (int i = 0; i < VT_KEY_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

int vt_key_add(PGconn *db, const char *label, unsigned grants,
	       char key[VT_KEY_LEN + 1], long long *id, char *errbuf,
	       size_t errlen)
{
	unsigned char r[16];
	char g[128], lit[130];
	const char *p[3] = { key, label, lit };
	PGresult *res = NULL;
	int rc;

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		snprintf(errbuf, errlen, "no random bytes");
		return VT_EIO;
	}
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);   /* version 4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);   /* variant */
	snprintf(key, VT_KEY_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
		 r[10], r[11], r[12], r[13], r[14], r[15]);
	vt_key_grants_str(grants, g, sizeof g);
	snprintf(lit, sizeof lit, "{%s}", g);
	rc = vt_pg_exec(db, &res, errbuf, errlen,
			"INSERT INTO api_keys (key_hash, label, grants)"
			" VALUES (sha256(convert_to($1, 'UTF8')), $2, $3::text[])"
			" RETURNING id", 3, p);
	if (rc == 0)
		*id = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

int vt_key_lookup(PGconn *db, const char *key, long long *id, char *label,
		  size_t labellen, unsigned *grants, char *errbuf, size_t errlen)
{
	const char *p[1] = { key };
	PGresult *res = NULL;
	int rc;

	if (!vt_key_wellformed(key)) {
		snprintf(errbuf, errlen, "not a key");
		return VT_ENOTFOUND;
	}
	rc = vt_pg_exec(db, &res, errbuf, errlen,
			"SELECT id, label, array_to_string(grants, ',') FROM api_keys"
			" WHERE key_hash = sha256(convert_to(lower($1), 'UTF8'))"
			" AND revoked IS NULL", 1, p);
	if (rc < 0)
		goto out;
	if (PQntuples(res) == 0) {
		snprintf(errbuf, errlen, "no such key");
		rc = VT_ENOTFOUND;
		goto out;
	}
	*id = atoll(PQgetvalue(res, 0, 0));
	snprintf(label, labellen, "%s", PQgetvalue(res, 0, 1));
	if (vt_key_grants_parse(PQgetvalue(res, 0, 2), grants) < 0)
		*grants = 0;
out:
	PQclear(res);
	return rc;
}

int vt_key_revoke(PGconn *db, const char *which, int *n, char *errbuf,
		  size_t errlen)
{
	const char *p[1] = { which };
	PGresult *res = NULL;
	int rc;

	rc = vt_pg_exec(db, &res, errbuf, errlen,
			"UPDATE api_keys SET revoked = now() WHERE revoked IS NULL"
			" AND (label = $1 OR id::text = $1)", 1, p);
	if (rc == 0)
		*n = atoi(PQcmdTuples(res));
	PQclear(res);
	return rc;
}
