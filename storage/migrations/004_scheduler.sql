-- 004_scheduler: what vantage-scheduler keeps (docs/vantage-scheduler.md).
--
-- A measurement's probe specs are participation requests: the specs given at
-- creation are its first "add" requests, later ones add or remove probes.
-- Each assignment remembers the request that chose it, so the scheduler can
-- top a request up when it is short of `requested`.

ALTER TABLE measurements
    ADD COLUMN tags             text[] NOT NULL DEFAULT '{}',
    ADD COLUMN probes_requested integer NOT NULL DEFAULT 0,
    ADD COLUMN mesh_anchor      integer;   -- anchor mesh: the anchor measured
CREATE INDEX measurements_active ON measurements (status) WHERE status IN (0, 1, 2);
CREATE INDEX measurements_mesh ON measurements (mesh_anchor) WHERE mesh_anchor IS NOT NULL;

CREATE TABLE participation_requests (
    id               bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    msm_id           bigint NOT NULL REFERENCES measurements(id) ON DELETE CASCADE,
    action           text NOT NULL CHECK (action IN ('add', 'remove')),
    type             text NOT NULL
                     CHECK (type IN ('area', 'country', 'asn', 'prefix', 'probes', 'msm')),
    value            text NOT NULL,                 -- remove: probe ids "1,2,3"
    requested        integer NOT NULL DEFAULT 0,
    tags_include     text[] NOT NULL DEFAULT '{}',
    tags_exclude     text[] NOT NULL DEFAULT '{}',
    created          timestamptz NOT NULL DEFAULT now(),
    applied          timestamptz                    -- first handled by a pass
);
CREATE INDEX participation_requests_msm ON participation_requests (msm_id);

ALTER TABLE assignments
    ADD COLUMN request_id bigint REFERENCES participation_requests(id) ON DELETE SET NULL,
    ADD COLUMN offered    bigint,                   -- one-offs: batch time it was sent in
    ADD COLUMN delivered  timestamptz;              -- one-offs: the probe said OK

-- The area of a location (API.md, area values).  WW holds every probe, also
-- those without a location; the others split the map by longitude (-30 and
-- 60 degrees) and, east of -30, by the equator.
CREATE FUNCTION vt_area_match(area text, lat double precision,
                              lon double precision) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN area = 'WW' THEN true
        WHEN lat IS NULL OR lon IS NULL THEN false
        WHEN area = 'West' THEN lon < -30
        WHEN area = 'North-Central' THEN lon >= -30 AND lon < 60 AND lat >= 0
        WHEN area = 'South-Central' THEN lon >= -30 AND lon < 60 AND lat < 0
        WHEN area = 'North-East' THEN lon >= 60 AND lat >= 0
        WHEN area = 'South-East' THEN lon >= 60 AND lat < 0
        ELSE false END
$$;

