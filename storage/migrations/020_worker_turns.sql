-- 020_worker_turns: at most N workers hold a batch at once, however many run.
--
-- Every worker beyond the cores PostgreSQL has makes each row dearer, not
-- the queue faster: the backends then contend for the same relation
-- extension locks, buffer locks and WAL insertion, and step over each
-- other's locked queue rows.  Measured on 2 cores (load 2): PostgreSQL's
-- CPU per 1000 results drained was 28 ms with one worker, 33 with two, 42
-- with four.  So a worker's batch transaction starts by taking one of N turns
-- (vantage-worker --active N), a transaction-level advisory lock:
--   (7346005, turn)  turn 0..N-1, held by the batch that has it
-- A free turn is taken at once; with none free, the worker waits for one
-- (PostgreSQL queues lock waiters in order, and a try never jumps a
-- waiter, so every worker gets its turns: none is starved).  The turn goes
-- at the batch's COMMIT or ROLLBACK, and with its session.
--
-- vt_worker_turn(n): the turn taken (-1 when n < 1: no limit).

CREATE FUNCTION vt_worker_turn(n integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t integer;
BEGIN
    IF n IS NULL OR n < 1 THEN
        RETURN -1;
    END IF;
    FOR t IN 0..n - 1 LOOP
        IF pg_try_advisory_xact_lock(7346005, t) THEN
            RETURN t;
        END IF;
    END LOOP;
    t := pg_backend_pid() % n;
    PERFORM pg_advisory_xact_lock(7346005, t);
    RETURN t;
END
$$;
