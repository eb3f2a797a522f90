-- 035_worker_seats: at most --active workers work at once; the others
-- stand in line, holding nothing that slows the ones at work.
--
-- Turns (023) let N workers' backends work at once, but every worker
-- beyond them still claimed, parsed and stored, its waits for a turn
-- interleaved with the others': four workers on two cores took about a
-- tenth longer than two end to end (docs/scaling.md, "Seats").  Now a
-- worker takes a seat first, one of N session locks (7346008, seat), and
-- holds it while it works; a worker with no seat free stands in line.
--
-- The line: a worker joins it with a ticket (vt_worker_seat_join), the
-- next number of vt_worker_ticket, and holds the session lock (7346009,
-- ticket) while it stands there.  It waits outside any statement, for a
-- NOTIFY on vantage_worker_seat (sent by a worker giving its seat up or
-- taking one, when another may be free) or a second, then asks again (vt_worker_seat_try): it is seated when no
-- worker with a lower ticket still stands in line and a seat is free.
-- Waiting in a statement would not do: a statement waiting on a lock
-- keeps its snapshot (LOCK TABLE too, the catalog's), and PostgreSQL then
-- keeps every row version the workers at work delete or replace.  A
-- seated worker gives its seat up after holding it a while
-- (vantage-worker --seat-ms) when somebody stands in line
-- (vt_worker_seat_wanted), and joins the line's end, so every worker gets
-- a seat in turn.  A seat or a ticket goes with its session, so a worker
-- that dies leaves neither behind (the line learns of a seat freed that
-- way within its second).  The ticket numbers wrap after 2^31: the first
-- worker in line after that may go ahead of the ones before it once.

CREATE SEQUENCE vt_worker_ticket AS integer CYCLE;

-- vt_worker_seat_join(): a ticket taken, its lock (7346009, ticket) held
-- by this session until it is seated (vt_worker_seat_try) or leaves
-- (pg_advisory_unlock(7346009, ticket)).
CREATE FUNCTION vt_worker_seat_join() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t integer := nextval('vt_worker_ticket');
BEGIN
    PERFORM pg_advisory_lock(7346009, t);
    RETURN t;
END
$$;

-- vt_worker_seat_try(n, ticket): a seat of n taken (a session lock
-- 7346008, seat; given back with pg_advisory_unlock(7346008, seat)) and
-- the ticket's lock given back; NULL when a lower ticket still stands in
-- line or every seat is held; -1 when n < 1 (no limit).
CREATE FUNCTION vt_worker_seat_try(n integer, ticket integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    s integer;
BEGIN
    IF n IS NULL OR n < 1 THEN
        RETURN -1;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_locks
               WHERE locktype = 'advisory' AND classid = 7346009
                 AND objsubid = 2 AND granted
                 AND database = (SELECT oid FROM pg_database
                                 WHERE datname = current_database())
                 AND objid::text::bigint < ticket) THEN
        RETURN NULL;
    END IF;
    FOR s IN 0..n - 1 LOOP
        IF pg_try_advisory_lock(7346008, s) THEN
            PERFORM pg_advisory_unlock(7346009, ticket);
            RETURN s;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

-- vt_worker_seat_wanted(): true when another session stands in line.
CREATE FUNCTION vt_worker_seat_wanted() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_locks
                   WHERE locktype = 'advisory' AND classid = 7346009
                     AND objsubid = 2 AND granted
                     AND database = (SELECT oid FROM pg_database
                                     WHERE datname = current_database())
                     AND pid <> pg_backend_pid())
$$;
