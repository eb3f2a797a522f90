-- 008_worker_queue: what the worker needs beside its queue.
--
-- 1. Every statement that adds rows to result_queue wakes the workers
--    (NOTIFY vantage_queue, delivered at COMMIT and folded into one per
--    transaction), so the writers need not know about it and a worker's
--    poll is only the fallback.
-- 2. The stock probe's own status lines (PROTOCOL.md, "Upload": 7001 uptime,
--    9104 interface addresses, ...) are probe information, not results.
--    The worker keeps the newest of each kind per probe in probe_status
--    (its table); the scheduler's reported-address step (007) takes the
--    interface addresses from there before the src_addr of results.
--
-- Assignments need no history table for the worker's check that a probe
-- was asked to run a measurement: rows are never deleted (only ended with
-- `removed`, or by the measurement's stop_time), and the one update that
-- clears `removed` makes the assignment current again.

CREATE FUNCTION vt_queue_notify_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vantage_queue', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER result_queue_notify AFTER INSERT ON result_queue
    FOR EACH STATEMENT EXECUTE FUNCTION vt_queue_notify_trg();

CREATE TABLE probe_status (
    probe_id         integer PRIMARY KEY REFERENCES probes(id) ON DELETE CASCADE,
    uptime           bigint,        -- seconds since the probe's boot (7001)
    uptime_at        bigint,        -- unix s of that report
    iface_v4         inet,          -- the probe's own addresses (9104), NULL: none
    iface_v6         inet,
    iface_at         bigint,        -- unix s of that report
    other_at         bigint,        -- unix s of the newest other status line
    other_count      bigint NOT NULL DEFAULT 0  -- other status lines seen
);

-- As in 007, with a fresh (last day) interface report of the probe taking
-- the place of the src_addr of its results for that family: the probe's
-- own interface is what a NAT hides, whatever source a measurement used.
CREATE OR REPLACE FUNCTION vt_refresh_reported_addrs(now_s bigint) RETURNS integer
LANGUAGE sql AS $$
    WITH s AS (
        SELECT l.prb_id, m.af, 0 AS iface, l.ts, vt_result_src_addr(l.result) AS a
        FROM latest l
        JOIN measurements m ON m.id = l.msm_id AND m.af IN (4, 6)
        WHERE l.ts > now_s - 86400 AND l.ts <= now_s + 300
        UNION ALL
        SELECT st.probe_id, f.af, 1, st.iface_at,
               CASE f.af WHEN 4 THEN st.iface_v4 ELSE st.iface_v6 END
        FROM probe_status st, (VALUES (4), (6)) f(af)
        WHERE st.iface_at > now_s - 86400 AND st.iface_at <= now_s + 300),
    r AS (
        SELECT DISTINCT ON (prb_id, af) prb_id, af, a FROM s
        WHERE a IS NOT NULL AND family(a) = af
          AND masklen(a) = CASE af WHEN 4 THEN 32 ELSE 128 END
        ORDER BY prb_id, af, iface DESC, ts DESC),
    per AS (
        SELECT prb_id, max(a) FILTER (WHERE af = 4) AS a4,
               max(a) FILTER (WHERE af = 6) AS a6
        FROM r GROUP BY prb_id),
    u AS (
        UPDATE probes p
        SET address_v4 = coalesce(per.a4, p.address_v4),
            address_v6 = coalesce(per.a6, p.address_v6)
        FROM per WHERE per.prb_id = p.id
          AND (p.address_v4 IS DISTINCT FROM coalesce(per.a4, p.address_v4)
            OR p.address_v6 IS DISTINCT FROM coalesce(per.a6, p.address_v6))
        RETURNING 1)
    SELECT count(*)::integer FROM u
$$;
