#!/usr/bin/env python3
"""poll_bench.py — hapanel's CPU time per node poll with more than 100 nodes
monitored.

Starts 34 masters with 2 replicas each (102 redis-server processes, started
one after the other, `save ""`, `appendonly no`, loglevel warning) and 3
Sentinels that all monitor all 34 masters (quorum 2, down-after 5000 ms),
starts hapanel (HAPANEL_BIN, default build-bench/hapanel) with
HAPANEL_POLL_INTERVAL_MS=1000 pointed at the 3 Sentinels, waits until
GET /api/v1/clusters reports 34 clusters with 2 replicas each, lets it
settle, then measures over 30 s hapanel's CPU time (utime+stime of the whole
process from /proc/<pid>/stat) and the node polls done (hapanel_polls_total of
GET /metrics). Reports CPU ms per node poll (goal < 0.2 ms) and hapanel's RSS.

The CPU figure includes everything hapanel does in that time — Sentinel
polling (SENTINEL MASTERS/REPLICAS/SENTINELS on 3 Sentinels every second),
pub/sub, snapshot publishing, the history writer and the few HTTP requests of
the benchmark — all charged to node polls: an upper bound of the per-poll
cost. A per-thread breakdown is printed too.

usage: python3 bench/poll_bench.py [--masters N] [--seconds S] [--settle S]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402

GOAL_MS = 0.2
EXPORTER_MS = 4.5  # the design's comparison figure: redis_exporter CPU per node scrape


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--masters", type=int, default=34, help="master names, 2 replicas each (34)")
    p.add_argument("--seconds", type=int, default=30, help="measurement window (30)")
    p.add_argument("--settle", type=int, default=5, help="seconds to wait before measuring (5)")
    p.add_argument("--ready-timeout", type=int, default=90,
                   help="bound on waiting for every cluster in the API (90)")
    a = p.parse_args()
    if not (1 <= a.masters <= 60 and 5 <= a.seconds <= 600 and 0 <= a.settle <= 120
            and 10 <= a.ready_timeout <= 600):
        p.error("out of range: masters 1-60, seconds 5-600, settle 0-120, ready-timeout 10-600")
    return a


def machine_cpu():
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    total = sum(v)
    return total - v[3] - v[4], total  # minus idle and iowait


def thread_cpu(pid):
    """{tid: (name, cpu seconds)} of every thread of pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                name = f.read().strip()
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        out[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / benchlib.CLK_TCK)
    return out


