-- 007_reported_addrs: the addresses a probe reports.  Every result carries
-- the probe's own source address for its family (`src_addr`); the newest
-- one of the last day becomes probes.address_v4 / address_v6, so the
-- system tags that depend on them (-capable, system-ipv4-rfc1918 behind
-- NAT) follow what the probe says rather than only what an operator typed.
-- Like 006 this is read from `latest` on the scheduler's cadence; nothing
-- is added to the worker's writes.

-- The src_addr of a stored result, or NULL when absent or unreadable.
CREATE FUNCTION vt_result_src_addr(result text) RETURNS inet
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN (result::jsonb->>'src_addr')::inet;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- Sets each probe's address per family to the src_addr of its newest
-- result over that family in `latest` within a day of now (unix seconds);
-- returns the number of probes changed.  Host addresses of the right
-- family only; a probe with no such result keeps what it has.
CREATE FUNCTION vt_refresh_reported_addrs(now_s bigint) RETURNS integer
LANGUAGE sql AS $$
    WITH s AS (
        SELECT l.prb_id, m.af, l.ts, vt_result_src_addr(l.result) AS a
        FROM latest l
        JOIN measurements m ON m.id = l.msm_id AND m.af IN (4, 6)
        WHERE l.ts > now_s - 86400 AND l.ts <= now_s + 300),
    r AS (
        SELECT DISTINCT ON (prb_id, af) prb_id, af, a FROM s
        WHERE a IS NOT NULL AND family(a) = af
          AND masklen(a) = CASE af WHEN 4 THEN 32 ELSE 128 END
        ORDER BY prb_id, af, ts DESC),
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
