-- Every Sentinel event and every panel event, one row each. AUTOINCREMENT keeps
-- ids increasing for ever, so "before=<id>" paging never repeats or skips a row.
CREATE TABLE events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    ts       INTEGER NOT NULL,              -- ms since the epoch
    cluster  TEXT    NOT NULL DEFAULT '',
    type     TEXT    NOT NULL,
    severity TEXT    NOT NULL DEFAULT 'info',
    source   TEXT    NOT NULL DEFAULT '',
    node     TEXT    NOT NULL DEFAULT '',
    message  TEXT    NOT NULL DEFAULT '',
    details  TEXT    NOT NULL DEFAULT '{}'  -- a JSON object
);
CREATE INDEX events_cluster_id ON events (cluster, id);
CREATE INDEX events_type_id ON events (type, id);
CREATE INDEX events_node_id ON events (node, id);
CREATE INDEX events_ts ON events (ts);