def bench(env, lines):
    a = ARGS
    names = ["m%02d" % i for i in range(a.masters)]
    d = os.path.join(env.tmpdir, "topo0")
    topo = harness.Topology(d, masters=names, replicas=2, sentinels=3, down_after_ms=5000,
                            failover_timeout_ms=60000, quorum=2, extra_conf="loglevel warning")
    topo.START_TIMEOUT = 120.0  # 34 masters take the Sentinels a while to settle
    env.topologies.append(topo)  # run_test closes it whatever happens
    harness.log("starting %d masters x (1 + 2 replicas) and 3 Sentinels" % a.masters)
    t0 = time.monotonic()
    topo.start()
    harness.log("topology ready in %.1f s: %d redis-server, %d redis-sentinel" % (
        time.monotonic() - t0, len(topo.nodes), len(topo.sentinels)))

    hp = env.hapanel(topo, env_extra=benchlib.hapanel_env({"HAPANEL_POLL_INTERVAL_MS": "1000"}))
    pid = hp.popen.pid
    state = {"last": "no answer"}

    def all_listed():
        r = hp.get("/api/v1/clusters", token=benchlib.BENCH_TOKEN)
        if r.status != 200:
            state["last"] = "status %d" % r.status
            return False
        cl = {c.get("name"): c for c in r.body.get("clusters", [])}
        good = [n for n in names if n in cl and cl[n].get("replicas") == 2]
        state["last"] = "%d of %d clusters with replicas == 2" % (len(good), len(names))
        return cl if len(good) == len(names) else False
    t0 = time.monotonic()
    cl = harness.wait_for(all_listed, a.ready_timeout, 0.5,
                          msg=lambda: "every cluster in GET /api/v1/clusters: %s" % state["last"])
    harness.log("hapanel lists %d clusters with 2 replicas each after %.1f s" % (
        len(names), time.monotonic() - t0))
    nodes = sum(1 + c.get("replicas", 0) for n, c in cl.items() if n in names)
    time.sleep(a.settle)

    def polls():
        r = hp.get("/metrics", token=benchlib.BENCH_TOKEN)
        assert r.status == 200, "GET /metrics -> %d" % r.status
        v = benchlib.metric(r.text, "hapanel_polls_total")
        f = benchlib.metric(r.text, "hapanel_poll_failures_total")
        assert v is not None, "no hapanel_polls_total in /metrics"
        return v, f or 0.0

    p0, f0 = polls()
    m0 = machine_cpu()
    c0, th0, w0 = benchlib.proc_cpu_s(pid), thread_cpu(pid), time.monotonic()
    harness.log("measuring for %d s" % a.seconds)
    time.sleep(a.seconds)
    c1, th1, w1 = benchlib.proc_cpu_s(pid), thread_cpu(pid), time.monotonic()
    p1, f1 = polls()
    m1 = machine_cpu()
    rss = benchlib.proc_rss_kb(pid)
    assert hp.running(), "hapanel died during the measurement"

    # the topology is still fully reported (nothing fell over under load)
    cl = all_listed()
    assert cl, "after the measurement: %s" % state["last"]

    wall = w1 - w0
    cpu = c1 - c0
    npolls = p1 - p0
    fails = f1 - f0
    assert npolls > 0, "no node polls counted in %.0f s" % wall
    per = cpu * 1000.0 / npolls
    byname = {}
    for tid, (name, s) in th1.items():
        d0 = th0.get(tid, (name, 0.0))[1]
        byname.setdefault(name, [0, 0.0])
        byname[name][0] += 1
        byname[name][1] += s - d0
    top = sorted(byname.items(), key=lambda kv: -kv[1][1])

    lines.append("setup: %d masters x 2 replicas + 3 Sentinels monitoring all of them; "
                 "poll interval 1000 ms; hapanel %s; %d CPUs" % (a.masters, hp.bin,
                                                                os.cpu_count() or 0))
    lines.append("nodes_monitored: %d" % nodes)
    lines.append("window: %.1f s" % wall)
    lines.append("node_polls: %d (%.1f per second, expected ~%d; failed %d)" % (
        npolls, npolls / wall, nodes, fails))
    lines.append("cpu_seconds: %.2f (%.1f%% of one core)" % (cpu, 100.0 * cpu / wall))
    lines.append("cpu_per_node_poll: %.3f ms  goal < %.1f ms: %s" % (
        per, GOAL_MS, "met" if per < GOAL_MS else "MISSED"))
    lines.append("  note: the CPU is all of hapanel's (node INFO polls plus Sentinel polling, "
                 "pub/sub, snapshot publishing, history writer and this benchmark's HTTP "
                 "requests), charged to node polls")
    lines.append("  threads: " + ", ".join("%s x%d %.2f s" % (n, c, s) for n, (c, s) in top))
    lines.append("  comparison (design figure): redis_exporter ~%.1f ms CPU per node scrape "
                 "(%.0fx this)" % (EXPORTER_MS, EXPORTER_MS / per if per > 0 else 0))
    lines.append("hapanel_rss: %.1f MiB (%d kB VmRSS)" % (rss / 1024.0, rss))
    rate = npolls / wall
    if abs(rate - nodes) > 0.05 * nodes:
        lines.append("WARNING: %.1f polls per second where %d nodes at 1 s should give %d: hapanel "
                     "fell behind its poll interval (an overloaded machine?)" % (rate, nodes, nodes))
    busy = (m1[0] - m0[0]) / float(max(1, m1[1] - m0[1]))
    lines.append("machine_cpu_busy: %.0f%% of %d CPUs during the window (hapanel, the %d Redis "
                 "processes and anything else running)" % (100 * busy, os.cpu_count() or 0,
                                                          len(topo.nodes) + len(topo.sentinels)))
    if busy > 0.9:
        lines.append("WARNING: the machine was saturated during the measurement: hapanel competed "
                     "for CPU, the figures are skewed")


def report(lines):
    print("\n== poll_bench results ==")
    for l in lines:
        print(l)
    sys.stdout.flush()


if __name__ == "__main__":
    ARGS = parse_args()
    benchlib.setup(limit_s=300 + ARGS.ready_timeout + ARGS.seconds + ARGS.settle)
    benchlib.run(bench, "poll_bench", report)
