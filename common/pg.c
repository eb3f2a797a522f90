#include "pg.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define MIGRATION_MAX_BYTES (4 << 20)

static void copy_err(char *errbuf, size_t errlen, const char *msg)
{
	size_t n;

	if (!errlen)
		return;
	snprintf(errbuf, errlen, "%s", msg ? msg : "unknown database error");
	n = strlen(errbuf);
	while (n && (errbuf[n - 1] == '\n' || errbuf[n - 1] == ' '))
		errbuf[--n] = '\0';
}

static void quiet_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

int vt_pg_connect(const char *conninfo, PGconn **out, char *errbuf,
		  size_t errlen)
{
	PGconn *c;

	*out = NULL;
	if (!conninfo) {
		copy_err(errbuf, errlen,
			 "no database given (use --db or VANTAGE_DB)");
		return VT_EINVAL;
	}
	c = PQconnectdb(conninfo);
	if (!c) {
		copy_err(errbuf, errlen, "out of memory");
		return VT_ENOMEM;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		copy_err(errbuf, errlen, PQerrorMessage(c));
		PQfinish(c);
		return VT_EDB;
	}
	PQsetNoticeProcessor(c, quiet_notice, NULL);
	*out = c;
	return VT_OK;
}

int vt_pg_exec(PGconn *c, PGresult **res, char *errbuf, size_t errlen,
	       const char *sql, int nparams, const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (res)
		*res = NULL;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		copy_err(errbuf, errlen,
			 r ? PQresultErrorMessage(r) : PQerrorMessage(c));
		PQclear(r);
		return VT_EDB;
	}
	if (res)
		*res = r;
	else
		PQclear(r);
	return VT_OK;
}

int vt_pg_cmd(PGconn *c, const char *sql, char *errbuf, size_t errlen)
{
	/* PQexec, not PQexecParams: the text may hold several statements. */
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	int ret = VT_OK;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		copy_err(errbuf, errlen,
			 r ? PQresultErrorMessage(r) : PQerrorMessage(c));
		ret = VT_EDB;
	}
	PQclear(r);
	return ret;
}

PGresult *vt_pg_copy_in(PGconn *c, const char *sql, const void *data,
			size_t len)
{
	PGresult *r = PQexec(c, sql), *more;
	const char *p = data;

	if (!r || PQresultStatus(r) != PGRES_COPY_IN)
		return r;
	PQclear(r);
	while (len > 0) {
		int n = len > (1u << 20) ? 1 << 20 : (int)len;

		if (PQputCopyData(c, p, n) != 1)
			break;
		p += n;
		len -= (size_t)n;
	}
	/* A short send ends the COPY with an error of its own. */
	(void)PQputCopyEnd(c, len ? "short copy data" : NULL);
	r = PQgetResult(c);
	while ((more = PQgetResult(c)))
		PQclear(more);
	return r;
}

void vt_pg_try(PGconn *c, const char *sql)
{
	PQclear(PQexec(c, sql));
}

