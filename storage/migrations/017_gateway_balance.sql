-- 017_gateway_balance: registration balances probes over the gateways by
-- live load, kept up to date as sessions come and go; gateways drain on
-- purpose at a bounded rate.
--
-- Load of a gateway = its live KEEP sessions (probe_sessions connected
-- through it) plus the probes registration sent to it that have not
-- connected yet (gateway_assign), relative to its capacity.  Both counts
-- are kept in gateway_load by triggers and by vt_gateway_pick, so that
-- choosing a controller reads one row per gateway, never probe_sessions
-- (no scan per registration at 10,000 probes).
--
-- Locks: a statement takes gateway_assign rows before gateway_load rows,
-- and gateway_load rows in the order of the gateway's name, so that
-- sessions moving between gateways in both directions at once never
-- deadlock.

-- capacity: the gateway's weight in the choice (NULL: max_sessions);
-- draining: set by `vantage gateway drain`, the gateway then sends its
-- probes elsewhere at drain_rate probes a second and registration no
-- longer chooses it.
ALTER TABLE gateways ADD COLUMN capacity integer CHECK (capacity > 0);
ALTER TABLE gateways ADD COLUMN draining timestamptz;
ALTER TABLE gateways ADD COLUMN drain_rate integer NOT NULL DEFAULT 10
    CHECK (drain_rate > 0);

CREATE TABLE gateway_load (
    gateway          text PRIMARY KEY,
    live             integer NOT NULL DEFAULT 0,    -- connected KEEP sessions
    pending          integer NOT NULL DEFAULT 0     -- sent here, not connected yet
);
INSERT INTO gateway_load (gateway, live)
    SELECT gateway, count(*) FROM probe_sessions
    WHERE connected AND gateway IS NOT NULL GROUP BY gateway;

