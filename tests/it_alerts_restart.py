#!/usr/bin/env python3
"""it_alerts_restart: alerts across a restart of hapanel. The memory rule
fires on two nodes (maxmemory just above used_memory on the master and on a
replica). hapanel is stopped (SIGTERM); while it is down the master's
condition clears (maxmemory lifted), the replica's does not. hapanel starts
again (same data dir): the master's alert resolves, with one
alert-resolved message, and the replica's stays active without a second
alert-fired message; once the replica's condition clears it resolves once.
Over the whole test each (rule, node) notifies exactly once firing and once
resolving, and each has one alert row."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, redis_info, run_test, start_receiver, wait_for  # noqa: E402

NAME = "mymaster"
RESOLVE_S = 2


def types_by_node(recv, rule="memory"):
    out = {}
    for q in recv.got():
        b = q.json() or {}
        d = b.get("details") or {}
        if b.get("type") in ("alert-fired", "alert-resolved") and d.get("rule") == rule:
            out.setdefault(d.get("node"), []).append(b.get("type"))
    return out


def squeeze(topo, addr):
    """maxmemory of addr just above its used_memory (~96 %)."""
    with topo.client(addr) as c:
        used = redis_info(addr, section="memory")["used_memory"]
        c.cmd("CONFIG", "SET", "maxmemory", int(used / 0.96))
    return used


def lift(topo, addr):
    with topo.client(addr) as c:
        c.cmd("CONFIG", "SET", "maxmemory", 0)


def test(env):
    wh = start_receiver(env)
    topo = env.topology()
    hp = env.hapanel(topo, env_extra={
        "HAPANEL_WEBHOOK_URLS": wh.url + "/hook",
        "HAPANEL_ALERT_RESOLVE_AFTER_S": str(RESOLVE_S),
    })
    master = topo.current_master()
    rep = topo.initial_replicas()[0]
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 10)
    # a few MB of data: buffers moving up and down barely change the ratio
    with topo.client(master, timeout=10) as c:
        for lo in range(0, 4000, 500):
            c.pipeline([["SET", "mem:%d" % i, "x" * 1000] for i in range(lo, lo + 500)])
        c.cmd("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    topo.wait_in_sync(master)
    for a in (master, rep):
        log("maxmemory of %s set just above its used_memory %d" % (a, squeeze(topo, a)))

    def fired_both():
        t = types_by_node(wh)
        return t if t.get(master) == ["alert-fired"] and t.get(rep) == ["alert-fired"] else None
    wait_for(fired_both, 10, 0.05, msg=lambda: "memory alerts fire on %s and %s (messages: %s)" % (
        master, rep, types_by_node(wh)))
    act = hp.json_ok("/api/v1/alerts?state=active").get("alerts") or []
    ids = {a["node"]: a["id"] for a in act if a.get("rule") == "memory"}
    assert set(ids) == {master, rep}, act
    log("memory alerts active: %s" % ids)

    hp.stop()
    lift(topo, master)
    log("hapanel stopped; maxmemory of %s lifted while it is down (%s still squeezed)" % (master, rep))
    time.sleep(1)
    hp.start()
    t_start = time.time()
    log("hapanel started again")

    seen = {}

    def master_resolved():
        al = seen["a"] = hp.json_ok("/api/v1/alerts?state=all").get("alerts") or []
        mine = [a for a in al if a.get("id") == ids[master]]
        return mine and mine[0].get("state") == "resolved" and \
            types_by_node(wh).get(master) == ["alert-fired", "alert-resolved"]
    wait_for(master_resolved, RESOLVE_S + 10, 0.2, msg=lambda: "the memory alert of %s, whose "
             "condition cleared while hapanel was down, resolves after the restart with one "
             "alert-resolved message (alerts: %s; messages: %s)" % (
                 master, [(a.get("id"), a.get("node"), a.get("state")) for a in seen.get("a") or []],
                 types_by_node(wh)))
    log("%s resolved %.1f s after the restart" % (master, time.time() - t_start))

    time.sleep(RESOLVE_S + 1)
    t = types_by_node(wh)
    assert t.get(rep) == ["alert-fired"], "the still-firing alert of %s notified again after the " \
        "restart: %s" % (rep, t.get(rep))
    act = hp.json_ok("/api/v1/alerts?state=active").get("alerts") or []
    assert [a["id"] for a in act if a.get("rule") == "memory"] == [ids[rep]], act

    lift(topo, rep)
    wait_for(lambda: types_by_node(wh).get(rep) == ["alert-fired", "alert-resolved"], RESOLVE_S + 8,
             0.1, msg=lambda: "the alert of %s resolves once (messages: %s)" % (rep, types_by_node(wh)))
    time.sleep(2)
    t = types_by_node(wh)
    assert t == {master: ["alert-fired", "alert-resolved"], rep: ["alert-fired", "alert-resolved"]}, t
    al = hp.json_ok("/api/v1/alerts?state=all").get("alerts") or []
    mem = [a for a in al if a.get("rule") == "memory"]
    assert sorted(a["id"] for a in mem) == sorted(ids.values()), mem
    assert all(a.get("state") == "resolved" for a in mem), mem


if __name__ == "__main__":
    run_test(test)
