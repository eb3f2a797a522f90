-- 032_refresh_tags_once: the scheduler's refresh of every probe's system
-- tags (004's vt_refresh_system_tags, once per pass) computes each probe's
-- tags once, as 031 made a sessions-up batch do, instead of three times.
--
-- 004's UPDATE named the computed tags twice (SET and the IS DISTINCT FROM
-- test), so vt_system_tags ran twice for every probe, and the probes row
-- trigger (019 probes_system_tags_upd) fired on every probe whose tags
-- changed and computed them a third time, with a query of its own on
-- probe_sessions.
-- Now, as 031's vt_sessions_tags:
--  - the tags are computed in the statement's own plan through 031's
--    inlinable vt_system_tags_of, once per probe, in a MATERIALIZED CTE
--    that the UPDATE reads;
--  - the row trigger is told, for that one UPDATE, that the tags being
--    written are those it would compute (031's vantage.tags_fresh, local
--    to the transaction and cleared when the UPDATE is done);
--  - PL/pgSQL, so the statement's plan is kept for the backend's life (the
--    scheduler's connection), jit off as 019's and 031's callers.
-- The tags are computed from the snapshot of the CTE; a probe written by
-- another transaction between that snapshot and the UPDATE's row lock
-- (the UPDATE re-reads it) with other tags or other columns the tags are
-- made of is left alone: that write's row trigger computed its tags from
-- the row it wrote (004's UPDATE recomputed them from the new row).
-- Otherwise the result is 004's: the same rows change to the same tags
-- (integration/session_tags_plan compares them with 027's function), and
-- it returns the number of probes whose tags changed.
CREATE OR REPLACE FUNCTION vt_refresh_system_tags(only_probe integer DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    n integer;
BEGIN
    PERFORM set_config('vantage.tags_fresh', 'on', true);
    WITH fresh AS MATERIALIZED (
        SELECT q.id, t.tags, q.system_tags, q.address_v4, q.address_v6,
               q.is_anchor, q.is_virtual, q.v4_ok_at, q.v6_ok_at
        FROM probes q
        LEFT JOIN probe_sessions s ON s.probe_id = q.id
        CROSS JOIN LATERAL vt_system_tags_of(q, s.from_addr) AS t(tags)
        WHERE only_probe IS NULL OR q.id = only_probe)
    UPDATE probes p SET system_tags = fresh.tags
    FROM fresh
    WHERE p.id = fresh.id AND p.system_tags IS DISTINCT FROM fresh.tags
      AND (p.system_tags, p.address_v4, p.address_v6, p.is_anchor,
           p.is_virtual, p.v4_ok_at, p.v6_ok_at)
          IS NOT DISTINCT FROM
          (fresh.system_tags, fresh.address_v4, fresh.address_v6,
           fresh.is_anchor, fresh.is_virtual, fresh.v4_ok_at, fresh.v6_ok_at);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('vantage.tags_fresh', '', true);
    RETURN n;
END $$;
