#!/usr/bin/env python3
"""it_node_two_names: a master the Sentinels monitor under two names (a
second SENTINEL MONITOR of the same address, as a migration between names
or a mistake leaves it) puts its nodes in both clusters' lists. hapanel
keeps each node in the cluster that named it first: no flood of
node-added/node-removed events as the two names take it in turn every
poll (there were four a second per node), and each node is polled once.
When the first name stops naming it (SENTINEL REMOVE), the node moves to
the other name within the forget delay's share, with one node-added."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.resp import Redis  # noqa: E402

check = Checks()


def moves(hp, since_ms):
    evs = hp.events(since=since_ms, limit=1000)["events"]
    return [(e["cluster"], e["type"], e["node"]) for e in evs
            if e["type"] in ("node-added", "node-removed")]


def test(env):
    topo = env.topology()
    master = topo.current_master()
    replicas = topo.initial_replicas()
    hp = env.hapanel(topo)
    hp.wait_nodes_up([master] + replicas, "mymaster", 10)
    port = master.rsplit(":", 1)[1]
    for s in topo.sentinel_addrs:
        with Redis.at(s) as c:
            assert c.cmd("SENTINEL", "MONITOR", "second", "127.0.0.1", port, 2) == "OK"
            c.cmd("SENTINEL", "SET", "second", "down-after-milliseconds", "1000")
    wait_for(lambda: "second" in [c["name"] for c in hp.clusters()["clusters"]], 15, 0.2,
             msg="the second name listed")
    time.sleep(3)  # the second name's replica list fills in
    t0 = int(time.time() * 1000)
    time.sleep(4)
    flips = moves(hp, t0)
    log("node-added/removed in 4 s with two names: %d %r" % (len(flips), flips[:6]))
    check(len(flips) == 0, "no node moves back and forth: %d in 4 s (%r)" % (len(flips), flips[:6]))
    snap = hp.cluster("mymaster")
    nodes = [snap.get("master") or {}] + list(snap.get("replicas") or [])
    check(sorted(n.get("addr") for n in nodes) == sorted([master] + replicas),
          "mymaster keeps its nodes: %r" % [n.get("addr") for n in nodes])

    # the first name goes: the nodes move to the second, once each
    t1 = int(time.time() * 1000)
    for s in topo.sentinel_addrs:
        with Redis.at(s) as c:
            c.cmd("SENTINEL", "REMOVE", "mymaster")

    def moved():
        snap = hp.get("/api/v1/clusters/second").body
        if not isinstance(snap, dict):
            return False
        nodes = [snap.get("master") or {}] + list(snap.get("replicas") or [])
        return sorted(n.get("addr") or "" for n in nodes) == sorted([master] + replicas)
    wait_for(moved, 40, 0.5, msg="the nodes listed under the second name")
    added = [m for m in moves(hp, t1) if m[1] == "node-added" and m[0] == "second"]
    log("after the first name went: %r" % added)
    check(sorted(m[2] for m in added) == sorted([master] + replicas) or not added,
          "each node added to the second name at most once: %r" % added)
    check.done()


if __name__ == "__main__":
    run_test(test, limit=150)
