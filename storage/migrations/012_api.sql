-- 012_api: the researcher API (docs/vantage-api.md): its keys, and the JSON
-- objects of API.md ("Objects") built where the rows are (PL/pgSQL, so
-- that each pooled connection plans them once).

-- API keys.  The key itself is shown once by `vantage key add`; only its
-- SHA-256 is kept.  grants: results, create, stop, tags, participation.
CREATE TABLE api_keys (
    id               bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    label            text NOT NULL,
    key_hash         bytea NOT NULL UNIQUE,
    grants           text[] NOT NULL DEFAULT '{}',
    created          timestamptz NOT NULL DEFAULT now(),
    revoked          timestamptz
);

-- The key that created a measurement through the API (`mine=true`).
ALTER TABLE measurements
    ADD COLUMN api_key_id bigint REFERENCES api_keys(id) ON DELETE SET NULL;

CREATE FUNCTION vt_api_msm_status(s smallint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE s WHEN 0 THEN 'Specified' WHEN 1 THEN 'Scheduled'
        WHEN 2 THEN 'Ongoing' WHEN 4 THEN 'Stopped' WHEN 5 THEN 'Forced to stop'
        WHEN 6 THEN 'No suitable probes' WHEN 7 THEN 'Failed'
        WHEN 8 THEN 'Archived' ELSE 'Unknown' END
$$;

-- The measurement object; base is the server's URL ("https://host:port"),
-- with_probes adds "probes": [{"id", "url"}].
CREATE FUNCTION vt_api_msm_json(m measurements, base text, with_probes boolean)
RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT m.definition || jsonb_build_object(
        'id', m.id, 'type', m.type, 'af', m.af, 'description', m.description,
        'creation_time', extract(epoch FROM m.creation_time)::bigint,
        'start_time', m.start_time, 'stop_time', m.stop_time,
        'status', jsonb_build_object('id', m.status,
            'name', vt_api_msm_status(m.status),
            'when', extract(epoch FROM m.status_since)::bigint),
        'is_oneoff', m.is_oneoff, 'is_public', m.is_public,
        'interval', m.interval, 'spread', m.spread, 'target', m.target,
        'target_ip', CASE WHEN m.target ~ '^[0-9.]+$' OR m.target ~ ':'
                          THEN m.target END,
        'target_asn', NULL, 'group_id', m.group_id,
        'tags', to_jsonb(m.tags),
        'resolve_on_probe', coalesce(m.definition->'resolve_on_probe', 'false'),
        'probes_requested', m.probes_requested,
        'probes_scheduled', (SELECT count(*) FROM assignments a
                             WHERE a.msm_id = m.id AND a.removed IS NULL),
        'participant_count', (SELECT count(*) FROM assignments a
                              WHERE a.msm_id = m.id),
        'result', base || '/api/v2/measurements/' || m.id || '/results/')
    || CASE WHEN with_probes THEN jsonb_build_object('probes', coalesce(
           (SELECT jsonb_agg(jsonb_build_object('id', a.probe_id,
                   'url', base || '/api/v2/probes/' || a.probe_id || '/')
                   ORDER BY a.probe_id)
            FROM assignments a WHERE a.msm_id = m.id AND a.removed IS NULL),
           '[]'))
       ELSE '{}' END);
END
$$;

CREATE FUNCTION vt_api_geometry(lat double precision, lon double precision)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN lat IS NULL OR lon IS NULL THEN 'null'::jsonb
        ELSE jsonb_build_object('type', 'Point',
                                'coordinates', jsonb_build_array(lon, lat)) END
$$;

-- The probe object.
CREATE FUNCTION vt_api_probe_json(p probes) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT jsonb_build_object(
        'id', p.id, 'type', 'Probe', 'description', p.description,
        'country_code', p.country_code,
        'address_v4', host(p.address_v4), 'address_v6', host(p.address_v6),
        'prefix_v4', p.prefix_v4::text, 'prefix_v6', p.prefix_v6::text,
        'asn_v4', p.asn_v4, 'asn_v6', p.asn_v6,
        'geometry', vt_api_geometry(p.latitude, p.longitude),
        'is_anchor', p.is_anchor, 'is_public', p.is_public,
        'first_connected', extract(epoch FROM p.first_connected)::bigint,
        'last_connected', extract(epoch FROM p.last_connected)::bigint,
        'firmware_version', p.firmware_version,
        'status', jsonb_build_object('id', p.status,
            'name', CASE p.status WHEN 0 THEN 'Never Connected'
                WHEN 1 THEN 'Connected' WHEN 2 THEN 'Disconnected'
                ELSE 'Abandoned' END,
            'since', extract(epoch FROM p.status_since)::bigint),
        'status_since', extract(epoch FROM p.status_since)::bigint,
        'total_uptime', p.total_uptime,
        'tags', coalesce((SELECT jsonb_agg(jsonb_build_object('name', t, 'slug', t)
                                           ORDER BY t)
                          FROM unnest(p.tags || p.system_tags) t), '[]')));
END
$$;

-- The anchor object (an anchor is a probe with is_anchor; same id).
CREATE FUNCTION vt_api_anchor_json(p probes, base text) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT jsonb_build_object(
        'id', p.id, 'type', 'Anchor', 'fqdn', nullif(p.description, ''),
        'probe', p.id, 'is_ipv4_only', p.address_v6 IS NULL,
        'ip_v4', host(p.address_v4), 'as_v4', p.asn_v4,
        'ip_v6', host(p.address_v6), 'as_v6', p.asn_v6,
        'city', NULL, 'country', p.country_code,
        'geometry', vt_api_geometry(p.latitude, p.longitude),
        'is_disabled', p.status = 3,
        'date_live', extract(epoch FROM p.first_connected)::bigint,
        'tls_ok', NULL));
END
$$;

-- Only the keys of o named in fields (all when fields is NULL or empty);
-- "id" always stays.
CREATE FUNCTION vt_api_fields(o jsonb, fields text[]) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN fields IS NULL OR cardinality(fields) = 0 THEN o
        ELSE coalesce((SELECT jsonb_object_agg(k, v) FROM jsonb_each(o) e(k, v)
                       WHERE k = 'id' OR k = ANY (fields)), '{}') END);
END
$$;
