-- Failover drills (POST /api/v1/clusters/{name}/drills): one row per drill,
-- written when it starts (state running) and again when it ends (ok or
-- failed) with its report, a JSON object with the figures and the timeline.
-- A drill still running at the next start of hapanel was cut by a crash:
-- the drill kind's recover function marks it failed.
CREATE TABLE drills (
    id          INTEGER PRIMARY KEY,
    cluster     TEXT NOT NULL,
    mode        TEXT NOT NULL,             -- graceful, force, kill-master
    job_id      INTEGER,
    started_at  INTEGER NOT NULL,          -- ms
    ended_at    INTEGER,                   -- ms
    state       TEXT NOT NULL,             -- running, ok, failed
    report      TEXT                       -- JSON
);
CREATE INDEX drills_cluster ON drills (cluster, id);
