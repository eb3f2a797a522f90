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

#endif
