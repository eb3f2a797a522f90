-- 031_sessions_tags_once: a batch of sessions whose address changed (a
-- probe's first connection: from nothing to an address) computes each
-- probe's system tags once, with a kept plan, instead of three times.
--
-- Measured over 1,000 new probes in the gateway's sessions-up batches of
-- 20 (pg_stat_statements, track = all), 019's vt_sessions_tags cost
-- 0.12 ms of the 0.18 ms per probe of the whole statement (0.034 ms for
-- probes back from the address they had):
--  - its UPDATE referred to the computed tags twice (SET and the IS
--    DISTINCT FROM test); the planner pulls the subquery up and copies the
--    expression, so vt_system_tags ran twice per probe;
--  - the probes row trigger (019 probes_system_tags_upd) fired on every
--    row, since system_tags changed, and computed them a third time with a
--    query of its own on probe_sessions per probe: 0.03 ms per probe;
--  - LANGUAGE sql, the function's UPDATE was parsed and planned by every
--    call, once per batch (0.23 ms per batch of 20).
-- Now:
--  - the tags' one definition is a set-returning SQL function of one row,
--    vt_system_tags_of, which the planner inlines into a caller's FROM
--    (LATERAL): the batch's UPDATE computes every probe's tags in its own
--    plan, once per probe, without a function call and an executor run of
--    its own per probe (those were 0.033 of the 0.05 ms per probe the
--    UPDATE still cost with a PL/pgSQL vt_system_tags per row).  It must
--    stay LANGUAGE sql, STABLE, not strict and without SET options to be
--    inlined.  vt_system_tags (one probe: the row trigger,
--    vt_refresh_system_tags, the API) returns its one row, in PL/pgSQL for
--    027's kept plan.  The body is 006's expression, unchanged;
--  - vt_sessions_tags is PL/pgSQL (its plan kept for the backend's life,
--    jit off as 019's callers) and names the computed tags once, in a
--    MATERIALIZED CTE;
--  - the probes row trigger is told, for that one UPDATE, that the tags it
--    would compute are those being written: vt_system_tags of the probe
--    row as it is and of the session's address, which the trigger would
--    read back from probe_sessions (the statement whose AFTER trigger
--    called us wrote it).  The setting is local to the transaction (and
--    undone with a subtransaction that fails) and cleared when the UPDATE
--    is done, so every other write of a probe recomputes its tags as 019
--    says.
-- The tags written are the same as before (integration/session_tags_plan
-- compares them with 027's function).
CREATE FUNCTION vt_system_tags_of(p probes, from_addr inet)
RETURNS SETOF text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT t ORDER BY t), '{}') FROM unnest(
        array(SELECT x FROM unnest(p.system_tags) x WHERE x NOT IN (
              'system-ipv4-capable', 'system-ipv4-works', 'system-ipv6-capable',
              'system-ipv6-works', 'system-ipv4-rfc1918', 'system-anchor',
              'system-virtual'))
        || CASE WHEN p.address_v4 IS NOT NULL OR family(from_addr) = 4
                  OR p.v4_ok_at > extract(epoch FROM now()) - 86400
                THEN '{system-ipv4-capable}'::text[] ELSE '{}' END
        || CASE WHEN family(from_addr) = 4
                  OR p.v4_ok_at > extract(epoch FROM now()) - 86400
                THEN '{system-ipv4-works}'::text[] ELSE '{}' END
        || CASE WHEN p.address_v6 IS NOT NULL OR family(from_addr) = 6
                  OR p.v6_ok_at > extract(epoch FROM now()) - 86400
                THEN '{system-ipv6-capable}'::text[] ELSE '{}' END
        || CASE WHEN family(from_addr) = 6
                  OR p.v6_ok_at > extract(epoch FROM now()) - 86400
                THEN '{system-ipv6-works}'::text[] ELSE '{}' END
        || CASE WHEN p.address_v4 <<= '10.0.0.0/8' OR p.address_v4 <<= '172.16.0.0/12'
                  OR p.address_v4 <<= '192.168.0.0/16'
                  OR (family(from_addr) = 4 AND host(p.address_v4) <> host(from_addr))
                THEN '{system-ipv4-rfc1918}'::text[] ELSE '{}' END
        || CASE WHEN p.is_anchor THEN '{system-anchor}'::text[] ELSE '{}' END
        || CASE WHEN p.is_virtual THEN '{system-virtual}'::text[] ELSE '{}' END) t
$$;

CREATE OR REPLACE FUNCTION vt_system_tags(p probes, from_addr inet) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT t FROM vt_system_tags_of(p, from_addr) t);
END $$;

CREATE OR REPLACE FUNCTION vt_sessions_tags(s_ids integer[], s_from inet[])
RETURNS void LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    PERFORM set_config('vantage.tags_fresh', 'on', true);
    -- c reads the probes as the statement's snapshot has them.  A probe
    -- written and committed since by another transaction (its address,
    -- anchor flag...: the UPDATE waits for its row, then writes the newer
    -- version, with another ctid) has its tags computed from the version
    -- written, as the trigger, skipped here, would have.
    WITH c AS MATERIALIZED (
        SELECT q.id, q.ctid AS read_ctid, s.from_addr, t.tags
        FROM unnest(s_ids, s_from) AS s(probe_id, from_addr)
        JOIN probes q ON q.id = s.probe_id
        CROSS JOIN LATERAL vt_system_tags_of(q, s.from_addr) AS t(tags))
    UPDATE probes p SET system_tags = CASE WHEN p.ctid = c.read_ctid THEN c.tags
                                           ELSE vt_system_tags(p, c.from_addr) END
    FROM c WHERE p.id = c.id
        AND (p.system_tags IS DISTINCT FROM c.tags OR p.ctid <> c.read_ctid);
    PERFORM set_config('vantage.tags_fresh', '', true);
END $$;

-- 019's row trigger, skipped while vt_sessions_tags writes fresh tags.
DROP TRIGGER probes_system_tags_upd ON probes;
CREATE TRIGGER probes_system_tags_upd BEFORE UPDATE ON probes
    FOR EACH ROW WHEN (
        coalesce(current_setting('vantage.tags_fresh', true), '') <> 'on'
        AND ((OLD.id, OLD.system_tags, OLD.address_v4, OLD.address_v6,
              OLD.is_anchor, OLD.is_virtual, OLD.v4_ok_at, OLD.v6_ok_at)
             IS DISTINCT FROM
             (NEW.id, NEW.system_tags, NEW.address_v4, NEW.address_v6,
              NEW.is_anchor, NEW.is_virtual, NEW.v4_ok_at, NEW.v6_ok_at)
             OR NEW.v4_ok_at <= extract(epoch FROM now()) - 86400
             OR NEW.v6_ok_at <= extract(epoch FROM now()) - 86400))
    EXECUTE FUNCTION vt_probes_tags_trg();