-- Whether probe p matches a probe spec (type, value); values were checked
-- when the request was stored.
CREATE FUNCTION vt_spec_match(p probes, s_type text, s_value text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF s_type = 'area' THEN
        RETURN vt_area_match(s_value, p.latitude, p.longitude);
    ELSIF s_type = 'country' THEN
        RETURN upper(p.country_code) = ANY (string_to_array(upper(s_value), ','));
    ELSIF s_type = 'asn' THEN
        RETURN s_value::integer IN (p.asn_v4, p.asn_v6);
    ELSIF s_type = 'prefix' THEN
        RETURN coalesce(p.prefix_v4 <<= s_value::cidr, false)
            OR coalesce(p.prefix_v6 <<= s_value::cidr, false)
            OR coalesce(p.address_v4 <<= s_value::cidr, false)
            OR coalesce(p.address_v6 <<= s_value::cidr, false);
    ELSIF s_type = 'probes' THEN
        RETURN p.id = ANY (string_to_array(s_value, ',')::integer[]);
    ELSIF s_type = 'msm' THEN
        RETURN EXISTS (SELECT 1 FROM assignments a
                       WHERE a.msm_id = s_value::bigint AND a.probe_id = p.id
                         AND a.removed IS NULL);
    END IF;
    RETURN false;
END
$$;

-- The system tags of probe p whose last session came from from_addr: the
-- tags the system keeps are recomputed, any other system tag is kept.
CREATE FUNCTION vt_system_tags(p probes, from_addr inet) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT t ORDER BY t), '{}') FROM unnest(
        array(SELECT x FROM unnest(p.system_tags) x WHERE x NOT IN (
              'system-ipv4-capable', 'system-ipv4-works', 'system-ipv6-capable',
              'system-ipv6-works', 'system-ipv4-rfc1918', 'system-anchor',
              'system-virtual'))
        || CASE WHEN p.address_v4 IS NOT NULL OR family(from_addr) = 4
                THEN '{system-ipv4-capable}'::text[] ELSE '{}' END
        || CASE WHEN family(from_addr) = 4
                THEN '{system-ipv4-works}'::text[] ELSE '{}' END
        || CASE WHEN p.address_v6 IS NOT NULL OR family(from_addr) = 6
                THEN '{system-ipv6-capable}'::text[] ELSE '{}' END
        || CASE WHEN family(from_addr) = 6
                THEN '{system-ipv6-works}'::text[] ELSE '{}' END
        || CASE WHEN p.address_v4 <<= '10.0.0.0/8' OR p.address_v4 <<= '172.16.0.0/12'
                  OR p.address_v4 <<= '192.168.0.0/16'
                  OR (family(from_addr) = 4 AND host(p.address_v4) <> host(from_addr))
                THEN '{system-ipv4-rfc1918}'::text[] ELSE '{}' END
        || CASE WHEN p.is_anchor THEN '{system-anchor}'::text[] ELSE '{}' END
        || CASE WHEN p.is_virtual THEN '{system-virtual}'::text[] ELSE '{}' END) t
$$;

-- Recomputes the system tags of every probe (or of one); returns the number
-- of probes whose tags changed.
CREATE FUNCTION vt_refresh_system_tags(only_probe integer DEFAULT NULL) RETURNS integer
LANGUAGE sql AS $$
    WITH u AS (
        UPDATE probes p SET system_tags = vt_system_tags(p, s.from_addr)
        FROM probes q LEFT JOIN probe_sessions s ON s.probe_id = q.id
        WHERE q.id = p.id AND (only_probe IS NULL OR p.id = only_probe)
          AND p.system_tags IS DISTINCT FROM vt_system_tags(p, s.from_addr)
        RETURNING 1)
    SELECT count(*)::integer FROM u
$$;

-- Probes keep their system tags true on every write...
CREATE FUNCTION vt_probes_tags_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.system_tags := vt_system_tags(NEW,
        (SELECT s.from_addr FROM probe_sessions s WHERE s.probe_id = NEW.id));
    RETURN NEW;
END
$$;
CREATE TRIGGER probes_system_tags BEFORE INSERT OR UPDATE ON probes
    FOR EACH ROW EXECUTE FUNCTION vt_probes_tags_trg();

-- ...and on every session change, which also wakes the scheduler (probes
-- connecting may fill measurements short of probes, anchors join meshes).
CREATE FUNCTION vt_sessions_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE probes p SET system_tags = vt_system_tags(p, NEW.from_addr)
    WHERE p.id = NEW.probe_id
      AND p.system_tags IS DISTINCT FROM vt_system_tags(p, NEW.from_addr);
    IF TG_OP = 'INSERT' OR NEW.connected IS DISTINCT FROM OLD.connected THEN
        PERFORM pg_notify('vantage_sched', NEW.probe_id::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER probe_sessions_tags AFTER INSERT OR UPDATE OF from_addr, connected
    ON probe_sessions FOR EACH ROW EXECUTE FUNCTION vt_sessions_trg();
