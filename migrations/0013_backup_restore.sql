-- Key figures and restore checks of the backups (issue 14 item 7). What the
-- RDB walker counted in the file once it was verified: keys, keys with an
-- expiry, a deterministic sample of key names with their types (JSON
-- [{db, key, type, expires}]) and, when the walk stopped early (module data)
-- or failed, why. NULL keys: not walked yet (a backup older than this
-- migration is walked at its first restore check). Then the last restore
-- check: the file loaded into a scratch redis-server and compared with
-- these figures.
ALTER TABLE backups ADD COLUMN keys INTEGER;
ALTER TABLE backups ADD COLUMN expires INTEGER;
ALTER TABLE backups ADD COLUMN sample TEXT;
ALTER TABLE backups ADD COLUMN walk_error TEXT;
ALTER TABLE backups ADD COLUMN restore_checked_at INTEGER;  -- ms; NULL: never checked
ALTER TABLE backups ADD COLUMN restore_ok INTEGER;          -- 1 restorable, 0 the check failed
ALTER TABLE backups ADD COLUMN restore_detail TEXT;         -- what was compared, or why it failed
