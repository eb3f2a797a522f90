-- 034_worker_turn_handoff: the worker giving a turn back wakes the worker
-- next in line; the next in line no longer looks every millisecond.
--
-- 023's gate holder (the worker next in line for a turn) looked for a free
-- turn every millisecond (pg_sleep).  PostgreSQL has no wait on the first
-- of N locks, and a lock per waiter that the releaser lets go would need
-- the releaser to hold it before it knows it frees first.  So the wake is
-- a signal: the gate holder publishes its backend pid in the sequence
-- vt_worker_turn_head (not transactional, as the workers' turns are taken
-- and given back inside their transactions) and sleeps; a worker giving a
-- turn back (vt_worker_turn_give) reads it and, when set, clears it and
-- cancels the sleeper's pg_sleep (pg_cancel_backend), which the sleeper
-- catches and then takes the freed turn.
--   (7346007, 0)  the bell: the gate holder holds it while it registers
--                 and looks at the turns; a giver holds it while it reads,
--                 clears and signals.  So a signal is sent only to a gate
--                 holder that sleeps or is about to, never to one that has
--                 left with a turn (a cancel landing on its next statement
--                 would fail the worker's claim).
-- A cancel that is not a wake (pid still published: the client's cancel,
-- a statement_timeout) is raised as before.  A cancel from the client in
-- the same instant as a wake is taken for the wake (PostgreSQL folds the
-- two signals into one).  The sleep is bounded (50 ms; the setting
-- vantage.turn_sleep_ms, which tests raise to see that the signal wakes)
-- for turns given back without vt_worker_turn_give: a backend that died,
-- a plain pg_advisory_unlock.

CREATE SEQUENCE vt_worker_turn_head MINVALUE 0 START 0;

-- vt_worker_turn_holds(k): whether this session holds the lock (k, 0):
-- after a cancel, a lock wait may have been granted or not.
CREATE FUNCTION vt_worker_turn_holds(k integer) RETURNS boolean
LANGUAGE sql AS $$
    SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
                   AND pid = pg_backend_pid() AND classid = k
                   AND objid = 0 AND granted)
$$;

-- vt_worker_turn_leave(): after an error in vt_worker_turn_take, gives the
-- gate and the bell back and unpublishes this session's pid.  The pid is
-- cleared under the bell, and a wake a giver sent before this took the
-- bell is taken here, not by the session's next statement.
CREATE FUNCTION vt_worker_turn_leave() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..3 LOOP
        EXIT WHEN vt_worker_turn_holds(7346007);
        BEGIN
            PERFORM pg_advisory_lock(7346007, 0);
            PERFORM pg_sleep(0);
        EXCEPTION WHEN query_canceled THEN
            NULL;       -- the wake, whose giver cleared the pid
        END;
    END LOOP;
    IF vt_worker_turn_holds(7346007) THEN
        PERFORM setval('vt_worker_turn_head', 0)
        WHERE (SELECT last_value FROM vt_worker_turn_head) = pg_backend_pid();
        PERFORM pg_advisory_unlock(7346007, 0);
    END IF;
    IF vt_worker_turn_holds(7346006) THEN
        PERFORM pg_advisory_unlock(7346006, 0);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION vt_worker_turn_take(n integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t integer;
    bell boolean;
BEGIN
    IF n IS NULL OR n < 1 THEN
        RETURN -1;
    END IF;
    PERFORM pg_advisory_lock(7346006, 0);
    PERFORM pg_advisory_lock(7346007, 0);
    LOOP
        -- registered before looking: a turn given back after the look
        -- finds the pid and signals
        PERFORM setval('vt_worker_turn_head', pg_backend_pid());
        FOR t IN 0..n - 1 LOOP
            IF pg_try_advisory_lock(7346005, t) THEN
                PERFORM setval('vt_worker_turn_head', 0);
                PERFORM pg_advisory_unlock(7346007, 0);
                PERFORM pg_advisory_unlock(7346006, 0);
                RETURN t;
            END IF;
        END LOOP;
        bell := true;
        BEGIN
            PERFORM pg_advisory_unlock(7346007, 0);
            bell := false;
            PERFORM pg_sleep(coalesce(nullif(current_setting(
                'vantage.turn_sleep_ms', true), '')::numeric, 50) / 1000);
            PERFORM pg_advisory_lock(7346007, 0);
            bell := true;
            -- a wake sent while this waited for the bell is taken here
            PERFORM pg_sleep(0);
        EXCEPTION WHEN query_canceled THEN
            IF (SELECT last_value FROM vt_worker_turn_head)
               = pg_backend_pid() THEN
                RAISE;          -- not a wake: the giver clears the pid
            END IF;
            IF NOT bell AND NOT vt_worker_turn_holds(7346007) THEN
                PERFORM pg_advisory_lock(7346007, 0);
            END IF;
        END;
    END LOOP;
EXCEPTION WHEN query_canceled OR OTHERS THEN
    -- session locks outlive the error: the gate and the bell must not,
    -- nor the published pid (a giver would cancel the next statement)
    PERFORM vt_worker_turn_leave();
    RAISE;
END
$$;

-- vt_worker_turn_give(t): gives turn t back and wakes the gate holder.
CREATE FUNCTION vt_worker_turn_give(t integer) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    h bigint;
    bell boolean := false;
BEGIN
    PERFORM pg_advisory_unlock(7346005, t);
    IF (SELECT last_value FROM vt_worker_turn_head) = 0 THEN
        RETURN true;
    END IF;
    PERFORM pg_advisory_lock(7346007, 0);
    bell := true;
    SELECT last_value INTO h FROM vt_worker_turn_head;
    IF h > 0 THEN
        PERFORM setval('vt_worker_turn_head', 0);
        PERFORM pg_cancel_backend(h::integer);
    END IF;
    PERFORM pg_advisory_unlock(7346007, 0);
    RETURN true;
EXCEPTION WHEN query_canceled OR OTHERS THEN
    IF bell AND vt_worker_turn_holds(7346007) THEN
        PERFORM pg_advisory_unlock(7346007, 0);
    END IF;
    RAISE;
END
$$;
