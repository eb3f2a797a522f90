-- 019_session_triggers: the triggers on probe_sessions run once per
-- statement over its transition tables instead of once per row, so that a
-- gateway marking 10,000 sessions down after a restart (or a batch of 64
-- coming up) costs a few set-based statements, not 10,000 trigger calls.
-- They compute what the row triggers of 004 and 017 computed:
--  - system tags: a probe whose session is new or came from another
--    address gets its system tags recomputed (004 vt_sessions_trg);
--  - scheduler wake: one NOTIFY vantage_sched per statement that inserted a
--    session or changed a session's `connected` (the scheduler reads no
--    payload, see controller/scheduler/main.c);
--  - gateway_load.live = connected sessions per gateway, and a probe that
--    connects is no longer pending where registration sent it (017).
-- Rows whose tracked columns did not change cost a join and nothing else.
-- Their plans are cached with the row count of the first statement (10,000
-- at a restart), which would make every later 64-row batch pay for JIT
-- compilation (17 ms): the functions run with jit off.
-- A session's probe_id is never updated (it is the probe's key), so the
-- old and new rows of an update are paired by probe_id.
--
-- Locks as in 017: gateway_assign rows (in probe_id order) before
-- gateway_load rows (in gateway name order), one update per gateway and
-- statement; the counter is read and written by that one UPDATE, under its
-- row lock, so concurrent gateways add their deltas without losing any.

DROP TRIGGER probe_sessions_tags ON probe_sessions;
DROP TRIGGER probe_sessions_load ON probe_sessions;
DROP FUNCTION vt_sessions_trg();
DROP FUNCTION vt_gateway_load_trg();

