-- 005_crontab_push: pushes of a probe's whole crontab, built by the gateway
-- from the probe's assignments (controller/scheduler/crontab.h) when the
-- probe connects and on NOTIFY vantage_crontab.
ALTER TABLE probe_pushes
    ADD COLUMN kind       text NOT NULL DEFAULT 'manual'
                          CHECK (kind IN ('manual', 'crontab')),
    ADD COLUMN oneoffs_at bigint;   -- the batch's one-offs were offered at this time
