-- 034_queue_wake_one: an insert into result_queue wakes one waiting worker,
-- not all of them.
--
-- With 018 the trigger NOTIFYed vantage_queue, which every waiting worker
-- LISTENs on: each upload's COMMIT woke them all, and each began with a
-- look at the whole queue (stepping over every row deleted since the last
-- VACUUM).  One of them took the rows; the others found nothing, took
-- their wake lock again, looked once more and went back to sleep, each
-- look with a transaction and a turn (020, 023) of its own.  With
-- four workers keeping up with the uploads on two cores, most of their
-- claims were such empty looks (docs/scaling.md).
--
-- Now each worker LISTENs on a channel of its own slot, vantage_queue_N
-- (worker's wake.h), and the trigger NOTIFYs one waiting worker: it still
-- tries every slot's wake lock shared for its transaction (a worker about
-- to wait then blocks until this insert has committed, and its last look
-- sees the rows), and NOTIFYs one of the slots it could not take, picked
-- at random so that inserts at the same time wake different workers.  No
-- wakeup is lost: either a worker's last look sees the rows or a waiting
-- worker is told.  A worker that finds a whole batch after its wake has
-- more rows than it can take at once behind it, and wakes one more waiting
-- worker itself (vt_queue_wake_one), so a large insert still brings as
-- many workers as it needs.
--
-- A worker built before this migration LISTENs on vantage_queue only and
-- is no longer told: it looks every --poll-ms until it is upgraded.

-- vt_queue_tell(waiting): NOTIFYs one of the waiting slots, picked at
-- random (delivered at the caller's COMMIT); the slot told, or NULL when
-- none waits.
CREATE FUNCTION vt_queue_tell(waiting integer[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    s integer;
BEGIN
    IF cardinality(waiting) = 0 THEN
        RETURN NULL;
    END IF;
    s := waiting[1 + floor(random() * cardinality(waiting))::integer];
    PERFORM pg_notify('vantage_queue_' || s, '');
    RETURN s;
END
$$;

CREATE OR REPLACE FUNCTION vt_queue_notify_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    waiting integer[] := '{}';
BEGIN
    FOR slot IN 0..31 LOOP
        IF NOT pg_try_advisory_xact_lock_shared(7346003, slot) THEN
            waiting := waiting || slot;
        END IF;
    END LOOP;
    PERFORM vt_queue_tell(waiting);
    RETURN NULL;
END
$$;

-- vt_queue_wake_one(): NOTIFYs one waiting worker, picked at random, if
-- any waits, without holding anything (a session lock taken and given back
-- at once: nobody waits on it).  Its NOTIFY goes out at the caller's
-- COMMIT.  The slot it told, or NULL.
CREATE FUNCTION vt_queue_wake_one() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    waiting integer[] := '{}';
BEGIN
    FOR slot IN 0..31 LOOP
        IF pg_try_advisory_lock_shared(7346003, slot) THEN
            PERFORM pg_advisory_unlock_shared(7346003, slot);
        ELSE
            waiting := waiting || slot;
        END IF;
    END LOOP;
    RETURN vt_queue_tell(waiting);
END
$$;
