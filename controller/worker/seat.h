/* seat.h - a worker's seat: at most --active workers work at once.
 *
 * Every worker beyond the database's cores made the rows dearer: four
 * workers on two cores, all claiming and storing between each other's
 * turns, took about a tenth longer than two (docs/scaling.md, "Seats").
 * So a worker works only while it holds a seat, one of N session locks
 * (7346008, seat) on its first connection (migration 035); the others
 * stand in line for one, in the order of their tickets, holding nothing
 * that slows the workers at work: they wait outside any statement, with
 * no snapshot and no transaction, for a NOTIFY on vantage_worker_seat or
 * a second, and then ask again.  A seated worker gives its seat up once
 * it has held it hold_ms and someone stands in line (its NOTIFY tells the
 * line), and joins the line's end: every worker gets a seat in turn.  The
 * turns of migration 023 still order the seated workers' claims and
 * stores.
 *
 * The state is the main loop's (one per worker), changed only here. */
#ifndef VT_WK_SEAT_H
#define VT_WK_SEAT_H

#include <libpq-fe.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

#define WK_SEAT_WAIT_MS 1000   /* a worker in line asks again at least this
				* often (a seat freed by a worker that
				* died sends no NOTIFY) */
#define WK_SEAT_HOLD_MS 30000  /* --seat-ms: a seat held this long at least */

enum wk_seat_state {
	WK_SEAT_NONE,          /* neither seated nor in line */
	WK_SEAT_LINE,          /* in line, with a ticket */
	WK_SEAT_HELD           /* seated */
};

struct wk_seat {
	int n;                 /* seats (--active); 0: no limit, always seated */
	int hold_ms;           /* --seat-ms */
	enum wk_seat_state state;
	int seat;              /* the seat held (WK_SEAT_HELD) */
	int ticket;            /* the place in line (WK_SEAT_LINE) */
	int64_t since_ms;      /* when the seat was taken */
	int64_t looked_ms;     /* the last look for somebody in line */
	int64_t wait_from_ms;  /* when this worker joined the line */
	int64_t waited_ms;     /* summed over its waits in line */
	long taken;            /* seats taken */
	long given;            /* seats given up for a worker in line */
};

void wk_seat_init(struct wk_seat *s, int n, int hold_ms);

/* 1 when the worker may work: seated, or no limit. */
int wk_seat_held(const struct wk_seat *s);

/* One step towards a seat on db, which is free of any batch: joins the
 * line and asks, or waits in it for up to WK_SEAT_WAIT_MS (less when
 * *stop or *other is set by a signal, or a NOTIFY comes) and asks again.
 * VT_OK: seated; VT_EAGAIN: not yet (the caller looks at its signals and
 * calls again); VT_EDB: the statement failed (err; nothing held). */
int wk_seat_take(struct wk_seat *s, PGconn *db,
		 const volatile sig_atomic_t *stop,
		 const volatile sig_atomic_t *other, char *err,
		 size_t errlen) VT_WUR;

/* 1 when the seated worker should give its seat up now: held hold_ms or
 * longer, and another worker stands in line (looked at, on db, at most
 * once per hold_ms).  db must be free of any batch. */
int wk_seat_due(struct wk_seat *s, PGconn *db);

/* Gives the seat up (telling the line), or leaves the line; db must be
 * free of any batch.  Nothing held after it. */
void wk_seat_leave(struct wk_seat *s, PGconn *db);

/* wk_seat_leave for a worker in line (wk_seat_due): counted in given. */
void wk_seat_yield(struct wk_seat *s, PGconn *db);

/* The connection was lost or replaced: its seat or place went with it. */
void wk_seat_lost(struct wk_seat *s);

#endif
