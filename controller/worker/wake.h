/* wake.h - how a waiting worker is woken (migrations 018 and 034).
 *
 * An insert into result_queue NOTIFYs only when some worker is waiting: a
 * NOTIFY serializes the committing transactions of the whole cluster
 * through their WAL flushes, and the gateway's uploads commit
 * synchronously.  A worker owns one of WK_WAKE_SLOTS slots for its session
 * and LISTENs on the slot's channel, vantage_queue_SLOT; before its last
 * look at the queue it takes its slot's wake lock exclusively and keeps it
 * until it wakes.  The queue's insert trigger takes every slot's wake lock
 * shared for its transaction and NOTIFYs one of the slots whose lock is
 * held: so either the worker's last look sees the new rows (it waited for
 * their COMMIT to take the lock) or a waiting worker is told.  One, not
 * all: the others would only look at the queue and sleep again (034). */
#ifndef VT_WK_WAKE_H
#define VT_WK_WAKE_H

#include <libpq-fe.h>
#include <stddef.h>
#include "common/err.h"

#define WK_WAKE_SLOTS 32

/* Takes a free slot for the session and LISTENs on its channel: its
 * number, or -1 when all are taken (the worker then relies on --poll-ms)
 * or on an error (in errbuf). */
int wk_wake_slot(PGconn *db, char *errbuf, size_t errlen);

/* Takes (waits for) the slot's wake lock; VT_OK or VT_EDB. */
int wk_wake_hold(PGconn *db, int slot, char *errbuf, size_t errlen) VT_WUR;

/* Lets it go (best effort: the session's end lets it go too). */
void wk_wake_release(PGconn *db, int slot);

#endif
