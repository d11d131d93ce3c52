-- Indexes so that every filter and page of the list queries is a search,
-- not a scan of a table that grows (tests/test_db_plans.c checks each).
CREATE INDEX events_cluster_type_id ON events (cluster, type, id);
CREATE INDEX events_cluster_node_id ON events (cluster, node, id);
CREATE INDEX alerts_active_id ON alerts (id) WHERE resolved_at IS NULL;
CREATE INDEX alerts_cluster_id ON alerts (cluster, id);
CREATE INDEX jobs_unfinished_id ON jobs (id) WHERE state IN ('queued', 'running');
CREATE INDEX outbox_state_id ON outbox (state, id);
DROP INDEX jobs_state; -- the partial index above serves "unfinished", in id order
