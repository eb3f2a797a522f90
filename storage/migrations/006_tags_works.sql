-- 006_tags_works: system-ipv4-works / system-ipv6-works also from what a
-- probe achieves.  A probe that had a successful result over a family in
-- the last day works over it, whatever family its session comes from.
--
-- The scheduler keeps probes.v4_ok_at / v6_ok_at from `latest` on its own
-- cadence (vt_refresh_works); nothing is added to the worker's writes.

ALTER TABLE probes
    ADD COLUMN v4_ok_at bigint,    -- unix s of the last successful IPv4 result
    ADD COLUMN v6_ok_at bigint;    -- the same over IPv6

-- Whether a stored result (RIPE Atlas result JSON) of a measurement type
-- achieved something: a ping got a reply, a traceroute reached its
-- destination, a DNS query got an answer.  Unreadable text is no success.
CREATE FUNCTION vt_result_ok(m_type text, result text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    j jsonb;
BEGIN
    BEGIN
        j := result::jsonb;
    EXCEPTION WHEN others THEN
        RETURN false;
    END;
    IF jsonb_typeof(j) <> 'object' OR j ? 'error' THEN
        RETURN false;
    END IF;
    IF m_type = 'ping' THEN
        RETURN coalesce(j->>'rcvd', '') ~ '^[1-9][0-9]*$';
    ELSIF m_type = 'traceroute' THEN
        RETURN j ? 'dst_addr' AND jsonb_typeof(j->'result') = 'array'
            AND jsonb_path_exists(j, '$.result[*].result[*] ? (@.from == $.dst_addr)');
    ELSIF m_type = 'dns' THEN
        RETURN jsonb_typeof(j->'result') = 'object'
            OR jsonb_path_exists(j, '$.resultset[*].result ? (@.type() == "object")');
    END IF;
    RETURN false;
END
$$;

-- Moves probes' v4_ok_at / v6_ok_at forward from the successful results in
-- `latest` newer than now - 1 day (now: unix seconds) and newer than what
-- the probe has; returns the number of probes changed.  Their system tags
-- follow through the probes trigger.
CREATE FUNCTION vt_refresh_works(now_s bigint) RETURNS integer
LANGUAGE sql AS $$
    WITH ok AS (
        SELECT l.prb_id, m.af, max(l.ts) AS ts
        FROM latest l
        JOIN measurements m ON m.id = l.msm_id AND m.af IN (4, 6)
        JOIN probes p ON p.id = l.prb_id
        WHERE l.ts > now_s - 86400 AND l.ts <= now_s + 300
          AND l.ts > coalesce(CASE m.af WHEN 4 THEN p.v4_ok_at
                                        ELSE p.v6_ok_at END, 0)
          AND vt_result_ok(m.type, l.result)
        GROUP BY l.prb_id, m.af),
    per AS (
        SELECT prb_id, max(ts) FILTER (WHERE af = 4) AS t4,
               max(ts) FILTER (WHERE af = 6) AS t6
        FROM ok GROUP BY prb_id),
    u AS (
        UPDATE probes p
        SET v4_ok_at = greatest(p.v4_ok_at, per.t4),
            v6_ok_at = greatest(p.v6_ok_at, per.t6)
        FROM per WHERE per.prb_id = p.id
        RETURNING 1)
    SELECT count(*)::integer FROM u
$$;

-- The system tags as in 004, with "works" also true for a family the probe
-- had a successful result over in the last day (which implies "capable").
CREATE OR REPLACE FUNCTION vt_system_tags(p probes, from_addr inet) RETURNS text[]
LANGUAGE sql STABLE AS $$
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
