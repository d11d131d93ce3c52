#!/usr/bin/env python3
"""it_hung_node: a replica that hangs (SIGSTOP: TCP accepts, nothing answers)
and a "Sentinel" address that is a black hole (a socket that listens but never
accepts or replies) do not delay the monitoring of everything else: the
master's repl_offset in the API keeps advancing while keys are written, the
hung replica is shown down within 3 s, the black hole is not counted as a
reachable Sentinel, and the replica comes back up after SIGCONT."""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hapanel, Redis, log, run_test, wait_for  # noqa: E402

NAME = "mymaster"
SAMPLE_S = 6.0
SAMPLE_EVERY = 0.2
MAX_GAP = 1.5


def largest_gap(samples, t0, t1):
    """The longest time without a change of the sampled value between t0 and
    t1; the edges count (no change at all is a gap of t1 - t0)."""
    changes = [t0]
    for (_, va), (tb, vb) in zip(samples, samples[1:]):
        if vb != va:
            changes.append(tb)
    changes.append(t1)
    return max(b - a for a, b in zip(changes, changes[1:]))


class Writer(threading.Thread):
    def __init__(self, addr):
        super().__init__(daemon=True)
        self.addr = addr
        self.halt = threading.Event()
        self.n = 0
        self.error = None

    def run(self):
        try:
            with Redis.at(self.addr, timeout=2) as r:
                while not self.halt.is_set():
                    r.cmd("SET", "hung:%d" % self.n, "x" * 64)
                    self.n += 1
                    self.halt.wait(0.025)  # ~4 writes per 100 ms
        except Exception as e:  # reported by the test
            self.error = e


def test(env):
    # the black hole: listens, never accepts, never replies
    bh = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    bh.bind(("127.0.0.1", 0))
    bh.listen(1)
    bh_addr = "127.0.0.1:%d" % bh.getsockname()[1]
    env.on_cleanup(bh.close)

    topo = env.topology()
    hp = env.hapanel(topo, extra_sentinel_hosts=[bh_addr])
    log("black-holed sentinel address %s" % bh_addr)
    master = topo.current_master()
    victim, other = topo.initial_replicas()
    t_start = time.monotonic()
    hp.wait_nodes_up([master, victim, other], NAME, 10)
    log("all nodes up in the API %.2f s after start" % (time.monotonic() - t_start))

    writer = Writer(master)
    writer.start()
    env.on_cleanup(writer.halt.set)
    time.sleep(0.3)

    topo.stop(victim)
    t_stop = time.monotonic()
    log("SIGSTOPped replica %s" % victim)

    offs, upd = [], []
    down_at = None
    max_latency = 0.0
    t0 = time.monotonic()
    while time.monotonic() - t0 < SAMPLE_S:
        ts = time.monotonic()
        s = hp.cluster(NAME)
        lat = time.monotonic() - ts
        max_latency = max(max_latency, lat)
        m = s.get("master") or {}
        assert m.get("addr") == master, "master changed to %r during the test" % m.get("addr")
        offs.append((ts, m.get("repl_offset")))
        upd.append((ts, s.get("updated_at")))
        v = Hapanel.node(s, victim)
        if down_at is None and v is not None and v.get("up") is False:
            down_at = ts - t_stop
        o = Hapanel.node(s, other)
        assert o is not None and o.get("up") is True, "the healthy replica %s shown as %r" % (other, o)
        time.sleep(max(0.0, SAMPLE_EVERY - (time.monotonic() - ts)))
    t1 = time.monotonic()
    writer.halt.set()
    writer.join(3)
    assert writer.error is None, "writer failed: %r" % writer.error
    log("writer wrote %d keys; max GET latency %.3f s" % (writer.n, max_latency))

    gap_off = largest_gap(offs, t0, t1)
    gap_upd = largest_gap(upd, t0, t1)
    distinct = len(set(v for _, v in offs))
    log("master.repl_offset: %d distinct values in %d samples, largest gap %.2f s; "
        "updated_at largest gap %.2f s; replica down after %s s" % (
            distinct, len(offs), gap_off, gap_upd, None if down_at is None else "%.2f" % down_at))
    assert all(isinstance(v, int) for _, v in offs), "repl_offset not a number: %s" % offs[:5]
    assert gap_off < MAX_GAP, ("master.repl_offset in the API did not change for %.2f s (limit %.1f s) while "
                               "keys were written; samples (t, offset): %s" % (
                                   gap_off, MAX_GAP, [(round(t - t0, 2), v) for t, v in offs]))
    assert gap_upd < MAX_GAP, ("updated_at did not change for %.2f s (limit %.1f s): %s" % (
        gap_upd, MAX_GAP, [(round(t - t0, 2), v) for t, v in upd]))
    assert max_latency < 1.0, "GET /api/v1/clusters/%s took %.2f s" % (NAME, max_latency)
    assert down_at is not None and down_at <= 3.0, (
        "the SIGSTOPped replica %s was not shown up:false within 3 s (first seen down after %s s)"
        % (victim, down_at))

    # the black hole is not a reachable Sentinel
    s = hp.cluster(NAME)
    listed = [x for x in s.get("sentinels") or [] if x.get("addr") == bh_addr]
    summ = [c for c in hp.clusters().get("clusters") or [] if c.get("name") == NAME][0]
    if listed:
        assert listed[0].get("up") is False, "black-holed sentinel %s shown as %r" % (bh_addr, listed[0])
    assert summ.get("sentinels_ok") == 3, "sentinels_ok=%r with 3 real Sentinels and one black hole" % (
        summ.get("sentinels_ok"),)
    q = s.get("quorum") or {}
    assert q.get("reachable") == 3 and q.get("ok") is True, "quorum %r" % q
    real = [x for x in s.get("sentinels") or [] if x.get("addr") in topo.sentinel_addrs]
    assert len(real) == 3 and all(x.get("up") is True for x in real), "real sentinels: %r" % real
    log("black hole listed=%s sentinels_ok=%s quorum=%s" % (bool(listed), summ.get("sentinels_ok"), q))

    topo.cont(victim)
    t_cont = time.monotonic()
    last = {}

    def back_up():
        last["n"] = Hapanel.node(hp.cluster(NAME), victim)
        return last["n"] is not None and last["n"].get("up") is True
    wait_for(back_up, 5, 0.1, msg=lambda: "replica %s up:true within 5 s of SIGCONT (API: %r)" % (
        victim, last.get("n")))
    log("replica back up after %.2f s" % (time.monotonic() - t_cont))


if __name__ == "__main__":
    run_test(test)
