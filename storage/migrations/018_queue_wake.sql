-- 018_queue_wake: an insert into result_queue wakes the workers only when one
-- of them is waiting.
--
-- A transaction that NOTIFYs takes one lock for the whole cluster at its
-- COMMIT and holds it until the commit is durable, its WAL flush included.
-- Every gateway upload commits synchronously (a probe hears OK only once
-- its lines are durable), so with the NOTIFY of 008 on every insert the
-- gateway's concurrent commits, and the workers' commits behind them, went
-- through that lock one at a time, one WAL flush each, instead of sharing
-- flushes.  On a disk where a flush takes milliseconds, this alone held the
-- pipeline far below COPY speed.
--
-- A waiting worker holds an advisory lock of its own slot, exclusively,
-- from just before its last look at the queue until it wakes (worker.h,
-- vt_worker_sleep):
--   (7346003, slot)  slot 0..31, owned for the session by the worker that
--                    holds (7346004, slot)
-- The trigger tries each slot shared, for its transaction: a slot it cannot
-- take belongs to a worker that is waiting (or about to), and gets the
-- NOTIFY.  A slot it takes makes a worker that is about to wait block until
-- this transaction has committed, so that worker's last look at the queue
-- sees these rows.  No wakeup is lost; busy workers cost the writers
-- nothing.

CREATE OR REPLACE FUNCTION vt_queue_notify_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    FOR slot IN 0..31 LOOP
        IF NOT pg_try_advisory_xact_lock_shared(7346003, slot) THEN
            PERFORM pg_notify('vantage_queue', '');
            EXIT;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
