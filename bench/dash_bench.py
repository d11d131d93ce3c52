#!/usr/bin/env python3
"""dash_bench.py — what open dashboards cost: 100 live views polling hapanel.

For each case — one cluster (1 master + 2 replicas + 3 Sentinels) with an
empty history, the same with 1,000,000 events in its history (filled with
SQL as history_bench.py does), and 300 clusters (300 masters without
replicas, 3 Sentinels, down-after 30 s) — starts the topology and hapanel,
then runs D dashboards (default 100) for S seconds (default 60) after a
warm-up: each one does what web/index.html does, GET /ui/clusters every
second and GET /ui/notifications every 5 s, each request on a new
connection (so no dashboard holds one of hapanel's HTTP workers between its
polls), starting at a random point of the first second. Meanwhile a probe
asks GET /api/v1/health every 20 ms. Prints per case: pages served, the
hapanel process's CPU over the window (utime + stime from /proc), CPU ms per
dashboard per minute, pages actually rendered (hapanel_ui_renders_total:
the rest came from the page cache), the page size, /api/v1/health p50/p99
and hapanel's RSS.

With --mode stream each dashboard does what the page does when its live
stream is up (issue 13): one GET /ui/stream held open, nothing else (the
page and the notification panel are pushed on change; pages received are
counted).
--mode both runs each case both ways and prints the ratio.

Goals (issue 10): the cost does not depend on history size (the 1M case
within 1.5x of the empty one), and health p99 stays under 100 ms.

usage: python3 bench/dash_bench.py [--dashboards 100] [--seconds 60]
                                   [--cases one,one-1m,many] [--clusters 300]
                                   [--mode poll|stream|both]
"""

import argparse
import collections
import http.client
import os
import random
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402
from history_bench import fill, pct  # noqa: E402
from harness.sse import Stream  # noqa: E402

GOAL_HISTORY_RATIO = 1.5
GOAL_HEALTH_P99_MS = 100.0
WARMUP_S = 5


def get(port, path, timeout=10):
    """One GET on a new connection: (status, bytes, ms)."""
    t0 = time.perf_counter()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers={"Authorization": "Bearer " + benchlib.BENCH_TOKEN,
                                        "Connection": "close"})
        r = c.getresponse()
        body = r.read()
        return r.status, len(body), (time.perf_counter() - t0) * 1000
    finally:
        c.close()


class Load:
    """D dashboards and a health probe, until stop is set."""

    def __init__(self, port, dashboards, mode="poll"):
        self.port = port
        self.mode = mode
        self.dashboards = dashboards
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.pages = self.errors = 0
        self.sizes = []
        self.health = []
        self.counting = False
        self.threads = []

    def streamed(self, rnd):
        time.sleep(rnd.random())
        s = Stream(self.port, "/ui/stream", benchlib.BENCH_TOKEN)
        if s.status != 200:
            with self.lock:
                self.errors += 1
            return
        while not self.stop.is_set():
            e = s.next(0.5, "clusters")
            if e is not None:
                with self.lock:
                    if self.counting:
                        self.pages += 1
                        if len(self.sizes) < 1000:
                            self.sizes.append(len(e.data))
        s.close()

    def dashboard(self, rnd):
        if self.mode == "stream":
            return self.streamed(rnd)
        time.sleep(rnd.random())
        n = 0
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                st, size, _ = get(self.port, "/ui/clusters")
                if n % 5 == 0:
                    get(self.port, "/ui/notifications")
                ok = st == 200
            except OSError:
                ok, size = False, 0
            with self.lock:
                if self.counting:
                    self.pages += 1
                    self.errors += 0 if ok else 1
                    if len(self.sizes) < 1000:
                        self.sizes.append(size)
            n += 1
            self.stop.wait(max(0.0, 1.0 - (time.monotonic() - t0)))

    def probe(self):
        while not self.stop.is_set():
            try:
                st, _, ms = get(self.port, "/api/v1/health", timeout=5)
            except OSError:
                st, ms = 0, 5000.0
            with self.lock:
                if self.counting:
                    self.health.append(ms if st == 200 else 5000.0)
            self.stop.wait(0.02)

    def start(self):
        rnd = random.Random(7)
        for _ in range(self.dashboards):
            t = threading.Thread(target=self.dashboard, args=(random.Random(rnd.random()),),
                                 daemon=True)
            t.start()
            self.threads.append(t)
        t = threading.Thread(target=self.probe, daemon=True)
        t.start()
        self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(15)


