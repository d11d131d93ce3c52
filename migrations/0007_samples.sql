-- The history charts (issue 13): one row per node per poll (samples_raw),
-- rolled up by the writer into minute and hour buckets as each minute and
-- hour completes, each resolution kept as long as [history] says. A node is
-- named once, in sample_nodes, and its rows carry its small id: the address
-- and the cluster name are not repeated in every row. The sample tables are
-- WITHOUT ROWID, keyed (node, ts): the key is the row, with no second copy of
-- it in an index, and a node's time range is one search.
CREATE TABLE sample_nodes (
  id INTEGER PRIMARY KEY,
  cluster TEXT NOT NULL,
  node TEXT NOT NULL,        -- host:port, as Sentinel announces it
  UNIQUE (cluster, node)
);
-- Values: NULL when unknown (a master has no lag). Buckets hold the largest
-- value of their samples (the worst lag, the peak memory and clients) but for
-- ops, their mean; n is how many samples a bucket has.
CREATE TABLE samples_raw (
  node INTEGER NOT NULL,     -- sample_nodes.id
  ts INTEGER NOT NULL,       -- seconds since the epoch: at most one row per node and second
  lag_bytes INTEGER,         -- a replica's bytes behind its master
  lag_ms INTEGER,            -- since a replica's last ack to its master
  mem INTEGER,               -- used_memory
  maxmem INTEGER,            -- maxmemory, 0: no limit
  clients INTEGER,           -- connected_clients
  ops INTEGER,               -- commands per second since the previous poll
  PRIMARY KEY (node, ts)
) WITHOUT ROWID;
CREATE TABLE samples_minute (
  node INTEGER NOT NULL,
  ts INTEGER NOT NULL,       -- the minute's first second
  n INTEGER NOT NULL,
  lag_bytes INTEGER, lag_ms INTEGER, mem INTEGER, maxmem INTEGER, clients INTEGER, ops INTEGER,
  PRIMARY KEY (node, ts)
) WITHOUT ROWID;
CREATE TABLE samples_hour (
  node INTEGER NOT NULL,
  ts INTEGER NOT NULL,       -- the hour's first second
  n INTEGER NOT NULL,
  lag_bytes INTEGER, lag_ms INTEGER, mem INTEGER, maxmem INTEGER, clients INTEGER, ops INTEGER,
  PRIMARY KEY (node, ts)
) WITHOUT ROWID;
-- How far the rollups went: 'minute' (every minute before it is in
-- samples_minute) and 'hour' (every hour before it is in samples_hour).
CREATE TABLE samples_state (
  k TEXT PRIMARY KEY,
  v INTEGER NOT NULL
) WITHOUT ROWID;
