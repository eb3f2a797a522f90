/* pg.h - PostgreSQL helpers around libpq.
 *
 * Errors come back as VT_EDB with the server's message copied into the
 * caller's errbuf (never logged here). */
#ifndef VT_PG_H
#define VT_PG_H

#include <stddef.h>
#include <libpq-fe.h>
#include "buf.h"
#include "err.h"

/* Connects (blocking) to conninfo.  On failure *out is NULL and errbuf
 * holds libpq's reason. */
int vt_pg_connect(const char *conninfo, PGconn **out, char *errbuf,
		  size_t errlen) VT_WUR;

/* Runs one statement with text parameters.  On success *res (when res is
 * not NULL) holds the result, which the caller PQclear()s.  Any status other
 * than COMMAND_OK or TUPLES_OK is VT_EDB. */
int vt_pg_exec(PGconn *c, PGresult **res, char *errbuf, size_t errlen,
	       const char *sql, int nparams, const char *const *params) VT_WUR;

/* Runs SQL text (one or more statements, no parameters), no result wanted. */
int vt_pg_cmd(PGconn *c, const char *sql, char *errbuf, size_t errlen) VT_WUR;

/* Runs sql, a COPY ... FROM STDIN, sending len bytes of data (a whole
 * COPY stream, e.g. vt_pgcopy_done's).  Returns the statement's final
 * result (NULL only when out of memory), which the caller inspects
 * (PGRES_COMMAND_OK, or an error with its SQLSTATE) and PQclear()s; the
 * connection is ready for the next statement. */
PGresult *vt_pg_copy_in(PGconn *c, const char *sql, const void *data,
			size_t len);

/* Runs a best-effort statement (ROLLBACK, unlock); errors are ignored. */
void vt_pg_try(PGconn *c, const char *sql);

/* True when the connection is gone (so the caller should reconnect). */
int vt_pg_broken(PGconn *c);

/* Applies every storage/migrations/NNN_*.sql file in dir that is not yet
 * recorded in schema_migrations, in order, each in its own transaction.
 * *applied counts the files applied now. */
int vt_pg_migrate(PGconn *c, const char *dir, int *applied, char *errbuf,
		  size_t errlen) VT_WUR;

/* A PostgreSQL array literal ("{1,NULL,"a\\"b"}") built element by element,
 * so that many rows travel as one parameter (INSERT ... SELECT FROM
 * unnest($1::bigint[], ...)).  The text is capped at max bytes. */
struct vt_pg_array {
	struct vt_buf b;
	int n;                      /* elements added */
};

void vt_pg_array_init(struct vt_pg_array *a, size_t max);
void vt_pg_array_free(struct vt_pg_array *a);
/* Adds an element written as is (a number, or NULL). */
int vt_pg_array_raw(struct vt_pg_array *a, const char *s) VT_WUR;
int vt_pg_array_ll(struct vt_pg_array *a, long long v) VT_WUR;
/* Adds a quoted string element; '"' and '\\' are escaped. */
int vt_pg_array_str(struct vt_pg_array *a, const char *s, size_t len) VT_WUR;
/* Closes the literal; returns its text (owned by a) or NULL when the cap
 * was reached. */
const char *vt_pg_array_done(struct vt_pg_array *a);

#endif
