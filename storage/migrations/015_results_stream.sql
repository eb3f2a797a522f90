-- 015_results_stream: what the live result stream (vantage-api --stream,
-- docs/vantage-api.md) needs to name stored rows.
--
-- results.seq numbers every stored row in the order the worker inserts it.
-- The worker sends, in the transaction that stores rows, NOTIFY
-- vantage_stream with the storing transaction's id and, per measurement,
-- the ranges of seq it stored (proto/stream.h); never the rows.  A stream
-- server reads the rows of the measurements it has subscribers for, once
-- per notification, by (msm_id, seq).
--
-- The column gets its default after it is added, so existing rows keep a
-- NULL (no table rewrite); they are older than any stream's backlog.
-- CACHE 64: a worker's rows of one batch get consecutive numbers even
-- when several workers insert at once, so a payload stays short.

CREATE SEQUENCE results_seq CACHE 64;
ALTER TABLE results ADD COLUMN seq bigint;
ALTER TABLE results ALTER COLUMN seq SET DEFAULT nextval('results_seq');
CREATE INDEX results_msm_seq ON results (msm_id, seq);