-- The gateway registration chose for a probe, until the probe connects
-- (anywhere) or the choice is older than vt_gateway_assign_expire's age.
-- No foreign key: a deleted probe's row expires like any other.
CREATE TABLE gateway_assign (
    probe_id         integer PRIMARY KEY,
    gateway          text NOT NULL,
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gateway_assign_at ON gateway_assign (at);

-- Every probe a draining gateway sent away (written on its KEEP), with the
-- gateway's monotonic clock at that moment: the spacing of mono_ms is the
-- drain rate as the gateway paced it.
CREATE TABLE gateway_drain_kicks (
    id               bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    gateway          text NOT NULL,
    probe_id         integer NOT NULL,
    mono_ms          bigint NOT NULL,
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gateway_drain_kicks_gw ON gateway_drain_kicks (gateway, id);

-- Adds dlive and dpending to gateway g's counts (the row made when new).
CREATE FUNCTION vt_gateway_load_add(g text, dlive integer, dpending integer)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF dlive = 0 AND dpending = 0 THEN
        RETURN;
    END IF;
    UPDATE gateway_load SET live = greatest(live + dlive, 0),
        pending = greatest(pending + dpending, 0) WHERE gateway = g;
    IF NOT FOUND THEN
        INSERT INTO gateway_load (gateway, live, pending)
            VALUES (g, greatest(dlive, 0), greatest(dpending, 0))
            ON CONFLICT (gateway) DO UPDATE SET
            live = greatest(gateway_load.live + dlive, 0),
            pending = greatest(gateway_load.pending + dpending, 0);
    END IF;
END $$;

-- Keeps gateway_load.live equal to the connected sessions per gateway; a
-- probe that connects is no longer pending where registration sent it.
CREATE FUNCTION vt_gateway_load_trg() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_g text;
    new_g text;
    asg   text;
    g     text;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.connected THEN
        old_g := OLD.gateway;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.connected THEN
        new_g := NEW.gateway;
    END IF;
    IF new_g IS NOT NULL AND old_g IS DISTINCT FROM new_g THEN
        DELETE FROM gateway_assign WHERE probe_id = NEW.probe_id
            RETURNING gateway INTO asg;
    END IF;
    IF old_g IS NOT DISTINCT FROM new_g AND asg IS NULL THEN
        RETURN NULL;
    END IF;
    FOR g IN SELECT DISTINCT x FROM unnest(ARRAY[old_g, new_g, asg]) x
             WHERE x IS NOT NULL ORDER BY 1 LOOP
        PERFORM vt_gateway_load_add(g,
            CASE WHEN old_g IS NOT DISTINCT FROM new_g THEN 0
                 WHEN g = new_g THEN 1 WHEN g = old_g THEN -1 ELSE 0 END,
            CASE WHEN g = asg THEN -1 ELSE 0 END);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER probe_sessions_load AFTER INSERT OR DELETE
    OR UPDATE OF connected, gateway ON probe_sessions
    FOR EACH ROW EXECUTE FUNCTION vt_gateway_load_trg();

-- The controller for a probe registering now: among gateways with a
-- heartbeat within live_s seconds, not stopped, not draining, with an RSA
-- host key and room under max_sessions, the one with the least load per
-- capacity (a stock probe, rsa, prefers gateways with an RSA-only
-- listener; PROTOCOL.md "Transport").  The choice counts as pending there
-- until the probe connects.  No row when no gateway qualifies.
CREATE FUNCTION vt_gateway_pick(p_probe integer, p_rsa boolean, p_live_s integer)
RETURNS TABLE (name text, host text, port integer, key_type text, key text)
LANGUAGE plpgsql AS $$
DECLARE
    gw    record;
    prev  text;
    g     text;
BEGIN
    SELECT x.name, x.ctrl_host, x.ctrl_port, x.rsa_ctrl_port,
           x.rsa_host_key, x.ed25519_host_key INTO gw
    FROM gateways x LEFT JOIN gateway_load l ON l.gateway = x.name
    WHERE x.heartbeat > now() - make_interval(secs => p_live_s)
      AND x.stopped IS NULL AND x.draining IS NULL
      AND x.rsa_host_key IS NOT NULL
      AND (x.max_sessions = 0 OR coalesce(l.live, 0) < x.max_sessions)
    ORDER BY p_rsa AND x.rsa_ctrl_port IS NULL,
             (coalesce(l.live, 0) + coalesce(l.pending, 0))::float8
               / greatest(coalesce(x.capacity, x.max_sessions), 1),
             coalesce(l.live, 0) + coalesce(l.pending, 0), x.name
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT a.gateway INTO prev FROM gateway_assign a
        WHERE a.probe_id = p_probe FOR UPDATE;
    INSERT INTO gateway_assign AS a (probe_id, gateway, at)
        VALUES (p_probe, gw.name, now())
        ON CONFLICT (probe_id) DO UPDATE SET gateway = EXCLUDED.gateway,
        at = EXCLUDED.at;
    IF prev IS DISTINCT FROM gw.name THEN
        FOR g IN SELECT DISTINCT y FROM unnest(ARRAY[prev, gw.name]) y
                 WHERE y IS NOT NULL ORDER BY 1 LOOP
            PERFORM vt_gateway_load_add(g, 0,
                CASE WHEN g = gw.name THEN 1 ELSE -1 END);
        END LOOP;
    END IF;
    name := gw.name;
    host := gw.ctrl_host;
    port := CASE WHEN p_rsa THEN coalesce(gw.rsa_ctrl_port, gw.ctrl_port)
            ELSE gw.ctrl_port END;
    key_type := CASE WHEN p_rsa OR gw.ed25519_host_key IS NULL
                THEN 'ssh-rsa' ELSE 'ssh-ed25519' END;
    key := CASE WHEN p_rsa OR gw.ed25519_host_key IS NULL
           THEN gw.rsa_host_key ELSE gw.ed25519_host_key END;
    RETURN NEXT;
END $$;

-- Forgets the choices older than age_s seconds whose probe never
-- connected (it went elsewhere, or away); returns how many.  Gateways call
-- it from their periodic pass.
CREATE FUNCTION vt_gateway_assign_expire(age_s integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r     record;
    total integer := 0;
BEGIN
    FOR r IN WITH gone AS (DELETE FROM gateway_assign
                 WHERE at < now() - make_interval(secs => age_s)
                 RETURNING gateway)
             SELECT gateway, count(*)::integer AS n FROM gone
             GROUP BY gateway ORDER BY gateway LOOP
        PERFORM vt_gateway_load_add(r.gateway, 0, -r.n);
        total := total + r.n;
    END LOOP;
    RETURN total;
END $$;
