#!/usr/bin/env python3
"""it_failover_graceful: a graceful switchover to a named replica while a
Sentinel-aware client writes continuously loses no acknowledged write.

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms, failover-timeout
3000 ms). A Writer (harness.Writer) sends SET w:<n> <n> through Sentinel the
whole time. POST /failover {mode: graceful, target: <replica>, reason: test}
with the operator token -> 202; the job succeeds; the target is the master
for every Sentinel and for the API; result.new_master is the target and
writes_paused_ms is within the pause limit (default: half of down-after);
every acknowledged write is on the new master; the failover history has
exactly one row (graceful, by the operator, reason "test", succeeded) and no
"automatic" row; every node's replica-priority is what it was before."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, Hapanel, log, run_test, wait_for  # noqa: E402

NAME = "mymaster"
DOWN_AFTER_MS = 1000
MAX_PAUSE_MS = DOWN_AFTER_MS // 2  # the recipe's default


def test(env):
    topo = env.topology(down_after_ms=DOWN_AFTER_MS, failover_timeout_ms=3000)
    hp = env.hapanel(topo)
    old = topo.current_master()
    r1, r2 = topo.initial_replicas()
    hp.wait_nodes_up([old, r1, r2], NAME, 10)
    prio0 = topo.priorities()
    log("replica-priority before: %s" % prio0)
    assert hp.failovers(cluster=NAME) == [], "failover rows before any failover"
    assert hp.jobs() == [], "jobs before any request"

    w = env.writer(topo)
    time.sleep(1.0)
    target = r2
    acked_before = w.acked
    t_post = time.monotonic()
    r = hp.post("/api/v1/clusters/%s/failover" % NAME,
                {"mode": "graceful", "target": target, "reason": "test"})
    assert r.status == 202, "POST failover -> %r" % r
    job_id = r.body["job_id"]
    log("job %s accepted; writer had %d acks" % (job_id, acked_before))

    jb = hp.wait_job(job_id, 60)
    t_done = time.monotonic()
    steps = Hapanel.steps_text(jb)
    log("job %s %s after %.1f s; steps:\n%s" % (job_id, jb["state"], t_done - t_post, steps))
    assert jb["state"] == "succeeded", "job failed: %s\n%s" % (jb.get("error"), steps)
    assert jb.get("kind") == "failover" and jb.get("cluster") == NAME, jb
    res = jb.get("result") or {}
    assert res.get("new_master") == target, "result.new_master %r, want the target %s" % (
        res.get("new_master"), target)
    assert res.get("old_master") == old, res
    assert res.get("mode") == "graceful", res
    paused = res.get("writes_paused_ms")
    assert isinstance(paused, (int, float)), "result has no writes_paused_ms: %s" % res
    m = re.search(r"pause at most (\d+) ms", steps)
    assert m and int(m.group(1)) == MAX_PAUSE_MS, "steps do not say the pause limit %d ms" % MAX_PAUSE_MS
    assert 0 <= paused <= MAX_PAUSE_MS, "writes_paused_ms %s is above the pause limit %d ms" % (
        paused, MAX_PAUSE_MS)
    log("writes paused %s ms (limit %d)" % (paused, MAX_PAUSE_MS))

    # the target is the master for every Sentinel, itself and the API
    assert topo.agreed_master(10) == target, topo.sentinel_masters()
    assert topo.role(old) == "slave", "the old master %s is not a replica" % old
    seen = {}

    def api_master():
        seen["m"] = (hp.cluster(NAME).get("master") or {}).get("addr")
        return seen["m"] == target
    wait_for(api_master, 5, 0.1, msg=lambda: "API master %s (shows %r)" % (target, seen.get("m")))

    # writes flow again to the new master
    t_check = time.monotonic()
    wait_for(lambda: w.acked_since(t_check) and w.masters[-1] == target, 5, 0.05,
             msg=lambda: "writer acks on %s (%s)" % (target, w.summary()))
    time.sleep(1.5)
    w.stop()
    log("writer: %s" % w.summary())
    log("largest write gap around the switchover: %.0f ms" % (w.max_gap(t_post, t_done + 1) * 1000))
    assert w.acked > 500, "too few writes to mean anything: %d" % w.acked
    lost = w.lost(topo)
    log("acknowledged writes lost: %d of %d (read back from %s)" % (lost, w.acked, w.lost_master))
    assert lost == 0, "%d of %d acknowledged writes lost, e.g. %s" % (lost, w.acked, w.missing)

    # one failover row, the job's; no automatic row for the same switch
    time.sleep(max(0.0, 3.0 - (time.monotonic() - t_done)))
    rows = hp.failovers(cluster=NAME)
    log("failover rows: %s" % rows)
    assert not [x for x in rows if x.get("kind") == "automatic"], \
        "the switchover was also recorded as an automatic failover: %s" % rows
    assert len(rows) == 1, "want exactly 1 failover row, got %d: %s" % (len(rows), rows)
    row = rows[0]
    assert row.get("kind") == "graceful", row
    assert row.get("cluster") == NAME, row
    assert row.get("status") == "succeeded", row
    assert row.get("reason") == "test", row
    assert row.get("old_master") == old and row.get("new_master") == target, row
    actor = row.get("actor")
    assert isinstance(actor, str) and actor and OPERATOR_TOKEN not in actor, \
        "actor %r: must name the token's holder, not be empty or the token" % actor
    assert row.get("writes_paused_ms") == paused, (row, paused)
    assert isinstance(row.get("started_at"), int) and isinstance(row.get("ended_at"), int), row
    assert row["ended_at"] >= row["started_at"], row
    assert jb.get("actor") == actor, "job actor %r, failover row actor %r" % (jb.get("actor"), actor)

    # every replica-priority as it was (the target's was steered to 1)
    prio1 = topo.priorities()
    log("replica-priority after: %s" % prio1)
    assert prio1 == prio0, "replica-priority not restored: before %s after %s" % (prio0, prio1)
    assert len(hp.jobs()) == 1, hp.jobs()


if __name__ == "__main__":
    run_test(test)
