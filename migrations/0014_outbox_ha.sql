-- Exactly-once notifications across a fleet of panels on etcd (issue 15).
-- Every instance keeps writing outbox rows; only the leader sends, after a
-- claim in etcd under <prefix>/claims/<channel>/<gkey>. gkey is computed
-- alike on every instance from the row's content (master/<cluster>,
-- alert/<cluster>/<rule>/<node>, job/<instance>/<job id>/<what>,
-- ha/term/<term>); gstate and gat are the state and time the claim stores
-- for a subject's transitions (NULL gstate: a create-if-absent claim).
-- claimed_at: when this instance won the claim (retries skip it); sent_by:
-- the instance that sent the message, this one or another (state
-- 'skipped': another instance claimed it). NULL gkey: a single panel's row.
ALTER TABLE outbox ADD COLUMN gkey TEXT;
ALTER TABLE outbox ADD COLUMN gstate TEXT;
ALTER TABLE outbox ADD COLUMN gat INTEGER;
ALTER TABLE outbox ADD COLUMN sent_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_at INTEGER;
