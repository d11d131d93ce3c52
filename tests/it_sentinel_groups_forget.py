#!/usr/bin/env python3
"""it_sentinel_groups_forget: what the Sentinels stopped naming is forgotten
per Sentinel group. With two groups (east1 in [sentinel], west1 in
[sentinel west]) and the forget delay cut to 3 s (HAPANEL_FAILPOINT=
fast-forget), all of west's Sentinels are frozen (SIGSTOP) for three forget
delays while east's answer: west1 keeps its master and replicas (its
Sentinels shown down), because west's nodes are measured against west's last
answer, not east's. Meanwhile east still forgets what its own Sentinels
stopped naming: a replica killed and dropped by SENTINEL RESET leaves east1
with a node-removed event. Once west's Sentinels run again, west1 is ok."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, redis_info, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402

FORGET_S = 3.0  # FORGET_AFTER_MS_FAST


def addrs(c):
    got = [(c.get("master") or {}).get("addr")] + [r.get("addr") for r in c.get("replicas", [])]
    return sorted(a for a in got if a)


def test(env):
    check = Checks()
    east = env.topology(masters=("east1",))
    west = env.topology(masters=("west1",))
    hp = env.hapanel(east, config_text=west.group_section("west"),
                     env_extra={"HAPANEL_FAILPOINT": "fast-forget"})

    def both_ok():
        cl = {c["name"]: c for c in hp.clusters().get("clusters", [])}
        return cl if all(cl.get(n, {}).get("status") == "ok" and cl[n].get("replicas") == 2
                         for n in ("east1", "west1")) else None

    cl = wait_for(both_ok, 15, msg="east1 and west1 ok with 2 replicas each: %s"
                  % (hp.clusters(),))
    check(cl["east1"].get("group") == "default" and cl["west1"].get("group") == "west",
          "each cluster in its group: east1 %r, west1 %r"
          % (cl["east1"].get("group"), cl["west1"].get("group")))
    w = hp.cluster("west1")
    check(addrs(w) == sorted(west.node_addrs), "west1's nodes: %s" % addrs(w))
    check(sorted(s["addr"] for s in w.get("sentinels", [])) == sorted(west.sentinel_addrs),
          "west1 shows west's 3 Sentinels only: %s" % [s["addr"] for s in w.get("sentinels", [])])

    # west's Sentinels frozen; east's replica killed and forgotten by east's Sentinels
    for a in west.sentinel_addrs:
        west.stop(a)
    t0 = time.monotonic()
    log("west's Sentinels stopped (SIGSTOP)")
    gone = east.initial_replicas("east1")[0]
    master = east.initial_master("east1")
    east.kill(gone)
    wait_for(lambda: gone.rsplit(":", 1)[1] not in str(redis_info(master).get("slave0", "")) +
             str(redis_info(master).get("slave1", "")), 10,
             msg="east1's master no longer lists the killed replica %s" % gone)
    for a in east.sentinel_addrs:
        with east.client(a) as c:
            c.cmd("SENTINEL", "RESET", "east1")
    log("east replica %s killed, SENTINEL RESET east1" % gone)

    def east_forgot():
        e = hp.cluster("east1")
        return e if gone not in addrs(e) else None

    e = wait_for(east_forgot, 15, msg="east1 forgets %s, which its Sentinels no longer name" % gone)
    check(addrs(e) == sorted(a for a in east.node_addrs if a != gone), "east1's nodes: %s" % addrs(e))
    evs = [x for x in hp.events(cluster="east1", limit=500).get("events", [])
           if x.get("type") == "node-removed" and x.get("node") == gone]
    check(len(evs) == 1, "one node-removed of %s: %s" % (gone, evs))

    # west's nodes through three forget delays of west's outage
    while time.monotonic() - t0 < 3 * FORGET_S + 1:
        w = hp.cluster("west1")
        check(addrs(w) == sorted(west.node_addrs),
              "west1 keeps its nodes while its Sentinels do not answer (%.1f s): %s"
              % (time.monotonic() - t0, addrs(w)))
        time.sleep(0.5)
    w = hp.cluster("west1")
    check(all(not s.get("up") for s in w.get("sentinels", [])),
          "west's Sentinels are shown down: %s" % [(s["addr"], s.get("up")) for s in w.get("sentinels", [])])
    evs = [x for x in hp.events(cluster="west1", limit=500).get("events", [])
           if x.get("type") == "node-removed"]
    check(not evs, "no node-removed in west1: %s" % evs)
    log("west1 kept its %d nodes for %.1f s of its Sentinels' outage" % (len(addrs(w)), time.monotonic() - t0))

    for a in west.sentinel_addrs:
        west.cont(a)
    wait_for(lambda: hp.cluster("west1").get("status") == "ok" and
             all(s.get("up") for s in hp.cluster("west1").get("sentinels", [])), 15,
             msg="west1 ok again with its Sentinels up: %s" % (hp.cluster("west1"),))
    check(addrs(hp.cluster("west1")) == sorted(west.node_addrs), "west1's nodes after the outage")
    check.done()


if __name__ == "__main__":
    run_test(test)