-- Recomputes the system tags of the probes s_ids, whose sessions come from
-- s_from (element by element), writing only those that differ.
CREATE FUNCTION vt_sessions_tags(s_ids integer[], s_from inet[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE probes p SET system_tags = c.tags
    FROM (SELECT q.id, vt_system_tags(q, s.from_addr) AS tags
          FROM unnest(s_ids, s_from) AS s(probe_id, from_addr)
          JOIN probes q ON q.id = s.probe_id) c
    WHERE p.id = c.id AND p.system_tags IS DISTINCT FROM c.tags
$$;

-- Applies what one statement changed: live moves by dlive on the gateways
-- in moves (the old rows' gateways, connected, lose them; the new rows'
-- gain them); the probes in `arrived` (connected now, elsewhere or not at
-- all before) lose their gateway_assign row, no longer pending there; the
-- probes in ids get their system tags recomputed with the session address
-- in froms; woke: the scheduler is woken.
CREATE FUNCTION vt_sessions_apply(moves text[], dlive integer[],
                                  arrived integer[], ids integer[],
                                  froms inet[], woke boolean) RETURNS void
LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    r record;
BEGIN
    IF arrived IS NOT NULL THEN
        PERFORM 1 FROM gateway_assign WHERE probe_id = ANY (arrived)
            ORDER BY probe_id FOR UPDATE;
    END IF;
    IF moves IS NOT NULL OR arrived IS NOT NULL THEN
        FOR r IN WITH gone AS (
                     DELETE FROM gateway_assign WHERE arrived IS NOT NULL
                         AND probe_id = ANY (arrived) RETURNING gateway),
                 d AS (SELECT m.g, m.d AS live, 0 AS pending
                       FROM unnest(moves, dlive) AS m(g, d)
                       UNION ALL
                       SELECT gateway, 0, -1 FROM gone)
                 SELECT g, sum(live)::integer AS live,
                        sum(pending)::integer AS pending
                 FROM d GROUP BY g ORDER BY g LOOP
            PERFORM vt_gateway_load_add(r.g, r.live, r.pending);
        END LOOP;
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM vt_sessions_tags(ids, froms);
    END IF;
    IF woke THEN
        PERFORM pg_notify('vantage_sched', '');
    END IF;
END $$;

-- The three triggers hand vt_sessions_apply what their statement changed.
-- INSERT: every new session (ON CONFLICT's updates come as UPDATE).
CREATE FUNCTION vt_sessions_ins_trg() RETURNS trigger LANGUAGE plpgsql
SET jit = off AS $$
BEGIN
    PERFORM vt_sessions_apply(x.moves, x.dlive, x.arrived, x.ids, x.froms,
                              x.ids IS NOT NULL)
    FROM (WITH per AS (SELECT gateway AS g, count(*)::integer AS n
                       FROM new_rows WHERE connected AND gateway IS NOT NULL
                       GROUP BY gateway)
          SELECT (SELECT array_agg(g ORDER BY g) FROM per) AS moves,
                 (SELECT array_agg(n ORDER BY g) FROM per) AS dlive,
                 (SELECT array_agg(probe_id) FROM new_rows
                  WHERE connected AND gateway IS NOT NULL) AS arrived,
                 (SELECT array_agg(probe_id) FROM new_rows) AS ids,
                 (SELECT array_agg(from_addr) FROM new_rows) AS froms) x;
    RETURN NULL;
END $$;

-- UPDATE: only the rows whose connected, gateway or from_addr changed.
CREATE FUNCTION vt_sessions_upd_trg() RETURNS trigger LANGUAGE plpgsql
SET jit = off AS $$
BEGIN
    PERFORM vt_sessions_apply(x.moves, x.dlive, x.arrived, x.ids, x.froms,
                              coalesce(x.woke, false))
    FROM (WITH ch AS (
              SELECT o.probe_id,
                     CASE WHEN o.connected THEN o.gateway END AS old_g,
                     CASE WHEN n.connected THEN n.gateway END AS new_g,
                     o.from_addr IS DISTINCT FROM n.from_addr AS moved,
                     n.from_addr, o.connected IS DISTINCT FROM n.connected AS flip
              FROM old_rows o JOIN new_rows n USING (probe_id)
              WHERE (o.connected, o.gateway, o.from_addr)
                    IS DISTINCT FROM (n.connected, n.gateway, n.from_addr)),
          d AS (SELECT old_g AS g, -1 AS d FROM ch
                WHERE old_g IS NOT NULL AND old_g IS DISTINCT FROM new_g
                UNION ALL
                SELECT new_g, 1 FROM ch
                WHERE new_g IS NOT NULL AND old_g IS DISTINCT FROM new_g),
          per AS (SELECT g, sum(d)::integer AS n FROM d GROUP BY g
                  HAVING sum(d) <> 0)
          SELECT (SELECT array_agg(g ORDER BY g) FROM per) AS moves,
                 (SELECT array_agg(n ORDER BY g) FROM per) AS dlive,
                 (SELECT array_agg(probe_id) FROM ch WHERE new_g IS NOT NULL
                  AND old_g IS DISTINCT FROM new_g) AS arrived,
                 (SELECT array_agg(probe_id) FROM ch WHERE moved) AS ids,
                 (SELECT array_agg(from_addr) FROM ch WHERE moved) AS froms,
                 (SELECT bool_or(flip) FROM ch) AS woke) x;
    RETURN NULL;
END $$;

-- DELETE: live sessions gone with their rows; a probe left without a
-- session has the system tags of no session address.
CREATE FUNCTION vt_sessions_del_trg() RETURNS trigger LANGUAGE plpgsql
SET jit = off AS $$
BEGIN
    PERFORM vt_sessions_apply(x.moves, x.dlive, NULL, x.ids,
                              array_fill(NULL::inet,
                                         ARRAY[coalesce(cardinality(x.ids), 0)]),
                              false)
    FROM (WITH per AS (SELECT gateway AS g, -count(*)::integer AS n
                       FROM old_rows WHERE connected AND gateway IS NOT NULL
                       GROUP BY gateway)
          SELECT (SELECT array_agg(g ORDER BY g) FROM per) AS moves,
                 (SELECT array_agg(n ORDER BY g) FROM per) AS dlive,
                 (SELECT array_agg(probe_id) FROM old_rows) AS ids) x;
    RETURN NULL;
END $$;

CREATE TRIGGER probe_sessions_ins AFTER INSERT ON probe_sessions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vt_sessions_ins_trg();
CREATE TRIGGER probe_sessions_upd AFTER UPDATE ON probe_sessions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vt_sessions_upd_trg();
CREATE TRIGGER probe_sessions_del AFTER DELETE ON probe_sessions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vt_sessions_del_trg();

-- The probes row trigger of 004 recomputed the system tags on every write
-- of a probe, also the gateway's status writes (10,000 recomputations in a
-- restart's reset).  An update now recomputes them only when something
-- they are made of may differ from when they were last computed: one of
-- their columns changed, or a successful result is over a day old (its
-- "works" may have expired since; vt_system_tags's own test).  Otherwise
-- the stored tags were computed from the same columns, with the same
-- outcome of the age test (a time within the day now was within it then),
-- and with the session's current address (a session changing address
-- recomputes them, above): recomputing would give them back unchanged.
DROP TRIGGER probes_system_tags ON probes;
CREATE TRIGGER probes_system_tags BEFORE INSERT ON probes
    FOR EACH ROW EXECUTE FUNCTION vt_probes_tags_trg();
CREATE TRIGGER probes_system_tags_upd BEFORE UPDATE ON probes
    FOR EACH ROW WHEN (
        (OLD.id, OLD.system_tags, OLD.address_v4, OLD.address_v6,
         OLD.is_anchor, OLD.is_virtual, OLD.v4_ok_at, OLD.v6_ok_at)
        IS DISTINCT FROM
        (NEW.id, NEW.system_tags, NEW.address_v4, NEW.address_v6,
         NEW.is_anchor, NEW.is_virtual, NEW.v4_ok_at, NEW.v6_ok_at)
        OR NEW.v4_ok_at <= extract(epoch FROM now()) - 86400
        OR NEW.v6_ok_at <= extract(epoch FROM now()) - 86400)
    EXECUTE FUNCTION vt_probes_tags_trg();
