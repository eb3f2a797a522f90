-- 030_worker_turn_wait: a worker waiting for a turn sleeps in the lock
-- manager instead of polling.
--
-- 023's gate holder looked for a free turn every millisecond (pg_sleep):
-- with four workers on two turns one backend woke a thousand times a
-- second, on cores the working backends needed (a third of the workers'
-- sampled wait events were Timeout:PgSleep).  PostgreSQL has no wait on
-- the first of N locks, so the gate's holder now waits on the turn most
-- likely to free first: the one after the turn taken last, round the N.
-- A worker holds its turn for its whole batch (worker.c), batches take
-- about the same time, and turns are taken in that order (each taker looks
-- from the turn after the last one taken), so the turn after the last one
-- taken is the one held longest.  When a guess is wrong (a slow batch, a
-- turn held by something else) the wait ends after 10 ms and the holder
-- looks at every turn again: a free turn idles at most that long.
--
--   vt_worker_turn_last  the turn taken last (a sequence: setval is not
--                        transactional and locks nothing)
--
-- A lock wait that times out may have been granted all the same (the
-- grant and the timeout crossing: PostgreSQL then raises the timeout and
-- keeps the lock, a session lock here, which outlives the error); a
-- second take of a turn already held would succeed too (advisory locks
-- count), and one unlock would then leave it held for good.  So after a
-- timed-out wait the holder asks pg_locks whether it has the turn, and a
-- cancelled wait gives back the turn it waited for when it has it.
--
-- Waiters still queue at the gate (7346006, 0) in arrival order, the gate
-- is given back when a wait is cancelled, and the turns are the same
-- session locks (7346005, turn) given back with pg_advisory_unlock.

CREATE SEQUENCE vt_worker_turn_last MINVALUE 0 START 0;

CREATE OR REPLACE FUNCTION vt_worker_turn_take(n integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t integer;
    first integer;
    waited integer := -1;
    got boolean;
    lt text := current_setting('lock_timeout');
BEGIN
    IF n IS NULL OR n < 1 THEN
        RETURN -1;
    END IF;
    PERFORM pg_advisory_lock(7346006, 0);
    LOOP
        first := ((SELECT last_value FROM vt_worker_turn_last) + 1) % n;
        FOR i IN 0..n - 1 LOOP
            t := (first + i) % n;
            IF pg_try_advisory_lock(7346005, t) THEN
                PERFORM setval('vt_worker_turn_last', t);
                PERFORM pg_advisory_unlock(7346006, 0);
                RETURN t;
            END IF;
        END LOOP;
        -- none free: wait on the one held longest, for a while
        waited := first;
        BEGIN
            PERFORM set_config('lock_timeout', '10ms', true);
            PERFORM pg_advisory_lock(7346005, first);
            got := true;
        EXCEPTION WHEN lock_not_available THEN
            -- guessed wrong, unless granted as the wait ended
            got := EXISTS (SELECT 1 FROM pg_locks
                WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                AND classid = 7346005 AND objid = first AND objsubid = 2
                AND granted);
        END;
        waited := -1;
        PERFORM set_config('lock_timeout', lt, true);
        IF got THEN
            PERFORM setval('vt_worker_turn_last', first);
            PERFORM pg_advisory_unlock(7346006, 0);
            RETURN first;
        END IF;
        -- Look at every turn again.  A statement timeout that fired in
        -- the same instant as the lock timeout is reported as the lock
        -- timeout, and gone: the wait keeps its own count of it.
        IF current_setting('statement_timeout') <> '0' AND clock_timestamp()
           - statement_timestamp() >= current_setting('statement_timeout')::interval THEN
            RAISE EXCEPTION 'canceling statement due to statement timeout'
                USING ERRCODE = 'query_canceled';
        END IF;
    END LOOP;
EXCEPTION WHEN query_canceled OR OTHERS THEN
    -- session locks outlive the error: neither the gate nor a turn
    -- granted as the wait was cancelled may stay held
    PERFORM set_config('lock_timeout', lt, true);
    IF waited >= 0 AND EXISTS (SELECT 1 FROM pg_locks
            WHERE locktype = 'advisory' AND pid = pg_backend_pid()
            AND classid = 7346005 AND objid = waited AND objsubid = 2
            AND granted) THEN
        PERFORM pg_advisory_unlock(7346005, waited);
    END IF;
    PERFORM pg_advisory_unlock(7346006, 0);
    RAISE;
END
$$;
