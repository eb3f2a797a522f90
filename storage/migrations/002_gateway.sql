-- 002_gateway: command pushes delivered by the gateway holding the probe.
--
-- `vantage probe push` inserts a row and NOTIFYs vantage_push with its id;
-- the gateway holding the probe's KEEP session claims it (status sending),
-- runs the command dialogue over a forwarded-tcpip channel and records the
-- outcome (ok or failed) for the command to print.
CREATE TABLE probe_pushes (
    id               bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    probe_id         integer NOT NULL REFERENCES probes(id) ON DELETE CASCADE,
    batch            text NOT NULL,                 -- CRONTAB/CRONLINE/ONEOFF lines
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sending', 'ok', 'failed', 'expired')),
    outcome          text,                          -- OK or the probe's error word
    gateway          text,                          -- gateway that delivered it
    created          timestamptz NOT NULL DEFAULT now(),
    finished         timestamptz
);
CREATE INDEX probe_pushes_pending ON probe_pushes (probe_id) WHERE status = 'pending';
