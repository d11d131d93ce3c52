#!/usr/bin/env python3
"""it_failover_sentinel_view: no write is paused for a failover that the
Sentinel running it would refuse by its own view of the replicas.

Sentinel selects a replica by what it last read (its INFO of each replica is
up to 10 s old), not by what the replica says now. The reproduction: set
replica-priority 0 on every replica, wait until every Sentinel has read it,
set it back to 100, wait until hapanel shows 100 — hapanel sees promotable
replicas, the Sentinel still sees priority 0 and would answer SENTINEL
FAILOVER with -NOGOODSLAVE. Before, the job paused writes and then failed.

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms), a writer running:
  - in that state the plan's state is "wait", its blocker names both
    replicas and "replica-priority 0", and the per-Sentinel view of each
    replica says not eligible, why;
  - a graceful switchover with max_wait_ms 500 fails before changing
    anything: its error names each replica and the rule, no step says writes
    were paused, the writer's longest gap meanwhile is under 300 ms and the
    master is unchanged;
  - in the same state, a graceful switchover with the default wait first
    says what it waits for, then (once the Sentinel has re-read its INFO)
    pauses, succeeds, and a replica is master;
  - 0 acknowledged writes lost."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hapanel, log, parse_kv, run_test, wait_for  # noqa: E402

NAME = "mymaster"
FO = "/api/v1/clusters/%s/failover" % NAME
PLAN = "/api/v1/clusters/%s/failover/plan" % NAME


def sentinel_priorities(topo, replicas):
    out = {}
    for s in topo.sentinel_addrs:
        with topo.client(s, timeout=1) as c:
            reps = [parse_kv(x) for x in c.cmd("SENTINEL", "REPLICAS", NAME)]
        out[s] = {r["name"]: int(r["slave-priority"]) for r in reps if r["name"] in replicas}
    return out


def make_stale(topo, hp, replicas):
    """Leaves the running Sentinel with priority 0 for every replica while
    they say 100. Returns the plan that shows it."""
    for attempt in range(3):
        for a in replicas:
            with topo.client(a) as c:
                c.cmd("CONFIG", "SET", "replica-priority", "0")
        wait_for(lambda: all(v == 0 for p in sentinel_priorities(topo, replicas).values()
                             for v in p.values()), 15, 0.1,
                 msg="every Sentinel reads replica-priority 0")
        for a in replicas:
            with topo.client(a) as c:
                c.cmd("CONFIG", "SET", "replica-priority", "100")
        hp.wait_for(lambda: all(n["priority"] == 100 for n in hp.cluster(NAME)["replicas"]), 5,
                    msg="hapanel shows priority 100 again")
        time.sleep(0.6)  # a poll of the Sentinels' views
        p = hp.get(PLAN).body
        if p["state"] == "wait":
            return p
        log("attempt %d: the Sentinel had already re-read its INFO (%s); again" % (attempt + 1, p["state"]))
    raise AssertionError("could not catch the Sentinel with a stale view in 3 attempts")


def test(env):
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    hp = env.hapanel(topo)
    old = topo.current_master()
    replicas = topo.initial_replicas()
    hp.wait_nodes_up([old] + replicas, NAME, 10)
    w = env.writer(topo)

    # the plan explains it
    p = make_stale(topo, hp, replicas)
    log("plan: %s: %s" % (p["state"], p["blocker"]))
    assert "replica-priority 0" in p["blocker"] and all(a in p["blocker"] for a in replicas), p
    for r in p["replicas"]:
        v = [x for x in r["sentinels"] if x["sentinel"] == p["sentinel"]][0]
        assert r["panel"]["eligible"] is True and v["eligible"] is False, r
        assert "replica-priority 0" in v["why_not"] and v["priority"] == 0, v

    # a short wait: refused before anything is changed
    t0 = time.monotonic()
    r = hp.post(FO, {"mode": "graceful", "max_wait_ms": 500, "reason": "stale view"})
    assert r.status == 202, r
    jb = hp.wait_job(r.body["job_id"], 30)
    t1 = time.monotonic()
    steps = Hapanel.steps_text(jb)
    log("short wait: %s: %s\n%s" % (jb["state"], jb.get("error"), steps))
    assert jb["state"] == "failed", jb
    err = jb.get("error") or ""
    assert "replica-priority 0" in err and all(a in err for a in replicas), err
    assert "paused" not in steps.replace("nothing was paused", ""), "writes were paused:\n" + steps
    gap = w.max_gap(t0, t1)
    assert gap < 0.3, "the writer stalled %.0f ms during the refused job" % (gap * 1000)
    assert topo.agreed_master(5) == old

    # the default wait: it says what it waits for, then goes ahead
    make_stale(topo, hp, replicas)
    r = hp.post(FO, {"mode": "graceful", "reason": "wait for Sentinel"})
    assert r.status == 202, r
    jb = hp.wait_job(r.body["job_id"], 60)
    steps = Hapanel.steps_text(jb)
    log("default wait: %s\n%s" % (jb["state"], steps))
    assert jb["state"] == "succeeded", jb.get("error")
    i_wait, i_pause = steps.find("waiting up to"), steps.find("writes paused")
    assert 0 <= i_wait < i_pause, "no wait before the pause:\n" + steps
    assert "replica-priority 0" in steps[i_wait:i_pause]
    new = topo.agreed_master(15)
    assert new in replicas and jb["result"]["new_master"] == new, (new, jb["result"])

    w.stop()
    lost = w.lost(topo)
    log("writer: %s; lost %d" % (w.summary(), lost))
    assert lost == 0, "%d acknowledged writes lost" % lost


if __name__ == "__main__":
    run_test(test, limit=170)