def run_case(env, label, args, nclusters, events, mode="poll"):
    if nclusters == 1:
        topo = env.topology()
    else:
        topo = env.topology(masters=["c%03d" % i for i in range(nclusters)], replicas=0,
                            down_after_ms=30000)
    hp = env.hapanel(topo, env_extra=benchlib.hapanel_env())
    if events:
        hp.stop()
        harness.log("%s: filling %d events" % (label, events))
        fill(os.path.join(hp.data_dir, "hapanel.db"), events, int(time.time() * 1000))
        hp.start()

    def listed():
        r = hp.get("/api/v1/clusters", token=benchlib.BENCH_TOKEN)
        return r.status == 200 and len(r.body.get("clusters") or []) == nclusters
    harness.wait_for(listed, 120, 0.5, msg="%d clusters listed" % nclusters)
    load = Load(hp.port, args.dashboards, mode)
    load.start()
    time.sleep(WARMUP_S)
    m0 = hp.get("/metrics", token=benchlib.BENCH_TOKEN).text
    cpu0 = benchlib.proc_cpu_s(hp.popen.pid)
    with load.lock:
        load.counting = True
    t0 = time.monotonic()
    w0 = int(time.time() * 1000)
    time.sleep(args.seconds)
    with load.lock:
        load.counting = False
    cpu = benchlib.proc_cpu_s(hp.popen.pid) - cpu0
    wall = time.monotonic() - t0
    m1 = hp.get("/metrics", token=benchlib.BENCH_TOKEN).text
    rss = benchlib.proc_rss_kb(hp.popen.pid)
    load.finish()
    # Nothing is stopped: a warning or critical event in the window (a
    # sentinel-down under load, a quorum-lost) is a false one.
    r = hp.get("/api/v1/events?since=%d&until=%d&limit=1000" % (w0, int(time.time() * 1000)),
               token=benchlib.BENCH_TOKEN)
    bad = [e.get("type") for e in (r.body.get("events") or [])
           if e.get("severity") in ("warning", "critical")] if r.status == 200 else ["?"]
    renders = benchlib.metric(m1, "hapanel_ui_renders_total") - benchlib.metric(
        m0, "hapanel_ui_renders_total")
    res = {
        "label": label + (" [stream]" if mode == "stream" else " [poll]"), "pages": load.pages, "errors": load.errors, "cpu_s": cpu,
        "cpu_ms_dash_min": cpu * 1000 / (wall / 60.0) / args.dashboards,
        "renders": renders, "size": statistics.median(load.sizes) if load.sizes else 0,
        "health_p50": statistics.median(load.health) if load.health else -1,
        "health_p99": pct(load.health, 99) if load.health else -1, "rss_mb": rss / 1024.0,
        "wall": wall, "bad_events": bad,
    }
    hp.stop()
    topo.close()
    return res


def bench(env, lines, args):
    cases = {"one": (1, 0), "one-1m": (1, args.events), "many": (args.clusters, 0)}
    out = []
    for name in args.cases.split(","):
        n, ev = cases[name]
        label = "%d cluster%s, %s events" % (n, "" if n == 1 else "s", "{:,}".format(ev))
        for mode in (("poll", "stream") if args.mode == "both" else (args.mode,)):
            harness.log("case %s, %s" % (label, mode))
            out.append(run_case(env, label, args, n, ev, mode))
    lines.append("%d dashboards, %d s each case (GET /ui/clusters every 1 s, /ui/notifications "
                 "every 5 s, new connection per request)" % (args.dashboards, args.seconds))
    lines.append("%-39s %7s %6s %8s %14s %8s %9s %10s %10s %7s %8s" % (
        "case", "pages", "errors", "cpu s", "cpu ms/dash/min", "renders", "page KB",
        "health p50", "health p99", "RSS MB", "warn ev"))
    for r in out:
        lines.append("%-39s %7d %6d %8.2f %14.1f %8d %9.1f %10.2f %10.2f %7.1f %8d" % (
            r["label"], r["pages"], r["errors"], r["cpu_s"], r["cpu_ms_dash_min"], r["renders"],
            r["size"] / 1024.0, r["health_p50"], r["health_p99"], r["rss_mb"],
            len(r["bad_events"])))
        if r["bad_events"]:
            lines.append("  warning/critical events in the window: %s" % dict(
                collections.Counter(r["bad_events"])))
    polls = [r for r in out if r["label"].endswith("[poll]")]
    for r in out:
        if not r["label"].endswith("[stream]"):
            continue
        base = [p for p in polls if p["label"][:-7] == r["label"][:-9]]
        if base and r["cpu_ms_dash_min"]:
            lines.append("stream_vs_poll: %s: %.1f vs %.1f CPU ms per page per minute (%.1fx less)"
                         % (r["label"][:-9], r["cpu_ms_dash_min"], base[0]["cpu_ms_dash_min"],
                            base[0]["cpu_ms_dash_min"] / r["cpu_ms_dash_min"]))
    by = {r["label"].split(",")[1].split("[")[0].strip(): r for r in polls
          if r["label"].startswith("1 cluster")}
    if len(by) == 2:
        empty, full = by["0 events"], [v for k, v in by.items() if k != "0 events"][0]
        ratio = full["cpu_ms_dash_min"] / empty["cpu_ms_dash_min"] if empty["cpu_ms_dash_min"] else 0
        lines.append("history_independent: 1M-event history costs %.2fx the empty one goal <= %.1fx: %s"
                     % (ratio, GOAL_HISTORY_RATIO, "met" if ratio <= GOAL_HISTORY_RATIO else "NOT met"))
    worst = max(r["health_p99"] for r in out)
    lines.append("health_p99: worst %.2f ms goal < %.0f ms: %s" % (
        worst, GOAL_HEALTH_P99_MS, "met" if worst < GOAL_HEALTH_P99_MS else "NOT met"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dashboards", type=int, default=100)
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--cases", default="one,one-1m,many")
    p.add_argument("--clusters", type=int, default=300, help="clusters of the 'many' case (300)")
    p.add_argument("--events", type=int, default=1000000, help="history of the 'one-1m' case")
    p.add_argument("--mode", default="poll", choices=("poll", "stream", "both"))
    a = p.parse_args()
    if not (1 <= a.dashboards <= 500 and 5 <= a.seconds <= 900 and 2 <= a.clusters <= 1000):
        p.error("out of range: dashboards 1-500, seconds 5-900, clusters 2-1000")
    benchlib.setup(3600)
    benchlib.run(lambda env, lines: bench(env, lines, a), "dash_bench",
                 lambda lines: print("\n".join(lines)))


if __name__ == "__main__":
    main()
