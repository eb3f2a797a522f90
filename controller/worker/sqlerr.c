/* sqlerr.c - statement results with their SQLSTATE (see sqlerr.h). */
#include "controller/worker/sqlerr.h"

#include <stdio.h>
#include <string.h>

int wk_pg_result(PGconn *db, PGresult *r, PGresult **out, char *errbuf,
		 size_t errlen)
{
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

		snprintf(errbuf, errlen, "SQLSTATE %s: %s", state ? state : "none",
			 r ? PQresultErrorMessage(r) : PQerrorMessage(db));
		PQclear(r);
		return VT_EDB;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return VT_OK;
}

int wk_pg_err_lasting(const char *errbuf)
{
	const char *s = strstr(errbuf, "SQLSTATE ");

	if (!s)
		return 0;
	s += strlen("SQLSTATE ");
	return !strncmp(s, "42", 2) || !strncmp(s, "3F000", 5);
}
