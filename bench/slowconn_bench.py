#!/usr/bin/env python3
"""slowconn_bench.py — what N held connections do to everyone else.

Starts a topology (1 master + 2 replicas + 3 Sentinels) and hapanel with its
defaults (32 HTTP workers, header timeout 5 s, body timeout 10 s,
keep-alive 30 s, 128 connections per address), then holds N connections
open against it (default 1,000; tests/harness/slowconn.py: a third idle
keep-alive, a third sending headers one byte a second, a third a body one
byte a second; each one hapanel closes is reopened at once; 100 per loopback
source address). Meanwhile, for S seconds (default 30), a client asks
GET /api/v1/health every 20 ms and the dashboard (GET /ui/clusters, with a
token) every 200 ms, each on a new connection. Prints the connections held,
health and dashboard p50/p99/max, the errors, hapanel's RSS before and with
the connections held, and the RSS per held connection.

Goal (issue 11): N = 1,000, health p99 < 100 ms, no error.

usage: python3 bench/slowconn_bench.py [--n 1000] [--seconds 30]
"""

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402
from dash_bench import get  # noqa: E402
from history_bench import pct  # noqa: E402
from harness.slowconn import Holders  # noqa: E402

GOAL_P99_MS = 100.0


def probe(port, path, every_s, stop, out, errors):
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            st, _, ms = get(port, path, timeout=5)
            if st == 200:
                out.append(ms)
            else:
                errors.append("%s: %d" % (path, st))
        except OSError as e:
            errors.append("%s: %s" % (path, e))
        time.sleep(max(0.0, every_s - (time.monotonic() - t0)))


def bench(env, lines, a):
    topo = env.topology()
    hp = env.hapanel(topo, env_extra=benchlib.hapanel_env())
    time.sleep(3)  # the first polls
    pid = hp.popen.pid
    rss0 = benchlib.proc_rss_kb(pid)
    with Holders(hp.port, a.n, per_addr=100, seconds=a.seconds + 120) as h:
        if not h.wait_open(int(a.n * 0.98), 60):
            raise AssertionError("could not hold %d connections: %r" % (a.n, h.last))
        time.sleep(2)
        held_min = h.last.get("open", 0)
        health, dash, errors = [], [], []
        stop = threading.Event()
        ts = [threading.Thread(target=probe, args=(hp.port, "/api/v1/health", 0.02, stop, health, errors)),
              threading.Thread(target=probe, args=(hp.port, "/ui/clusters", 0.2, stop, dash, errors))]
        for t in ts:
            t.start()
        end = time.monotonic() + a.seconds
        rss_max = 0
        while time.monotonic() < end:
            time.sleep(1)
            held_min = min(held_min, h.last.get("open", 0))
            rss_max = max(rss_max, benchlib.proc_rss_kb(pid))
        stop.set()
        for t in ts:
            t.join()
        st = h.last
    health.sort()
    dash.sort()
    p99 = pct(health, 99)
    lines.append("slowconn_bench: %d connections asked for, at least %d held throughout %d s "
                 "(%d opened in all; answers before a close: %r)"
                 % (a.n, held_min, a.seconds, st.get("opened", 0), st.get("status")))
    lines.append("  health:    %d answers, p50 %.2f ms, p99 %.2f ms, max %.2f ms"
                 % (len(health), pct(health, 50), p99, health[-1] if health else -1))
    lines.append("  dashboard: %d answers, p50 %.2f ms, p99 %.2f ms, max %.2f ms"
                 % (len(dash), pct(dash, 50), pct(dash, 99), dash[-1] if dash else -1))
    lines.append("  errors:    %d %s" % (len(errors), errors[:5]))
    lines.append("  RSS:       %d kB before, at most %d kB with the connections held: %.1f kB per "
                 "held connection" % (rss0, rss_max, (rss_max - rss0) / max(1, held_min)))
    lines.append("  goal:      health p99 < %.0f ms with %d held: %s"
                 % (GOAL_P99_MS, a.n, "met" if p99 < GOAL_P99_MS and not errors and held_min >= a.n * 0.95
                    else "NOT met"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seconds", type=int, default=30)
    a = p.parse_args()
    if not (1 <= a.n <= 10000 and 5 <= a.seconds <= 900):
        p.error("out of range: n 1-10000, seconds 5-900")
    benchlib.setup(1800)
    benchlib.run(lambda env, lines: bench(env, lines, a), "slowconn_bench",
                 lambda lines: print("\n".join(lines)))


if __name__ == "__main__":
    main()
