-- 011_push_claims: a one-off reaches a probe in at most one acknowledged
-- push; claims of pushes have a lease; orphaned pushes are expired; a
-- result is stored once per measurement, probe and timestamp.
--
-- A crontab push carries no one-offs while it waits.  The gateway that
-- claims it (status 'sending') takes the probe's due one-offs in the
-- claim's transaction: assignments.push_id names the push holding each.
-- A one-off held by a push is due to no other push, so two pushes built
-- or claimed at once cannot both carry it (a second claim waits for the
-- row lock and then sees push_id set).  When the push ends, the trigger
-- below settles its one-offs: 'ok' (the probe acknowledged) delivers them,
-- never to be sent again; any other end lets them go, and a later push
-- offers them again.

ALTER TABLE probe_pushes
    ADD COLUMN claimed  timestamptz,               -- the current claim (status 'sending')
    ADD COLUMN attempts integer NOT NULL DEFAULT 0,  -- claims so far
    ADD COLUMN expires  timestamptz,               -- still pending then: 'expired'
    DROP COLUMN oneoffs_at;
-- claims older than this migration run their lease from now
UPDATE probe_pushes SET claimed = now() WHERE status = 'sending';
CREATE INDEX probe_pushes_sending ON probe_pushes (claimed) WHERE status = 'sending';
CREATE INDEX probe_pushes_crontab ON probe_pushes (probe_id, id) WHERE kind = 'crontab';

ALTER TABLE assignments
    ADD COLUMN push_id bigint REFERENCES probe_pushes(id) ON DELETE SET NULL,
    DROP COLUMN offered;
CREATE INDEX assignments_push ON assignments (push_id) WHERE push_id IS NOT NULL;

-- The one-offs due to probe p: Scheduled or Ongoing, assigned, not
-- delivered, held by no push.
CREATE FUNCTION vt_oneoffs_due(p integer) RETURNS SETOF assignments
LANGUAGE sql STABLE AS $$
    SELECT a.* FROM assignments a JOIN measurements m ON m.id = a.msm_id
    WHERE a.probe_id = p AND a.removed IS NULL AND a.delivered IS NULL
      AND a.push_id IS NULL AND m.is_oneoff AND m.status IN (1, 2)
$$;

-- A push leaving 'sending' settles the one-offs it holds.  Delivered ones
-- wake the scheduler (a one-off delivered everywhere is Stopped); when
-- more are due than the push could take, the probe's crontab is asked for
-- again (NOTIFY vantage_crontab).
CREATE FUNCTION vt_push_end_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'ok' THEN
        UPDATE assignments SET delivered = now(), push_id = NULL
        WHERE push_id = NEW.id;
        IF FOUND THEN
            PERFORM pg_notify('vantage_sched', '');
            IF EXISTS (SELECT 1 FROM vt_oneoffs_due(NEW.probe_id)) THEN
                PERFORM pg_notify('vantage_crontab', NEW.probe_id::text);
            END IF;
        END IF;
    ELSE
        UPDATE assignments SET push_id = NULL WHERE push_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER probe_pushes_end AFTER UPDATE OF status ON probe_pushes
    FOR EACH ROW WHEN (OLD.status = 'sending' AND NEW.status <> 'sending')
    EXECUTE FUNCTION vt_push_end_trg();

-- The one place where pushes nobody will finish are settled; each gateway
-- calls it before it looks for pushes (me: its name; restarted: it has
-- just started, so none of its claims is live):
--  * a claim of a gateway that restarted, or older than lease_s seconds
--    (its gateway died or lost the database), is lost: the push goes back
--    to pending (failed, outcome LOST, after 5 claims) and its one-offs
--    are let go;
--  * a pending push past its expiry, a crontab push with a newer crontab
--    push of the same probe, and a push pending for 10 minutes for a
--    probe connected nowhere, are expired.
-- Returns the number of pushes changed.
CREATE FUNCTION vt_pushes_tidy(me text, restarted boolean, lease_s integer)
RETURNS integer LANGUAGE sql AS $$
    WITH lost AS (
        UPDATE probe_pushes SET
            status = CASE WHEN attempts >= 5 THEN 'failed' ELSE 'pending' END,
            outcome = CASE WHEN attempts >= 5 THEN 'LOST' END,
            finished = CASE WHEN attempts >= 5 THEN now() END,
            gateway = NULL, claimed = NULL
        WHERE status = 'sending'
          AND ((restarted AND gateway = me)
               OR claimed < now() - make_interval(secs => lease_s))
        RETURNING 1),
    why AS (
        SELECT p.id, CASE
            WHEN p.expires <= now() THEN 'EXPIRED'
            WHEN p.kind = 'crontab' AND EXISTS (SELECT 1 FROM probe_pushes q
                 WHERE q.probe_id = p.probe_id AND q.kind = 'crontab'
                   AND q.id > p.id) THEN 'SUPERSEDED'
            WHEN p.created < now() - interval '10 minutes'
                 AND NOT EXISTS (SELECT 1 FROM probe_sessions s
                     WHERE s.probe_id = p.probe_id AND s.connected)
                 THEN 'ORPHANED' END AS outcome
        FROM probe_pushes p WHERE p.status = 'pending'),
    gone AS (
        UPDATE probe_pushes p SET status = 'expired', finished = now(),
            outcome = why.outcome
        FROM why WHERE p.id = why.id AND why.outcome IS NOT NULL
          AND p.status = 'pending'
        RETURNING 1)
    SELECT ((SELECT count(*) FROM lost) + (SELECT count(*) FROM gone))::integer
$$;

-- Results: one per measurement, probe and timestamp.  A probe may run a
-- one-off twice (a stock probe after a retry whose OK was lost); the
-- second result of the run is a duplicate even though its line differs.
-- The digest (of the probe's line) stays as the row's fingerprint.
DELETE FROM results r USING results o
WHERE o.day = r.day AND o.msm_id = r.msm_id AND o.prb_id = r.prb_id
  AND o.ts = r.ts AND (o.stored, o.digest) < (r.stored, r.digest);
ALTER TABLE results DROP CONSTRAINT results_pkey;
ALTER TABLE results ADD PRIMARY KEY (day, msm_id, prb_id, ts);
