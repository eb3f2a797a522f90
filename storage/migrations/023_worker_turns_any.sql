-- 023_worker_turns_any: a worker waits for whichever turn frees first, and
-- holds it only while its backend works.
--
-- 020's turns were transaction locks held from BEGIN to COMMIT, through
-- the worker's client-side parse and enrich, when the backend idles; and
-- a worker finding none free waited on turn (its pid mod N) while others
-- freed.  Now a turn is a session lock, taken twice a batch (for the claim,
-- and for the store through its COMMIT) and given back in between:
--   (7346005, turn)  turn 0..N-1, held by a worker while its backend works
--   (7346006, 0)     the gate: held by the worker next in line for a turn
-- vt_worker_turn_take(n) queues at the gate (PostgreSQL grants a lock's
-- waiters in order, and a try never jumps a waiter), and the gate's holder
-- takes the first turn it finds free, looking again every millisecond
-- while none is: one backend looks, the others sleep in the gate's queue,
-- and every worker gets its turns in the order it asked for them.  The
-- caller gives the turn back with pg_advisory_unlock(7346005, turn); it
-- goes with the session too.
--
-- A session lock outlives an error, so a cancelled wait gives the gate
-- back before it fails.
--
-- vt_worker_turn_take(n): the turn taken (-1 when n < 1: no limit).

CREATE FUNCTION vt_worker_turn_take(n integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t integer;
BEGIN
    IF n IS NULL OR n < 1 THEN
        RETURN -1;
    END IF;
    PERFORM pg_advisory_lock(7346006, 0);
    LOOP
        FOR t IN 0..n - 1 LOOP
            IF pg_try_advisory_lock(7346005, t) THEN
                PERFORM pg_advisory_unlock(7346006, 0);
                RETURN t;
            END IF;
        END LOOP;
        PERFORM pg_sleep(0.001);
    END LOOP;
EXCEPTION WHEN query_canceled OR OTHERS THEN
    -- a session lock outlives the error: the gate must not
    PERFORM pg_advisory_unlock(7346006, 0);
    RAISE;
END
$$;
