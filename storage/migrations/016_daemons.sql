-- 016_daemons: every daemon records itself, so that `vantage status` can
-- tell who runs, where, since when, and who went silent.
--
-- A daemon inserts its row at start, refreshes last_seen (and info, a few
-- numbers of its own such as the scheduler's last pass) every interval_s
-- seconds, and sets stopped when it ends cleanly.  A row whose last_seen
-- is older than three intervals and that never stopped belongs to a
-- daemon that died or lost the database.  Gateways keep their own row in
-- gateways as well (registration balances on it).
CREATE TABLE daemons (
    id               bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
    kind             text NOT NULL
                     CHECK (kind IN ('gateway', 'worker', 'scheduler', 'api',
                                     'archiver', 'probe')),
    name             text NOT NULL,                 -- e.g. the gateway's --name
    host             text NOT NULL,
    pid              integer NOT NULL,
    started          timestamptz NOT NULL DEFAULT now(),
    last_seen        timestamptz NOT NULL DEFAULT now(),
    stopped          timestamptz,                   -- a clean end
    interval_s       integer NOT NULL,              -- heartbeat period
    metrics          text,                          -- its --metrics ADDR:PORT
    info             jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX daemons_kind ON daemons (kind, last_seen);
