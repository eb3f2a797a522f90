/* sqlerr.h - the worker's statement results.  A failure carries its
 * SQLSTATE in the message ("SQLSTATE 23514: ..."), by which the worker
 * tells a row's fault from the database's (worker.c, row_fault). */
#ifndef VT_WORKER_SQLERR_H
#define VT_WORKER_SQLERR_H

#include <stddef.h>
#include <libpq-fe.h>
#include "common/err.h"

/* Takes r (PQexec's result, NULL for none): VT_OK with r in *out (or
 * cleared when out is NULL), or VT_EDB with the message in errbuf. */
int wk_pg_result(PGconn *db, PGresult *r, PGresult **out, char *errbuf,
		 size_t errlen) VT_WUR;

/* 1 when errbuf (as wk_pg_result writes it) names an error that trying
 * again cannot heal: an object the statement needs is missing or not
 * allowed (SQLSTATE class 42, e.g. 42P01 for a sequence of a migration not
 * run; 3F000, a schema), which only an operator fixes.  0 for the rest
 * (a lock timeout, a lost connection, a serialisation failure). */
int wk_pg_err_lasting(const char *errbuf);

#endif
