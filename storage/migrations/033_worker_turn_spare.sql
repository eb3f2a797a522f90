-- 033_worker_turn_spare: a turn for a worker's second batch in flight only
-- when one is spare.
--
-- A worker with two batches in flight (vantage-worker --pipeline) claims
-- its next batch on a second connection while its previous batch is
-- stored.  When that claim queued for a turn like any other (023), each
-- pipelined worker asked for turns twice as often: with more workers than
-- turns its speculative claim stood in line ahead of the other workers'
-- stores and claims, and every worker's turn waits grew several times
-- over (docs/scaling.md, "Who gets the second batch in flight").  So the
-- second batch is claimed only on a spare turn:
-- vt_worker_turn_spare(n) takes the gate (7346006, 0) only if nobody holds
-- it (its holder is the worker next in line, waiting for a turn), and then
-- a turn only if one is free, without waiting for either.  NULL: no turn
-- is spare; the worker then claims after its store, as one without the
-- pipeline does.  -1 when n < 1 (no limit).  The turn is given back as
-- 023's: pg_advisory_unlock(7346005, turn).

CREATE FUNCTION vt_worker_turn_spare(n integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t integer;
BEGIN
    IF n IS NULL OR n < 1 THEN
        RETURN -1;
    END IF;
    IF NOT pg_try_advisory_lock(7346006, 0) THEN
        RETURN NULL;
    END IF;
    FOR t IN 0..n - 1 LOOP
        IF pg_try_advisory_lock(7346005, t) THEN
            PERFORM pg_advisory_unlock(7346006, 0);
            RETURN t;
        END IF;
    END LOOP;
    PERFORM pg_advisory_unlock(7346006, 0);
    RETURN NULL;
EXCEPTION WHEN query_canceled OR OTHERS THEN
    -- a session lock outlives the error: the gate must not (held by this
    -- session or not: an unlock of a lock not held only warns)
    PERFORM pg_advisory_unlock(7346006, 0);
    RAISE;
END
$$;
