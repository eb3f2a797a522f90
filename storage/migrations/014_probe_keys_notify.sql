-- 014_probe_keys_notify: gateways answer public-key authentication from a
-- key cache.  A probe added (or its key changed, or removed) NOTIFYs
-- vantage_keys, so gateways reload their cache at once (at most once a
-- second) instead of refusing a new probe's first connection.
CREATE OR REPLACE FUNCTION vt_probe_keys_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vantage_keys', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER probes_keys_notify
    AFTER INSERT OR DELETE OR UPDATE OF pubkey, key_type ON probes
    FOR EACH STATEMENT EXECUTE FUNCTION vt_probe_keys_notify();
