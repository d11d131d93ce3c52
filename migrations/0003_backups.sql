-- The backup catalogue: one row per verified RDB snapshot kept on disk.
CREATE TABLE backups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster     TEXT    NOT NULL,
    node        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,   -- ms since the epoch
    size_bytes  INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    verified    INTEGER NOT NULL,   -- 1: header and CRC64 checked; 0: no checksum in the file
    path        TEXT    NOT NULL,
    job_id      INTEGER
);
CREATE INDEX backups_cluster_id ON backups (cluster, id);
