#!/usr/bin/env python3
"""it_replica_down: a replica killed with SIGKILL is shown down within 3 s and
a node-down event for it is stored within 3 s; the other nodes stay up."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hapanel, log, run_test, wait_for  # noqa: E402

NAME = "mymaster"


def test(env):
    topo = env.topology()
    hp = env.hapanel(topo)
    master = topo.current_master()
    victim, other = topo.initial_replicas()

    hp.wait_nodes_up([master, victim, other], NAME, 10)

    topo.kill(victim)
    t_kill = time.monotonic()
    log("killed replica %s" % victim)

    last = {}

    def shown_down():
        last["n"] = Hapanel.node(hp.cluster(NAME), victim)
        return last["n"] is not None and last["n"].get("up") is False
    wait_for(shown_down, 3, 0.1, msg=lambda: "replica %s shown up:false within 3 s of SIGKILL (API node: %r)"
             % (victim, last.get("n")))
    log("API shows %s down after %.2f s" % (victim, time.monotonic() - t_kill))

    def node_down_event():
        evs = hp.events(cluster=NAME, node=victim).get("events") or []
        last["evs"] = evs
        return [e for e in evs if e.get("type") == "node-down" and e.get("node") == victim]
    remaining = max(0.1, 3 - (time.monotonic() - t_kill))
    found = wait_for(node_down_event, remaining, 0.1,
                     msg=lambda: "a node-down event for %s within 3 s of the kill (events for node: %s)"
                     % (victim, [(e.get("type"), e.get("node")) for e in last.get("evs", [])]))
    log("node-down event after %.2f s: %s" % (time.monotonic() - t_kill, found[0]))
    e = found[0]
    assert e.get("cluster") == NAME, "event cluster %r" % e.get("cluster")
    assert isinstance(e.get("id"), int) and isinstance(e.get("ts"), int), e
    assert e.get("severity") in ("info", "warning", "critical"), e
    # the node= filter returns only that node's rows
    wrong = [x for x in last["evs"] if x.get("node") != victim]
    assert not wrong, "events?node=%s returned other nodes' rows: %s" % (victim, wrong)

    # the others stay up (checked over a couple of polls)
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        s = hp.cluster(NAME)
        m = s.get("master") or {}
        assert m.get("addr") == master and m.get("up") is True, "master %s not shown up: %r" % (master, m)
        o = Hapanel.node(s, other)
        assert o and o.get("up") is True and o.get("link") == "up", "replica %s not shown up: %r" % (other, o)
        v = Hapanel.node(s, victim)
        assert v and v.get("up") is False, "killed replica %s shown as %r" % (victim, v)
        time.sleep(0.25)


if __name__ == "__main__":
    run_test(test)
