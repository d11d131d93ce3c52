#!/usr/bin/env python3
"""stream_bench.py — how soon a role change reaches an open dashboard over
the live stream (issue 13, item 1).

One topology (1 master + 2 replicas + 3 Sentinels on 127.0.0.1,
down-after 1000 ms) and hapanel (HAPANEL_BIN, default build-bench/hapanel,
polling every 1000 ms: the default). P pages (default 10) hold GET
/ui/stream open, as the dashboard does; a subscriber on a Sentinel's
+switch-master channel takes the time of each switch. N times (default 20)
POST /api/v1/clusters/mymaster/failover {mode: graceful}; per switchover,
the time from +switch-master (as the Sentinel published it) to the first
page pushed to each open page that names the new master (data-master),
then the job is awaited and the topology left to settle.

Prints the median, p90 and maximum of that latency over every page and
switchover, and the median per switchover of the slowest page. The
browser's own figure (the page redrawn, in Chromium) is
bench/page_latency.mjs's.

usage: python3 bench/stream_bench.py [--switchovers 20] [--pages 10]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402
from harness.sse import Stream, Switches  # noqa: E402

VIEWER, OPERATOR = harness.VIEWER_TOKEN, harness.OPERATOR_TOKEN


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def bench(env, lines, args):
    topo = env.topology()
    hp = env.hapanel(topo, env_extra={"HAPANEL_POLL_INTERVAL_MS": "1000"})
    hp.wait_nodes_up([topo.current_master()] + topo.initial_replicas(), "mymaster", 15)
    pages = [Stream(hp.port, "/ui/stream", VIEWER) for _ in range(args.pages)]
    if any(p.status != 200 for p in pages):
        raise AssertionError("streams refused: %r" % [p.status for p in pages])
    sub = Switches(topo.sentinel_addrs)
    all_ms, worst_ms = [], []
    for i in range(args.switchovers):
        for p in pages:
            p.drain()
        r = hp.post("/api/v1/clusters/mymaster/failover", {"mode": "graceful"}, token=OPERATOR,
                    timeout=10)
        if r.status != 202:
            raise AssertionError("switchover %d refused: %s" % (i, r))
        sw = sub.next(60)
        if sw is None:
            raise AssertionError("switchover %d: no +switch-master within 60 s" % i)
        t_switch, new, _ = sw
        mark = 'data-master="%s"' % new
        per = []
        for p in pages:
            seen = None
            while time.monotonic() - t_switch < 10:
                e = p.next(0.5, "clusters")
                if e is not None and mark in e.data:
                    seen = e.at
                    break
            if seen is None:
                raise AssertionError("switchover %d: a page never named %s" % (i, new))
            per.append((seen - t_switch) * 1000)
        all_ms += per
        worst_ms.append(max(per))
        harness.log("switchover %d to %s: pages %.0f..%.0f ms after +switch-master"
                    % (i + 1, new, min(per), max(per)))
        hp.wait_job(r.body["job_id"], 90)
        topo.agreed_master(30)
        time.sleep(1.0)
    for p in pages:
        p.close()
    sub.close()
    lines.append("%d graceful switchovers, %d open pages (GET /ui/stream), poll 1000 ms"
                 % (args.switchovers, args.pages))
    lines.append("+switch-master -> page pushed naming the new master: median %.0f ms, p90 %.0f ms,"
                 " max %.0f ms (%d samples)" % (statistics.median(all_ms), pct(all_ms, 90),
                                                max(all_ms), len(all_ms)))
    lines.append("slowest page per switchover: median %.0f ms goal < 1000 ms: %s" % (
        statistics.median(worst_ms), "met" if statistics.median(worst_ms) < 1000 else "NOT met"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--switchovers", type=int, default=20)
    p.add_argument("--pages", type=int, default=10)
    a = p.parse_args()
    if not (1 <= a.switchovers <= 200 and 1 <= a.pages <= 500):
        p.error("out of range: switchovers 1-200, pages 1-500")
    benchlib.setup(3600)
    benchlib.run(lambda env, lines: bench(env, lines, a), "stream_bench",
                 lambda lines: print("\n".join(lines)))


if __name__ == "__main__":
    main()
