-- Alerts say when their condition began: started_at is now the time the
-- rule's condition first held (before the rule's hold time, e.g. a master
-- down for 10 s fires at 10 s but started at 0 s), and fired_at the time the
-- rule fired. Rows from before this migration only know the firing time:
-- it stays as both.
ALTER TABLE alerts ADD COLUMN fired_at INTEGER;
UPDATE alerts SET fired_at = started_at;

-- The history's severity filter (GET /api/v1/events?severity=, History):
-- a search in id order, not a scan of the table.
CREATE INDEX events_severity_id ON events (severity, id);
