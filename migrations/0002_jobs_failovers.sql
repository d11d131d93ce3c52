-- Jobs: every action (failover, resync, Sentinel reset, ...) with its steps, so
-- a restart can report an interrupted job and undo what it changed (undo).
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,             -- failover, resync, sentinel-reset
    cluster     TEXT    NOT NULL,
    state       TEXT    NOT NULL,             -- queued, running, succeeded, failed
    params      TEXT    NOT NULL DEFAULT '{}',
    steps       TEXT    NOT NULL DEFAULT '[]', -- [{ts, message}]
    error       TEXT,
    result      TEXT,
    undo        TEXT    NOT NULL DEFAULT '{}', -- what to put back after a crash
    actor       TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    ended_at    INTEGER
);
CREATE INDEX jobs_cluster_id ON jobs (cluster, id);
CREATE INDEX jobs_state ON jobs (state);

-- One row per failover, automatic (assembled from Sentinel events), forced or
-- graceful (from its job).
CREATE TABLE failovers (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster          TEXT    NOT NULL,
    kind             TEXT    NOT NULL,        -- automatic, forced, graceful
    old_master       TEXT    NOT NULL DEFAULT '',
    new_master       TEXT    NOT NULL DEFAULT '',
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER,
    duration_ms      INTEGER,
    writes_paused_ms INTEGER,
    status           TEXT    NOT NULL,        -- succeeded, failed, aborted
    actor            TEXT    NOT NULL DEFAULT '',
    reason           TEXT    NOT NULL DEFAULT '',
    job_id           INTEGER
);
CREATE INDEX failovers_cluster_id ON failovers (cluster, id);
