-- 027_system_tags_plpgsql: vt_system_tags (006) in PL/pgSQL, so that its
-- query is planned once per backend instead of once per call.
--
-- A LANGUAGE sql function that cannot be inlined (this one has a FROM) is
-- parsed and planned again by every executor run that calls it: once per
-- statement where a statement calls it for many rows (004's refresh, 019's
-- vt_sessions_tags), but once per ROW where the caller is a row trigger
-- whose expression is its own executor run: vt_probes_tags_trg (004, 019),
-- fired on every probes row whose tags change.  A probe's first session
-- (its from_addr goes from nothing to an address) changes its tags, so a
-- gateway's sessions-up batch of new probes planned the function once per
-- probe: 0.24 ms of backend CPU per probe in the trigger (0.024 ms with
-- the plan kept), and 0.48 ms per probe for the whole sessions-up
-- statement against 0.044 ms for probes coming back from the address they
-- had (10,000 probes, batches of 20).  The storm bench's probes beyond
-- GW_BENCH_SESSIONS connect for the first time in its storm: that is where
-- its 21-29 ms per sessions-up batch came from.
-- PL/pgSQL keeps the plan of its query for the backend's life (a generic
-- plan after its first few calls: the parameters do not change its shape).
-- The body is 006's, unchanged; so is the result.
CREATE OR REPLACE FUNCTION vt_system_tags(p probes, from_addr inet) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT t ORDER BY t), '{}') FROM unnest(
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
        || CASE WHEN p.is_virtual THEN '{system-virtual}'::text[] ELSE '{}' END) t);
END $$;