int vt_pg_broken(PGconn *c)
{
	return !c || PQstatus(c) != CONNECTION_OK;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_file(const char *path, struct vt_buf *b)
{
	char chunk[8192];
	size_t n;
	FILE *f = fopen(path, "r");
	int r = VT_OK;

	if (!f)
		return VT_EIO;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if ((r = vt_buf_add(b, chunk, n)) < 0)
			break;
	if (ferror(f))
		r = VT_EIO;
	fclose(f);
	return r;
}

static int apply_one(PGconn *c, const char *dir, const char *name,
		     int *applied, char *errbuf, size_t errlen)
{
	const char *params[1] = { name };
	char path[4096];
	struct vt_buf sql;
	PGresult *res = NULL;
	int r;

	r = vt_pg_exec(c, &res, errbuf, errlen,
		       "SELECT 1 FROM schema_migrations WHERE name = $1", 1,
		       params);
	if (r < 0)
		return r;
	if (PQntuples(res) > 0) {
		PQclear(res);
		return VT_OK;
	}
	PQclear(res);
	vt_buf_init(&sql, MIGRATION_MAX_BYTES);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	r = read_file(path, &sql);
	if (r < 0) {
		snprintf(errbuf, errlen, "%s: cannot read", path);
		goto out;
	}
	r = vt_pg_cmd(c, "BEGIN", errbuf, errlen);
	if (r < 0)
		goto out;
	r = vt_pg_cmd(c, sql.data ? sql.data : "", errbuf, errlen);
	if (r == VT_OK)
		r = vt_pg_exec(c, NULL, errbuf, errlen,
			       "INSERT INTO schema_migrations (name) VALUES ($1)",
			       1, params);
	if (r < 0) {
		char msg[512];

		snprintf(msg, sizeof msg, "%s", errbuf);
		snprintf(errbuf, errlen, "%s: %s", name, msg);
		vt_pg_try(c, "ROLLBACK");
		goto out;
	}
	r = vt_pg_cmd(c, "COMMIT", errbuf, errlen);
	if (r == VT_OK)
		(*applied)++;
out:
	vt_buf_free(&sql);
	return r;
}

int vt_pg_migrate(PGconn *c, const char *dir, int *applied, char *errbuf,
		  size_t errlen)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r;

	*applied = 0;
	r = vt_pg_cmd(c,
		      "CREATE TABLE IF NOT EXISTS schema_migrations ("
		      " name text PRIMARY KEY,"
		      " applied_at timestamptz NOT NULL DEFAULT now())",
		      errbuf, errlen);
	if (r < 0)
		return r;
	/* Serialise concurrent migrators. */
	r = vt_pg_cmd(c, "SELECT pg_advisory_lock(7346001)", errbuf, errlen);
	if (r < 0)
		return r;
	d = opendir(dir);
	if (!d) {
		snprintf(errbuf, errlen, "%s: %s", dir, strerror(errno));
		r = VT_EIO;
		goto out;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 4, ".sql") ||
		    de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 16;
			nn = realloc(names, cap * sizeof *nn);
			if (!nn) {
				r = VT_ENOMEM;
				closedir(d);
				goto out;
			}
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name))) {
			r = VT_ENOMEM;
			closedir(d);
			goto out;
		}
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n && r == VT_OK; i++)
		r = apply_one(c, dir, names[i], applied, errbuf, errlen);
out:
	vt_pg_try(c, "SELECT pg_advisory_unlock(7346001)");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

void vt_pg_array_init(struct vt_pg_array *a, size_t max)
{
	vt_buf_init(&a->b, max);
	a->n = 0;
}

void vt_pg_array_free(struct vt_pg_array *a)
{
	if (a)
		vt_buf_free(&a->b);
}

int vt_pg_array_raw(struct vt_pg_array *a, const char *s)
{
	int r = vt_buf_adds(&a->b, a->n++ ? "," : "{");

	return r < 0 ? r : vt_buf_adds(&a->b, s);
}

int vt_pg_array_ll(struct vt_pg_array *a, long long v)
{
	char s[32];

	snprintf(s, sizeof s, "%lld", v);
	return vt_pg_array_raw(a, s);
}

int vt_pg_array_str(struct vt_pg_array *a, const char *s, size_t len)
{
	int r = vt_buf_adds(&a->b, a->n++ ? ",\"" : "{\"");

	for (size_t i = 0; i < len && r == VT_OK; i++) {
		if (s[i] == '"' || s[i] == '\\')
			r = vt_buf_addc(&a->b, '\\');
		if (r == VT_OK)
			r = vt_buf_addc(&a->b, s[i]);
	}
	return r < 0 ? r : vt_buf_addc(&a->b, '"');
}

const char *vt_pg_array_done(struct vt_pg_array *a)
{
	if (vt_buf_adds(&a->b, a->n ? "}" : "{}") < 0)
		return NULL;
	return a->b.data;
}
