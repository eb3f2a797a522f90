/* seat.c - a worker's seat and its place in line (see seat.h). */
#include "controller/worker/seat.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pg.h"
#include "common/sigpoll.h"
#include "common/vtime.h"
#include "controller/worker/sqlerr.h"

#define KEY_SEAT   7346008   /* (KEY_SEAT, seat): the seat's holder */
#define KEY_TICKET 7346009   /* (KEY_TICKET, ticket): a worker in line */
#define CHANNEL    "vantage_worker_seat"

void wk_seat_init(struct wk_seat *s, int n, int hold_ms)
{
	memset(s, 0, sizeof *s);
	s->n = n > 0 ? n : 0;
	s->hold_ms = hold_ms;
	s->seat = -1;
}

int wk_seat_held(const struct wk_seat *s)
{
	return s->n == 0 || s->state == WK_SEAT_HELD;
}

void wk_seat_lost(struct wk_seat *s)
{
	if (s->state == WK_SEAT_LINE)
		s->waited_ms += vt_mono_ms() - s->wait_from_ms;
	s->state = WK_SEAT_NONE;
	s->seat = -1;
}

/* The integer of a one-value result, or -1 when it is NULL. */
static int one_int(PGresult *res)
{
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		return -1;
	return atoi(PQgetvalue(res, 0, 0));
}

/* Runs sql, its result in *res (NULL: none wanted); the error with its
 * SQLSTATE (sqlerr.h: a missing function is one that cannot heal). */
static int run(PGconn *db, const char *sql, PGresult **res, char *err,
	       size_t errlen)
{
	return wk_pg_result(db, PQexec(db, sql), res, err, errlen);
}

/* Joins the line: LISTEN, and a ticket. */
static int join(struct wk_seat *s, PGconn *db, char *err, size_t errlen)
{
	PGresult *res = NULL;
	int t;

	if (run(db, "LISTEN " CHANNEL, NULL, err, errlen) < 0 ||
	    run(db, "SELECT vt_worker_seat_join()", &res, err, errlen) < 0)
		return VT_EDB;
	t = one_int(res);
	PQclear(res);
	if (t < 0) {
		snprintf(err, errlen, "vt_worker_seat_join gave no ticket");
		return VT_EDB;
	}
	s->ticket = t;
	s->state = WK_SEAT_LINE;
	s->wait_from_ms = vt_mono_ms();
	return VT_OK;
}

/* Waits in line for a NOTIFY (on any of the connection's channels) for
 * up to WK_SEAT_WAIT_MS, or until a signal: VT_OK to ask again, VT_EAGAIN
 * after a signal, VT_EDB when the connection failed. */
static int wait_turn(PGconn *db, const volatile sig_atomic_t *stop,
		     const volatile sig_atomic_t *other, char *err,
		     size_t errlen)
{
	struct pollfd p = { .fd = PQsocket(db), .events = POLLIN };
	PGnotify *n;
	int woken = 0;

	if (!PQconsumeInput(db))
		goto broken;
	while ((n = PQnotifies(db))) {
		PQfreemem(n);
		woken = 1;
	}
	if (woken)
		return VT_OK;
	if (vt_sigpoll(&p, 1, WK_SEAT_WAIT_MS, stop, other) < 0 ||
	    (*stop || (other && *other)))
		return VT_EAGAIN;
	if (!PQconsumeInput(db))
		goto broken;
	while ((n = PQnotifies(db)))
		PQfreemem(n);
	return VT_OK;
broken:
	snprintf(err, errlen, "waiting in line for a seat: %s",
		 PQerrorMessage(db));
	return VT_EDB;
}

int wk_seat_take(struct wk_seat *s, PGconn *db,
		 const volatile sig_atomic_t *stop,
		 const volatile sig_atomic_t *other, char *err, size_t errlen)
{
	char sql[80];
	PGresult *res = NULL;
	int r, got;

	if (wk_seat_held(s))
		return VT_OK;
	if (s->state == WK_SEAT_NONE)
		r = join(s, db, err, errlen);
	else
		r = wait_turn(db, stop, other, err, errlen);
	if (r != VT_OK) {
		if (r < 0)
			wk_seat_leave(s, db);
		return r;
	}
	snprintf(sql, sizeof sql, "SELECT vt_worker_seat_try(%d, %d)", s->n,
		 s->ticket);
	if (run(db, sql, &res, err, errlen) < 0) {
		wk_seat_leave(s, db);
		return VT_EDB;
	}
	got = one_int(res);
	PQclear(res);
	if (got < 0)
		return VT_EAGAIN;
	/* seated: the ticket's lock is given back, the line's NOTIFYs are
	 * of no more use, and the line is told (another seat may be free:
	 * workers starting together, or seats freed by workers that died) */
	s->seat = got;
	s->state = WK_SEAT_HELD;
	s->since_ms = s->looked_ms = vt_mono_ms();
	s->waited_ms += s->since_ms - s->wait_from_ms;
	s->taken++;
	vt_pg_try(db, "UNLISTEN " CHANNEL "; NOTIFY " CHANNEL);
	return VT_OK;
}

int wk_seat_due(struct wk_seat *s, PGconn *db)
{
	PGresult *res = NULL;
	int64_t now;
	char err[256];
	int due;

	if (s->n == 0 || s->state != WK_SEAT_HELD)
		return 0;
	now = vt_mono_ms();
	if (now - s->since_ms < s->hold_ms || now - s->looked_ms < s->hold_ms)
		return 0;
	s->looked_ms = now;
	if (vt_pg_exec(db, &res, err, sizeof err,
		       "SELECT vt_worker_seat_wanted()", 0, NULL) < 0)
		return 0;       /* the next statement finds a broken link */
	due = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return due;
}

void wk_seat_leave(struct wk_seat *s, PGconn *db)
{
	char sql[128];

	if (s->state == WK_SEAT_HELD) {
		/* the seat, then a NOTIFY for the line (one round trip) */
		snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%d, %d);"
			 " NOTIFY " CHANNEL, KEY_SEAT, s->seat);
		vt_pg_try(db, sql);
	} else if (s->state == WK_SEAT_LINE) {
		snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%d, %d);"
			 " UNLISTEN " CHANNEL, KEY_TICKET, s->ticket);
		vt_pg_try(db, sql);
	}
	wk_seat_lost(s);
}

void wk_seat_yield(struct wk_seat *s, PGconn *db)
{
	if (s->state == WK_SEAT_HELD)
		s->given++;
	wk_seat_leave(s, db);
}
