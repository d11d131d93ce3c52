-- The audit trail (issue 11): every action, login and logout, who made it
-- (actor, role, how they authenticated, their address), what it named
-- (target, parameters with secrets removed), when, and the answer.
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,      -- ms since the epoch
  actor TEXT NOT NULL,      -- token or user name; "" when unknown
  role TEXT NOT NULL,       -- open, viewer, operator, admin
  via TEXT NOT NULL,        -- token, session, anonymous, none
  source TEXT NOT NULL,     -- the client's address
  action TEXT NOT NULL,     -- "POST /api/v1/clusters/{name}/failover", "login", ...
  target TEXT NOT NULL,     -- the path's parameters, "/"-separated
  params TEXT NOT NULL,     -- the body as JSON, secrets replaced by "(removed)"
  status INTEGER NOT NULL,  -- the HTTP status answered
  outcome TEXT NOT NULL     -- ok, refused, failed
);
CREATE INDEX audit_ts ON audit (ts);
CREATE INDEX audit_actor_id ON audit (actor, id);
CREATE INDEX audit_action_id ON audit (action, id);
CREATE INDEX audit_outcome_id ON audit (outcome, id);
