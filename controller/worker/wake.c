/* wake.c - a waiting worker's wake lock (see wake.h). */
#include "controller/worker/wake.h"

#include <stdio.h>
#include <string.h>

#include "common/pg.h"

#define KEY_WAKE 7346003   /* (KEY_WAKE, slot): held while waiting */
#define KEY_SLOT 7346004   /* (KEY_SLOT, slot): the slot's owner */

int wk_wake_slot(PGconn *db, char *errbuf, size_t errlen)
{
	char sql[96];
	PGresult *res = NULL;

	for (int s = 0; s < WK_WAKE_SLOTS; s++) {
		int got;

		snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%d, %d)",
			 KEY_SLOT, s);
		if (vt_pg_exec(db, &res, errbuf, errlen, sql, 0, NULL) < 0)
			return -1;
		got = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
		PQclear(res);
		if (!got)
			continue;
		snprintf(sql, sizeof sql, "LISTEN vantage_queue_%d", s);
		if (vt_pg_cmd(db, sql, errbuf, errlen) < 0)
			return -1;
		return s;
	}
	if (errlen)
		snprintf(errbuf, errlen, "all %d wake slots taken", WK_WAKE_SLOTS);
	return -1;
}

int wk_wake_hold(PGconn *db, int slot, char *errbuf, size_t errlen)
{
	char sql[96];

	snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%d, %d)", KEY_WAKE,
		 slot);
	return vt_pg_cmd(db, sql, errbuf, errlen);
}

void wk_wake_release(PGconn *db, int slot)
{
	char sql[96];

	snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%d, %d)", KEY_WAKE,
		 slot);
	vt_pg_try(db, sql);
}
