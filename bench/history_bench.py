#!/usr/bin/env python3
"""history_bench.py — what a history request costs with a million events.

Starts 1 master + 2 replicas + 3 Sentinels and hapanel once (it creates and
migrates its database), stops it, and fills the events table with SQL in
that database: EVENTS rows over 30 days, across 5 clusters (one of them
quiet: 100 events), 20 node addresses, common types and a rare one (+tilt,
50 rows). Then hapanel runs again and, for each filter of GET
/api/v1/events (none, a busy cluster, the quiet cluster, a rare type, a
node, a cluster and a type, an old time window, a deep page) and for GET
/ui/history, takes N sequential requests on one keep-alive connection and
prints p50 and p99 in ms. The same is done with a 1,000-event database, and
the ratio of the two p99s is printed per request.

Goal: p99 < 2 ms at 1M events, and within 2x of the same request at 1,000.

usage: python3 bench/history_bench.py [--events 1000000] [--requests 200]
"""

import argparse
import http.client
import os
import random
import sqlite3
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402

GOAL_P99_MS = 2.0
GOAL_RATIO = 2.0
DAY_MS = 86400000
CLUSTERS = ["mymaster", "payments", "sessions", "queue", "quiet"]
TYPES = ["+sdown", "-sdown", "node-down", "node-up", "link-down", "link-up", "+sentinel",
         "role-change", "alert-fired", "alert-resolved", "job-started", "job-succeeded"]


def fill(path, n, now_ms):
    """n events over 30 days before now_ms, in id order of time."""
    rnd = random.Random(1)
    c = sqlite3.connect(path)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("DELETE FROM events")
    rows = []
    start = now_ms - 30 * DAY_MS
    step = (30 * DAY_MS) / max(n, 1)
    quiet_every = max(1, n // 100)
    rare_every = max(1, n // 50)
    for i in range(n):
        cl = "quiet" if i % quiet_every == 0 else CLUSTERS[i % 4]
        ty = "+tilt" if i % rare_every == 7 % rare_every else TYPES[rnd.randrange(len(TYPES))]
        node = "10.0.%d.%d:6379" % (i % 4, rnd.randrange(5))
        rows.append((int(start + i * step), cl, ty, "warning", "bench", node,
                     "%s %s %s" % (ty, node, i), "{}"))
        if len(rows) == 50000:
            c.executemany("INSERT INTO events (ts, cluster, type, severity, source, node, "
                          "message, details) VALUES (?,?,?,?,?,?,?,?)", rows)
            rows = []
    if rows:
        c.executemany("INSERT INTO events (ts, cluster, type, severity, source, node, message, "
                      "details) VALUES (?,?,?,?,?,?,?,?)", rows)
    c.commit()
    (max_id,) = c.execute("SELECT max(id) FROM events").fetchone()
    c.close()
    return max_id


def requests(max_id, now_ms):
    old_from, old_to = now_ms - 25 * DAY_MS, now_ms - 25 * DAY_MS + 3600000
    return [
        ("events, newest page", "/api/v1/events?limit=50"),
        ("events, busy cluster", "/api/v1/events?cluster=mymaster&limit=50"),
        ("events, quiet cluster", "/api/v1/events?cluster=quiet&limit=50"),
        ("events, rare type", "/api/v1/events?type=%2Btilt&limit=50"),
        ("events, one node", "/api/v1/events?node=10.0.1.3:6379&limit=50"),
        ("events, cluster + type", "/api/v1/events?cluster=payments&type=node-down&limit=50"),
        ("events, old 1 h window", "/api/v1/events?since=%d&until=%d&limit=50" % (old_from, old_to)),
        ("events, deep page", "/api/v1/events?before=%d&limit=50" % max(2, max_id // 10)),
        ("ui history", "/ui/history"),
        ("ui history, quiet cluster", "/ui/history?cluster=quiet"),
    ]


def measure(port, path, n):
    """n sequential GETs on one keep-alive connection: latencies in ms."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    hdr = {"Authorization": "Bearer " + benchlib.BENCH_TOKEN}
    out = []
    for i in range(n + 5):
        t0 = time.perf_counter()
        conn.request("GET", path, headers=hdr)
        r = conn.getresponse()
        body = r.read()
        dt = (time.perf_counter() - t0) * 1000
        if r.status != 200:
            raise AssertionError("%s -> %d %r" % (path, r.status, body[:200]))
        if i >= 5:  # warm-up
            out.append(dt)
    conn.close()
    return out


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def run_size(env, topo, hp, n, nreq):
    hp.stop()
    now = int(time.time() * 1000)
    max_id = fill(os.path.join(hp.data_dir, "hapanel.db"), n, now)
    hp.start()
    res = {}
    for label, path in requests(max_id, now):
        lat = measure(hp.port, path, nreq)
        res[label] = (statistics.median(lat), pct(lat, 99))
    return res


def bench(env, lines, args):
    topo = env.topology()
    hp = env.hapanel(topo, env_extra=benchlib.hapanel_env())
    harness.log("filling %d events" % args.events)
    big = run_size(env, topo, hp, args.events, args.requests)
    small = run_size(env, topo, hp, 1000, args.requests)
    met = True
    lines.append("%-28s %12s %12s %12s %8s" % ("request", "p50 1M ms", "p99 1M ms", "p99 1k ms",
                                             "ratio"))
    for label in big:
        p50, p99 = big[label]
        s99 = small[label][1]
        ratio = p99 / s99 if s99 else float("inf")
        ok = p99 < GOAL_P99_MS and ratio <= GOAL_RATIO
        met &= ok
        lines.append("%-28s %12.3f %12.3f %12.3f %8.2f %s" % (label, p50, p99, s99, ratio,
                                                              "" if ok else "<- goal not met"))
    lines.append("history_goal: p99 < %.0f ms at %d events and within %.0fx of 1,000: %s" % (
        GOAL_P99_MS, args.events, GOAL_RATIO, "met" if met else "NOT met"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=1000000)
    p.add_argument("--requests", type=int, default=200)
    a = p.parse_args()
    benchlib.setup(900)
    benchlib.run(lambda env, lines: bench(env, lines, a), "history_bench",
                 lambda lines: print("\n".join(lines)))


if __name__ == "__main__":
    main()
