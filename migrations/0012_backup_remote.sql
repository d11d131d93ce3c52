-- Off-site copies of the backups (issue 14 item 6): each backup taken while
-- [s3] is configured gets an upload queued durably with its catalogue row
-- (remote_state 'pending'), which the uploader retries with backoff until
-- 'uploaded' or, after max_attempts, 'failed'. Remote copies that retention
-- or a DELETE no longer keeps are queued in backup_remote_deletes: the row
-- outlives the backup's own, so a remote delete that fails is retried, not
-- forgotten. remote_state NULL: taken while no remote was configured.
ALTER TABLE backups ADD COLUMN remote_key TEXT;
ALTER TABLE backups ADD COLUMN remote_state TEXT;   -- pending, uploaded, failed, deleting, deleted
ALTER TABLE backups ADD COLUMN remote_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backups ADD COLUMN remote_next_at INTEGER;      -- ms: the next attempt, while pending
ALTER TABLE backups ADD COLUMN remote_error TEXT;           -- the last attempt's, never a secret
ALTER TABLE backups ADD COLUMN remote_uploaded_at INTEGER;  -- ms
CREATE INDEX backups_remote_due ON backups (remote_next_at) WHERE remote_state = 'pending';

CREATE TABLE backup_remote_deletes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    remote_key  TEXT    NOT NULL UNIQUE,
    backup_id   INTEGER NOT NULL,   -- the backup it was the copy of (its row may be gone)
    cluster     TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL,   -- ms
    last_error  TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX backup_remote_deletes_due ON backup_remote_deletes (next_at);
