#!/usr/bin/env python3
"""it_late_answer: one late answer is not a peer down. A replica or a
Sentinel that hangs (SIGSTOP) for 1.8 s, a little less than twice
timeout_ms (1000), then answers again, gets one immediate retry after the
missed deadline and is never shown down: no node-down or sentinel-down
event. Without the retry a SENTINEL MASTERS or INFO sent in the first 0.8 s
of the hang misses its deadline and the peer is called down (on a busy host
one late answer of a Sentinel took it out of every master's quorum at once).
Each is hung three times. A hang of 4 s is still shown down, and up again
after SIGCONT."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402

SHORT_S = 1.8
LONG_S = 4.0


def downs(hp, since_ms, addr):
    ev = hp.events(since=since_ms, limit=200)["events"]
    return [e["type"] for e in ev if e.get("type") in ("node-down", "sentinel-down")
            and e.get("node") == addr]


def test(env):
    topo = env.topology()
    hp = env.hapanel(topo, env_extra={"HAPANEL_TIMEOUT_MS": "1000",
                                      "HAPANEL_POLL_INTERVAL_MS": "1000"})
    master = topo.current_master()
    replica = topo.initial_replicas()[0]
    sentinel = topo.sentinel_addrs[0]
    hp.wait_nodes_up([master] + topo.initial_replicas(), "mymaster", 10)
    t0 = int(time.time() * 1000)
    for addr in (replica, sentinel):
        for i in range(3):
            topo.stop(addr)
            time.sleep(SHORT_S)
            topo.cont(addr)
            time.sleep(1.2)  # a poll after the hang
            log("%s hung %.1f s (%d of 3)" % (addr, SHORT_S, i + 1))
    time.sleep(1.5)  # the writer stores what the monitor saw
    for addr in (replica, sentinel):
        got = downs(hp, t0, addr)
        assert got == [], "%s hung %.1f s was shown down: %s" % (addr, SHORT_S, got)

    # a real hang is still a peer down
    for addr, kind in ((replica, "node-down"), (sentinel, "sentinel-down")):
        t1 = int(time.time() * 1000)
        topo.stop(addr)
        try:
            wait_for(lambda: kind in downs(hp, t1, addr), LONG_S, 0.1,
                     msg="%s for %s hung %.0f s" % (kind, addr, LONG_S))
            log("%s: %s after %.1f s" % (addr, kind, (time.time() * 1000 - t1) / 1000.0))
        finally:
            topo.cont(addr)
    hp.wait_nodes_up([master] + topo.initial_replicas(), "mymaster", 10)


if __name__ == "__main__":
    run_test(test)
