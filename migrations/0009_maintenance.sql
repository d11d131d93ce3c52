-- Maintenance windows (POST/DELETE /api/v1/clusters/{name}/maintenance):
-- while one is open every replica's replica-priority is 0, so Sentinel
-- promotes none. The row keeps the priorities the replicas had before
-- (JSON {addr: priority}), written before any is changed: it is what puts
-- them back at the end, at expiry, on DELETE, and at the next start after a
-- crash of hapanel. ended_at is NULL while the window is open.
CREATE TABLE maintenance (
    id          INTEGER PRIMARY KEY,
    cluster     TEXT NOT NULL,
    started_at  INTEGER NOT NULL,          -- ms
    until       INTEGER NOT NULL,          -- ms
    reason      TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT '',
    priorities  TEXT NOT NULL DEFAULT '{}',
    state       TEXT NOT NULL,             -- starting, active, ended, failed
    start_job   INTEGER,
    end_job     INTEGER,
    ended_at    INTEGER,                   -- ms
    end_cause   TEXT NOT NULL DEFAULT ''   -- delete, expired, failed
);
CREATE INDEX maintenance_open ON maintenance (cluster) WHERE ended_at IS NULL;
