#!/usr/bin/env python3
"""it_events_channel_lost: when Redis closes hapanel's event channel while
the Sentinel stays reachable (what Redis does to a subscriber that falls
behind client-output-buffer-limit pubsub), the events published meanwhile
are lost and nothing counts them; hapanel must say so, not lose them
silently.

An extra "Sentinel" address is a plain redis-server (the injector, as in
bench/ingest_bench.py): hapanel subscribes to it like to any Sentinel. An
event published there is stored; then CLIENT KILL TYPE pubsub closes
hapanel's subscription (the same close Redis makes for the output buffer
limit). Once hapanel has subscribed again, the next event is stored and an
events-dropped event (source: that Sentinel, no count) and the
events_dropped alert say that events were lost. A real Sentinel restarted
from its own config file (both its connections close) gives no such event:
its sentinel-down / sentinel-up tell that gap."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Redis, Topology, log, run_test, wait_for  # noqa: E402


def sub_id(addr):
    """The id of the pattern subscriber (hapanel) on addr, or None."""
    with Redis.at(addr) as r:
        for line in r.cmd("CLIENT", "LIST", "TYPE", "pubsub").splitlines():
            kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
            if int(kv.get("psub", 0)) > 0:
                return int(kv["id"])
    return None


def publish(addr, cluster, n):
    payload = "slave 10.9.9.%d:6379 10.9.9.%d 6379 @ %s 127.0.0.1 6379" % (n, n, cluster)
    with Redis.at(addr) as r:
        return r.cmd("PUBLISH", "+sdown", payload)


def dropped_events(hp):
    return [e for e in hp.events(type="events-dropped", limit=100)["events"]]


def active_rules(hp):
    return [a.get("rule") for a in hp.json_ok("/api/v1/alerts?state=active").get("alerts") or []]


def test(env):
    topo = env.topology(replicas=1, sentinels=1)
    itopo = Topology(os.path.join(env.tmpdir, "injector"), replicas=0, sentinels=0)
    env.topologies.append(itopo)
    inj = itopo.start_node().addr
    hp = env.hapanel(topo, extra_sentinel_hosts=[inj])
    wait_for(lambda: sub_id(inj) is not None, 15, 0.1, msg="hapanel subscribes to the injector")
    cluster = "flood"

    def stored(n):
        ev = hp.events(cluster=cluster, type="+sdown", limit=100)["events"]
        return any(("10.9.9.%d" % n) in (e.get("node") or "") for e in ev)

    assert publish(inj, cluster, 1) == 1, "hapanel is not subscribed to the injector"
    wait_for(lambda: stored(1), 10, 0.1, msg="the first event is stored")
    assert dropped_events(hp) == [], "events-dropped before anything was lost: %s" % dropped_events(hp)

    old = sub_id(inj)
    with Redis.at(inj) as r:
        killed = r.cmd("CLIENT", "KILL", "TYPE", "pubsub")
    assert killed == 1, "CLIENT KILL TYPE pubsub closed %r clients" % killed
    t_kill = time.monotonic()
    # published while hapanel is not subscribed: lost, by Redis (0 receivers)
    assert publish(inj, cluster, 2) == 0, "the event reached a subscriber after the kill"
    wait_for(lambda: sub_id(inj) not in (None, old), 15, 0.1,
             msg="hapanel subscribes to the injector again")
    log("hapanel subscribed again %.2f s after the kill" % (time.monotonic() - t_kill))
    assert publish(inj, cluster, 3) == 1, "hapanel is not subscribed after resubscribing"
    wait_for(lambda: stored(3), 10, 0.1, msg="the event after the gap is stored")
    wait_for(lambda: dropped_events(hp), 10, 0.1, msg="an events-dropped event for the lost channel")
    ev = dropped_events(hp)
    assert len(ev) == 1, "one gap, %d events-dropped events: %s" % (len(ev), ev)
    e = ev[0]
    log("events-dropped: %s" % e.get("message"))
    assert e.get("severity") == "warning", e
    assert e.get("source") == "sentinel %s" % inj, e
    assert e.get("node") == inj, e
    assert inj in e.get("message", "") and "lost" in e.get("message", ""), e
    assert (e.get("details") or {}).get("count") == 0, "the count is not known: %s" % e
    wait_for(lambda: "events_dropped" in active_rules(hp), 10, 0.1,
             msg="the events_dropped alert is active")

    # A real Sentinel restarted from its own config file: both of its
    # connections close; no events-dropped for it.
    sentinel = topo.sentinel_addrs[0]
    topo.restart(sentinel)
    log("restarted Sentinel %s" % sentinel)
    wait_for(lambda: sub_id(sentinel) is not None, 20, 0.1,
             msg="hapanel subscribes to the restarted Sentinel")

    # a message on the new channel (the gap is judged at the first): SENTINEL
    # SET publishes +set
    with Redis.at(sentinel) as r:
        quorum = r.cmd("SENTINEL", "MASTER", "mymaster")
        quorum = dict(zip(quorum[::2], quorum[1::2]))["quorum"]
        r.cmd("SENTINEL", "SET", "mymaster", "quorum", quorum)
    wait_for(lambda: hp.events(cluster="mymaster", type="+set", limit=10)["events"], 10, 0.1,
             msg="the restarted Sentinel's +set event is stored")
    ev = dropped_events(hp)
    assert len(ev) == 1, "a restarted Sentinel counted as lost events: %s" % ev
    assert sub_id(inj) is not None, "the injector's subscription is gone"

    # A burst: every event is stored, at most 200 a second are logged one per
    # line, and one line says how many were not.
    n = 1500
    with Redis.at(inj) as r:
        got = r.pipeline([("PUBLISH", "+sdown", "slave 10.8.%d.%d:6379 10.8.%d.%d 6379 @ burst "
                           "127.0.0.1 6379" % (i >> 8, i & 255, i >> 8, i & 255))
                          for i in range(n)])
    assert got == [1] * n, "not every PUBLISH reached hapanel"

    def burst_stored():
        total, before = 0, None
        for _ in range(5):
            body = hp.events(cluster="burst", limit=1000, before=before)
            total += len(body["events"])
            before = body.get("next_before")
            if not before:
                break
        return total
    wait_for(lambda: burst_stored() == n, 15, 0.2, msg="all %d burst events stored" % n)
    wait_for(lambda: "Sentinel events in the last" in hp.log_since_start(), 10, 0.1,
             msg="the log's line about events it left out")
    lines = [l for l in hp.log_since_start().splitlines() if " event burst +sdown " in l]
    log("burst of %d: %d logged one per line" % (n, len(lines)))
    assert 0 < len(lines) <= 400, "%d of %d burst events logged one per line" % (len(lines), n)


if __name__ == "__main__":
    run_test(test)
