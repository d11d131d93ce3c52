#!/usr/bin/env python3
"""it_failover_force: a forced failover with the old master still alive
demotes (fences) the old master within 2 s of the new master's promotion.

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms, failover-timeout
3000 ms), a Writer writing through Sentinel the whole time. While INFO
replication is polled on every node every 20 ms (harness.RoleWatcher),
POST /failover {mode: force} -> 202; the job succeeds; the time between the
first "role:master" of the new master and the first "role:slave" of the old
one must be < 2 s (Sentinel alone leaves it a writable master for ~8-10 s).
The history has one row, kind "forced", and no automatic row. The old master
still answers, so its writes pause until the promotion (at most the pause
limit, reported as writes_paused_ms) and no acknowledged write is lost; a
forced failover used to let it take writes until the fence (73-113 lost)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hapanel, RoleWatcher, log, run_test, wait_for  # noqa: E402

NAME = "mymaster"
MAX_DEMOTION_S = 2.0


def test(env):
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    hp = env.hapanel(topo)
    old = topo.current_master()
    replicas = topo.initial_replicas()
    hp.wait_nodes_up([old] + replicas, NAME, 10)
    prio0 = topo.priorities()

    watch = RoleWatcher(topo, interval=0.02).start()
    env.on_cleanup(watch.stop)
    w = env.writer(topo)
    time.sleep(1.0)

    t_post = time.monotonic()
    r = hp.post("/api/v1/clusters/%s/failover" % NAME, {"mode": "force", "reason": "force test"})
    assert r.status == 202, "POST failover -> %r" % r
    jb = hp.wait_job(r.body["job_id"], 60)
    t_done = time.monotonic()
    steps = Hapanel.steps_text(jb)
    log("job %s %s after %.1f s; steps:\n%s" % (jb["id"], jb["state"], t_done - t_post, steps))
    assert jb["state"] == "succeeded", "job failed: %s\n%s" % (jb.get("error"), steps)
    res = jb.get("result") or {}
    new = res.get("new_master")
    assert new in replicas, "result.new_master %r is not one of the replicas %s" % (new, replicas)
    assert res.get("old_master") == old and res.get("mode") == "force", res
    assert 0 < res.get("writes_paused_ms", 0) <= 500, \
        "a forced failover with a live master pauses its writes, bounded: %s" % res

    # the old master becomes a replica (bounded), then compare the times
    wait_for(lambda: watch.roles.get(old) == "slave", 10, 0.02,
             msg=lambda: "old master %s seen as role:slave (roles %s)" % (old, watch.roles))
    watch.stop()
    t_new = watch.first(new, "master", after=t_post)
    t_old = watch.first(old, "slave", after=t_post)
    log("role changes: %s" % [("%+.3f" % (t - t_post), a, r) for t, a, r in watch.changes])
    assert t_new is not None, "never saw %s as role:master" % new
    assert t_old is not None, "never saw %s as role:slave" % old
    delay = t_old - t_new
    log("new master %s role:master at +%.3f s, old master %s role:slave at +%.3f s: "
        "demoted %.0f ms after the promotion (%d polls)" % (
            new, t_new - t_post, old, t_old - t_post, delay * 1000, watch.polls))
    assert delay < MAX_DEMOTION_S, "the old master was demoted %.2f s after the promotion (limit %.1f s)" % (
        delay, MAX_DEMOTION_S)
    assert "fenced" in steps, "no fencing step:\n%s" % steps

    assert topo.agreed_master(10) == new, topo.sentinel_masters()
    time.sleep(1.0)
    w.stop()
    lost = w.lost(topo)
    log("writer: %s" % w.summary())
    log("acknowledged writes lost in the forced failover: %d of %d" % (lost, w.acked))
    assert lost == 0, "%d of %d acknowledged writes lost, e.g. %s" % (lost, w.acked, w.missing)

    time.sleep(max(0.0, 3.0 - (time.monotonic() - t_done)))
    rows = hp.failovers(cluster=NAME)
    log("failover rows: %s" % rows)
    assert [x.get("kind") for x in rows] == ["forced"], \
        "want exactly one failover row of kind forced: %s" % rows
    row = rows[0]
    assert row.get("status") == "succeeded" and row.get("old_master") == old and \
        row.get("new_master") == new and row.get("reason") == "force test", row
    assert 0 < (row.get("writes_paused_ms") or 0) <= 500, row
    assert topo.priorities() == prio0, "a forced failover changed replica-priority: %s -> %s" % (
        prio0, topo.priorities())


if __name__ == "__main__":
    run_test(test)
