#!/usr/bin/env python3
"""it_master_failover: the master is SIGKILLed, Sentinel promotes a replica;
the API follows within 5 s, and the +switch-master that every Sentinel
publishes is stored as exactly one event naming the new master. (If Sentinel
fails over a second time under load, that switch is stored once as well.)"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402

NAME = "mymaster"


def names(ev, addr):
    host, port = addr.rsplit(":", 1)
    text = "%s %s" % (ev.get("node") or "", ev.get("message") or "")
    return addr in text or ("%s %s" % (host, port)) in text


def test(env):
    topo = env.topology()
    hp = env.hapanel(topo)
    old = topo.current_master()
    hp.wait_nodes_up([old] + topo.initial_replicas(), NAME, 10)
    before = hp.events(cluster=NAME, type="+switch-master").get("events") or []
    assert before == [], "+switch-master events before any failover: %s" % before

    topo.kill(old)
    t_kill = time.monotonic()
    log("killed master %s" % old)

    def new_master():
        for s, m in topo.sentinel_masters().items():
            if m and m != old:
                return m
        return None
    new = wait_for(new_master, 30, 0.1, msg="a Sentinel reports a new master after killing %s" % old)
    t_new = time.monotonic()
    log("Sentinel reports new master %s after %.1f s" % (new, t_new - t_kill))
    assert new in topo.initial_replicas(), new

    seen = {}

    def api_follows():
        seen["m"] = (hp.cluster(NAME).get("master") or {}).get("addr")
        return seen["m"] == new
    wait_for(api_follows, 5, 0.1, msg=lambda: "API master.addr == %s within 5 s of Sentinel "
             "reporting it (API says %r)" % (new, seen.get("m")))
    log("API shows new master after %.2f s" % (time.monotonic() - t_new))

    def switch_events():
        seen["evs"] = hp.events(cluster=NAME, type="+switch-master").get("events") or []
        return seen["evs"]
    evs = wait_for(switch_events, 5, 0.2, msg="a +switch-master event is stored")
    time.sleep(3)  # the other Sentinels' +switch-master must not add rows
    evs = hp.events(cluster=NAME, type="+switch-master").get("events") or []
    brief = [(e.get("id"), e.get("source"), e.get("node"), e.get("message")) for e in evs]
    # Each Sentinel publishes every switch: each one must be stored once. Under
    # load Sentinel (down-after 1 s) may fail over a second time from the new
    # master; that is another switch, with another old master, stored once too.
    pairs = [((e.get("details") or {}).get("old_master"), (e.get("details") or {}).get("new_master"))
             for e in evs]
    assert len(set(pairs)) == len(pairs), "a switch is stored more than once: %s" % brief
    ours = [e for e, p in zip(evs, pairs) if p[0] == old]
    assert len(ours) == 1, "want exactly 1 +switch-master event away from the killed master %s, " \
        "got %d: %s" % (old, len(ours), brief)
    if len(evs) > 1:
        log("Sentinel failed over again after the first switch: %s" % pairs)
    e = ours[0]
    assert e.get("type") == "+switch-master" and e.get("cluster") == NAME, e
    assert names(e, new), "the +switch-master event names neither in node nor message the new master %s: %s" % (
        new, e)
    log("one +switch-master event for the failover of %s: %s" % (old, e))
    # the whole failover shows in the unfiltered history too
    allev = hp.events(cluster=NAME, limit=200).get("events") or []
    types = [x.get("type") for x in allev]
    log("event types after failover: %s" % sorted(set(types)))
    assert types.count("+switch-master") == len(evs), types

if __name__ == "__main__":
    run_test(test)
