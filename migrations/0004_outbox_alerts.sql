-- The notification outbox: a row is written before any send and marked when
-- delivered, so a restart resumes what is pending and never resends what was
-- delivered. (channel, key) is unique: one message per channel per thing.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    channel      TEXT    NOT NULL,
    key          TEXT    NOT NULL,   -- failover:<id>, alert:<id>:fired, job:<id>:failed, test:<ts>
    severity     TEXT    NOT NULL,
    payload      TEXT    NOT NULL,   -- the JSON object a webhook receives
    text         TEXT    NOT NULL,   -- the line a chat receives
    state        TEXT    NOT NULL DEFAULT 'pending', -- pending, delivered, failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,   -- ms: not before
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER,
    UNIQUE (channel, key)
);
CREATE INDEX outbox_due ON outbox (channel, state, next_at);

-- Alerts: one row per firing, resolved in place.
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster     TEXT    NOT NULL,
    rule        TEXT    NOT NULL,    -- master_down, replica_down, lag, memory, quorum_lost, split_brain, backup_stale, backup_failed
    node        TEXT    NOT NULL DEFAULT '',
    severity    TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    resolved_at INTEGER,
    acked_by    TEXT,
    acked_at    INTEGER,
    ack_comment TEXT
);
CREATE INDEX alerts_open ON alerts (cluster, rule, node, resolved_at);
