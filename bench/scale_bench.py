#!/usr/bin/env python3
"""scale_bench.py — hapanel watching 300 masters x 3 nodes: CPU per node poll,
snapshot freshness, RSS and false alerts over 5 minutes.

Starts --masters masters (300) with 2 replicas each (900 redis-server
processes, started in parallel batches of --batch, `save ""`, `appendonly no`,
loglevel warning, `hz 1`: see --hz) and 3 Sentinels that all monitor all of them (quorum 2,
down-after-milliseconds 30000), starts hapanel (HAPANEL_BIN, default
build-bench/hapanel) with HAPANEL_POLL_INTERVAL_MS=1000 pointed at the 3
Sentinels, waits until GET /api/v1/clusters lists every master with 2 replicas
linked and 3 Sentinels up, lets it settle, then over a window of --seconds
(300) takes:

- CPU per node poll: the delta of hapanel's utime+stime (/proc/<pid>/stat)
  over the delta of hapanel_polls_total (GET /metrics), as poll_bench.py does
  (goal < 0.1 ms);
- snapshot freshness: every 0.5-1.5 s (random, so that the samples do not
  lock onto the poll phase) GET /api/v1/clusters (each cluster's now -
  updated_at) and GET /api/v1/clusters/{name} of --sample-clusters clusters
  in turn (each node's now - last_ok_ms, the time of its last INFO answer).
  The goal is on the node figure, the age of what the API shows about a
  node: p99 < 1.2 x the poll interval;
- hapanel's VmRSS (/proc/<pid>/status) at every sample: goal peak < 60 MB;
- false alerts: nothing is killed or stopped, so every alert started in the
  window (GET /api/v1/alerts?state=all) and every warning or critical event
  in it (GET /api/v1/events?since=&until=: node-down, sentinel-down,
  link-down, +sdown, +odown, ...) is a false one: goal 0.

Before it starts anything it checks that the machine can hold the processes
(MemAvailable, pid_max, RLIMIT_NOFILE, which it raises to the hard limit) and
lowers --masters to what fits, saying so. Every process it started is killed
at the end (the harness does it, also on failure or Ctrl-C), and it checks
afterwards that none of them is left.

usage: python3 bench/scale_bench.py [--masters 300] [--seconds 300] [--settle 20]
                                    [--batch 50] [--sample-clusters 20] [--hz 1]
"""

import argparse
import atexit
import collections
import http.client
import json
import os
import random
import resource
import signal
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402

POLL_MS = 1000
GOAL_CPU_MS = 0.1
GOAL_FRESH_X = 1.2  # x the poll interval
GOAL_RSS_MB = 60
DOWN_AFTER_MS = 30000
REPLICAS = 2
SENTINELS = 3
NODE_RSS_MB = 15     # a redis-server with 2 replicas attached, a bit above what it uses
TASKS_PER_PROC = 6   # main thread, 3 bio threads, jemalloc's, a fork now and then
FDS_PER_NODE = 4     # in the Sentinels (a command and a pub/sub link per node) and hapanel
# warning and critical events that nothing in a quiet window should cause
BAD_SEVERITIES = ("warning", "critical")
ALERT_EVENT_TYPES = ("alert-fired", "alert-resolved")

STARTED_PIDS = []    # every process this run started, checked at exit


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--masters", type=int, default=300, help="master names, 2 replicas each (300)")
    p.add_argument("--seconds", type=int, default=300, help="measurement window (300)")
    p.add_argument("--settle", type=int, default=20, help="seconds to wait before measuring (20)")
    p.add_argument("--batch", type=int, default=50,
                   help="redis-server processes started at a time (50)")
    p.add_argument("--sample-clusters", type=int, default=20,
                   help="cluster bodies read per freshness sample (20)")
    p.add_argument("--hz", type=int, default=1,
                   help="the redis-servers' hz (1): at Redis' default of 10, 900 idle servers "
                        "take more than a core of a 2-core machine by themselves")
    p.add_argument("--ready-timeout", type=int, default=300,
                   help="bound on waiting for every cluster in the API (300)")
    a = p.parse_args()
    if not (1 <= a.masters <= 1000 and 10 <= a.seconds <= 3600 and 0 <= a.settle <= 600
            and 1 <= a.batch <= 200 and 1 <= a.sample_clusters <= 1000
            and 1 <= a.hz <= 500 and 10 <= a.ready_timeout <= 1800):
        p.error("out of range: masters 1-1000, seconds 10-3600, settle 0-600, batch 1-200, "
                "sample-clusters 1-1000, hz 1-500, ready-timeout 10-1800")
    return a


# --- what the machine holds --------------------------------------------------

def mem_available_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def tasks_now():
    n = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                n += len(os.listdir("/proc/%s/task" % d))
            except OSError:
                pass
    return n


def fit_masters(want):
    """Raises RLIMIT_NOFILE to what the run needs (up to the hard limit) and
    returns (masters that fit, [reasons it is fewer than want])."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need_fds = want * (1 + REPLICAS) * FDS_PER_NODE + 1024
    target = need_fds if hard == resource.RLIM_INFINITY else min(hard, max(soft, need_fds))
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    why = []
    by_mem = int((mem_available_kb() / 1024.0 - 2048) / ((1 + REPLICAS) * NODE_RSS_MB))
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    by_pid = int((pid_max - tasks_now() - 2000) / ((1 + REPLICAS) * TASKS_PER_PROC))
    by_fd = int((soft - 1024) / ((1 + REPLICAS) * FDS_PER_NODE))
    n = want
    for lim, what in ((by_mem, "MemAvailable %d MB" % (mem_available_kb() // 1024)),
                      (by_pid, "pid_max %d" % pid_max),
                      (by_fd, "RLIMIT_NOFILE %d" % soft)):
        if lim < n:
            n = max(0, lim)
            why.append("%s holds %d masters" % (what, lim))
    return n, why


# --- the topology, started in parallel batches -------------------------------

class ScaleTopology(harness.Topology):
    """harness.Topology whose start() spawns the redis-servers --batch at a
    time (masters first, then the replicas, then the Sentinels) and then waits
    for each of a batch to answer PING, instead of one after the other. A
    process whose port was taken meanwhile is started again by the harness's
    own _start_proc (another port, retried). Everything spawned is in nodes /
    sentinels at once, so close() kills it whatever happens."""

    BATCH = 50

    def _spawn(self, kind, conf_fn, binary, used):
        port = harness.free_port()
        while port in used:
            port = harness.free_port()
        used.add(port)
        p = self._spawn_proc(kind, conf_fn, binary, port)
        STARTED_PIDS.append(p.popen.pid)
        return p

    def _wait_ping(self, p, timeout):
        """The harness's wait, but a Sentinel gets 10 s per PING: one that
        monitors hundreds of masters rewrites (and fsyncs) its config file at
        every replica and Sentinel it discovers, and its event loop answers
        nothing for seconds at a time while it does."""
        if p.kind != "sentinel":
            return super()._wait_ping(p, timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not p.alive():
                return False
            try:
                with harness.Redis("127.0.0.1", p.port, password=self.password, timeout=10) as r:
                    if r.cmd("PING") == "PONG":
                        return True
            except (OSError, harness.RedisError):
                pass
            time.sleep(0.1)
        return False

    def _start_many(self, kind, conf_fns, binary, into):
        """Starts one process per conf_fn, BATCH at a time; appends each to
        `into` as it is spawned; returns them in order once all answer PING."""
        used = set(p.port for p in self.nodes + self.sentinels)
        out = []
        for i in range(0, len(conf_fns), self.BATCH):
            batch = []
            for fn in conf_fns[i:i + self.BATCH]:
                p = self._spawn(kind, fn, binary, used)
                into.append(p)
                batch.append((p, fn))
            for p, fn in batch:
                if self._wait_ping(p, 180 if kind == "sentinel" else 20):
                    out.append(p)
                    continue
                text = harness.tail(p.logpath, 15) + "\n" + harness.tail(
                    os.path.join(os.path.dirname(p.logpath), "stdout.log"), 15)
                if p.alive() or not ("in use" in text or "bind" in text.lower()):
                    raise RuntimeError("%s on port %d did not start:\n%s" % (kind, p.port, text))
                p.popen.wait()
                into.remove(p)
                q = self._start_proc(kind, fn, binary)  # another port, the harness's retries
                STARTED_PIDS.append(q.popen.pid)
                into.append(q)
                out.append(q)
        return out

    def start(self):
        try:
            masters = self._start_many(
                "redis", [lambda port, d, lp: self._node_conf(port, d, lp)] * len(self.masters),
                harness.REDIS_SERVER, self.nodes)
            harness.log("%d masters answer PING" % len(masters))
            fns = []
            for m in masters:
                for _ in range(self.nreplicas):
                    fns.append(lambda port, d, lp, a=m.addr: self._node_conf(port, d, lp, a))
            replicas = self._start_many("redis", fns, harness.REDIS_SERVER, self.nodes)
            harness.log("%d replicas answer PING" % len(replicas))
            monitored = []
            for k, name in enumerate(self.masters):
                self.groups[name] = [masters[k]] + \
                    replicas[k * self.nreplicas:(k + 1) * self.nreplicas]
                monitored.append((name, masters[k].addr))
            self._start_many(
                "sentinel",
                [lambda port, d, lp: self._sentinel_conf(port, d, lp, monitored)] * self.nsentinels,
                harness.REDIS_SENTINEL, self.sentinels)
            harness.log("%d Sentinels answer PING; waiting for replication and the Sentinels "
                        "to settle" % len(self.sentinels))
            self.wait_ready(self.START_TIMEOUT)
        except BaseException:
            self.close()
            raise
        return self


# --- HTTP on one keep-alive connection ---------------------------------------

class Api:
    """GETs on one keep-alive connection (reopened when it drops), so the
    benchmark's own requests cost hapanel as little as they can."""

    def __init__(self, port):
        self.port = port
        self.conn = None
        self.requests = 0

    def get(self, path):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                self.conn.request("GET", path, headers={
                    "Authorization": "Bearer %s" % benchlib.BENCH_TOKEN})
                r = self.conn.getresponse()
                body = r.read()
                self.requests += 1
                if r.will_close:
                    self.close()
                return r.status, body
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, path):
        st, body = self.get(path)
        assert st == 200, "GET %s -> %d %s" % (path, st, body[:300])
        return json.loads(body)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def pct(v, p):
    """The p-th percentile (nearest rank) of a sorted list."""
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def thread_cpu(pid):
    """{tid: cpu seconds} of every thread of pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / benchlib.CLK_TCK
    return out


def machine_cpu():
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    total = sum(v)
    return total - v[3] - v[4], total


def cpu_pressure_us():
    """The kernel's "some" CPU pressure total (PSI): microseconds during which
    at least one runnable task waited for a CPU; None without PSI."""
    try:
        with open("/proc/pressure/cpu") as f:
            for line in f:
                if line.startswith("some"):
                    return int(line.split("total=")[1])
    except (OSError, IndexError, ValueError):
        pass
    return None


def paged(api, path, key, params):
    """Every row of a paged list route (newest first, before=next_before)."""
    rows = []
    before = None
    for _ in range(1000):
        q = dict(params)
        q["limit"] = 1000
        if before:
            q["before"] = before
        body = api.json(path + "?" + urllib.parse.urlencode(q))
        rows.extend(body.get(key) or [])
        before = body.get("next_before")
        if not before:
            break
    return rows


def bench(env, lines):
    a = ARGS
    names = ["m%03d" % i for i in range(a.masters)]
    d = os.path.join(env.tmpdir, "topo0")
    topo = ScaleTopology(d, masters=names, replicas=REPLICAS, sentinels=SENTINELS,
                         down_after_ms=DOWN_AFTER_MS, failover_timeout_ms=180000, quorum=2,
                         extra_conf="loglevel warning\nhz %d" % a.hz)
    topo.BATCH = a.batch
    topo.START_TIMEOUT = 60.0 + a.masters * 0.5  # the Sentinels read each master's INFO
    env.topologies.append(topo)  # run_test closes it whatever happens
    harness.log("starting %d masters x (1 + %d replicas) and %d Sentinels, %d at a time" % (
        a.masters, REPLICAS, SENTINELS, a.batch))
    t0 = time.monotonic()
    topo.start()
    start_s = time.monotonic() - t0
    harness.log("topology ready in %.1f s: %d redis-server, %d redis-sentinel" % (
        start_s, len(topo.nodes), len(topo.sentinels)))

    hp_start_ms = time.time() * 1000.0
    hp = env.hapanel(topo, env_extra=benchlib.hapanel_env({
        "HAPANEL_POLL_INTERVAL_MS": str(POLL_MS),
        "HAPANEL_BACKUP_DAILY_AT": "",  # no scheduled backup job in the window
    }))
    pid = hp.popen.pid
    STARTED_PIDS.append(pid)
    api = Api(hp.port)
    state = {"last": "no answer"}

    def all_listed():
        body = api.json("/api/v1/clusters")
        cl = {c.get("name"): c for c in body.get("clusters", [])}
        good = [n for n in names if n in cl and cl[n].get("replicas") == REPLICAS
                and cl[n].get("replicas_ok") == REPLICAS
                and cl[n].get("sentinels_ok") == SENTINELS and cl[n].get("status") == "ok"]
        state["last"] = "%d of %d clusters ok with %d replicas linked and %d Sentinels up" % (
            len(good), len(names), REPLICAS, SENTINELS)
        return cl if len(good) == len(names) else False
    t0 = time.monotonic()
    cl = harness.wait_for(all_listed, a.ready_timeout, 1.0,
                          msg=lambda: "every cluster in GET /api/v1/clusters: %s" % state["last"])
    ready_s = time.monotonic() - t0
    harness.log("hapanel lists %d clusters ok after %.1f s; settling %d s" % (
        len(names), ready_s, a.settle))
    nodes = sum(1 + c.get("replicas", 0) for n, c in cl.items() if n in names)
    time.sleep(a.settle)

    def polls():
        st, body = api.get("/metrics")
        assert st == 200, "GET /metrics -> %d" % st
        text = body.decode("utf-8", "replace")
        v = benchlib.metric(text, "hapanel_polls_total")
        f = benchlib.metric(text, "hapanel_poll_failures_total")
        assert v is not None, "no hapanel_polls_total in /metrics"
        return v, f or 0.0

    rnd = random.Random(1)
    node_age, cluster_age, sentinel_age = [], [], []
    never_ok = 0
    not_ok = collections.Counter()  # (cluster status, problem count) seen in summaries
    rss = []
    rounds = 0
    next_cluster = 0

    p0, f0 = polls()
    m0 = machine_cpu()
    psi0 = cpu_pressure_us()
    win0_ms = int(time.time() * 1000)
    c0, th0, w0 = benchlib.proc_cpu_s(pid), thread_cpu(pid), time.monotonic()
    end = w0 + a.seconds
    next_log = w0 + 30
    harness.log("measuring for %d s" % a.seconds)
    while True:
        now = time.monotonic()
        if now >= end:
            break
        body = api.json("/api/v1/clusters")
        t_ms = time.time() * 1000.0
        for c in body.get("clusters", []):
            if c.get("updated_at"):
                cluster_age.append(t_ms - c["updated_at"])
            if c.get("status") != "ok":
                not_ok[c.get("status")] += 1
        for _ in range(min(a.sample_clusters, len(names))):
            name = names[next_cluster % len(names)]
            next_cluster += 1
            c = api.json("/api/v1/clusters/%s" % name)
            t_ms = time.time() * 1000.0
            for n in [c.get("master") or {}] + list(c.get("replicas") or []):
                if n.get("last_ok_ms"):
                    node_age.append(t_ms - n["last_ok_ms"])
                else:
                    never_ok += 1
            for s in c.get("sentinels") or []:
                if s.get("last_ok_ms"):
                    sentinel_age.append(t_ms - s["last_ok_ms"])
        rss.append(benchlib.proc_rss_kb(pid))
        rounds += 1
        assert hp.running(), "hapanel died during the measurement"
        if now >= next_log:
            next_log += 30
            harness.log("%.0f s of %d: %d node samples, RSS %.1f MB" % (
                now - w0, a.seconds, len(node_age), rss[-1] / 1024.0))
        time.sleep(min(max(0.0, end - time.monotonic()), rnd.uniform(0.5, 1.5)))
    c1, th1, w1 = benchlib.proc_cpu_s(pid), thread_cpu(pid), time.monotonic()
    win1_ms = int(time.time() * 1000)
    p1, f1 = polls()
    m1 = machine_cpu()
    psi1 = cpu_pressure_us()
    rss.append(benchlib.proc_rss_kb(pid))
    hwm = harness.proc_status_kb(pid, "VmHWM")
    assert hp.running(), "hapanel died during the measurement"
    time.sleep(1.5)  # the history writer stores the window's last events
    cl = all_listed()
    still_ok = bool(cl)

    events = paged(api, "/api/v1/events", "events", {"since": win0_ms, "until": win1_ms})
    alerts = paged(api, "/api/v1/alerts", "alerts", {"state": "all"})
    api.close()

    # ---- figures -------------------------------------------------------------
    wall = w1 - w0
    cpu = c1 - c0
    npolls = p1 - p0
    fails = f1 - f0
    assert npolls > 0, "no node polls counted in %.0f s" % wall
    per = cpu * 1000.0 / npolls
    threads = sorted(((s - th0.get(tid, 0.0), tid) for tid, s in th1.items()), reverse=True)
    node_age.sort()
    cluster_age.sort()
    sentinel_age.sort()
    fresh_goal = GOAL_FRESH_X * POLL_MS
    fresh_p99 = pct(node_age, 99)
    rss_peak = max(rss)

    in_window = [al for al in alerts if win0_ms <= (al.get("started_at") or 0) <= win1_ms]
    active = [al for al in alerts if al.get("state") == "active"]
    bad = [e for e in events if e.get("severity") in BAD_SEVERITIES
           and e.get("type") not in ALERT_EVENT_TYPES]
    fired = [e for e in events if e.get("type") == "alert-fired"]
    false_alerts = len(in_window) + len(bad)
    ev_types = collections.Counter(e.get("type") for e in events)

    lines.append("setup: %d masters x %d replicas + %d Sentinels monitoring all of them "
                 "(quorum 2, down-after %d ms); poll interval %d ms; hapanel %s; %d CPUs" % (
                     a.masters, REPLICAS, SENTINELS, DOWN_AFTER_MS, POLL_MS, hp.bin,
                     os.cpu_count() or 0))
    if FIT_NOTE:
        lines.append("  masters lowered from %d: %s" % (ARGS.asked, "; ".join(FIT_NOTE)))
    lines.append("start: topology ready in %.1f s (%d redis-server, %d redis-sentinel, %d at a "
                 "time); every cluster ok in the API %.1f s after hapanel started" % (
                     start_s, len(topo.nodes), len(topo.sentinels), a.batch, ready_s))
    lines.append("nodes_monitored: %d" % nodes)
    lines.append("window: %.1f s" % wall)
    lines.append("node_polls: %d (%.1f per second, expected ~%d; failed %d)" % (
        npolls, npolls / wall, nodes, fails))
    lines.append("cpu_seconds: %.2f (%.1f%% of one core)" % (cpu, 100.0 * cpu / wall))
    lines.append("  threads (top 4 by CPU): " + ", ".join(
        "tid %d %.2f s" % (tid, s) for s, tid in threads[:4]) + "; %d threads in all" % len(th1))
    lines.append("  note: the CPU is all of hapanel's (node INFO polls plus Sentinel polling, "
                 "pub/sub, snapshot publishing, history writer and this benchmark's %d HTTP "
                 "requests), charged to node polls" % (rounds * (1 + a.sample_clusters)))
    lines.append("freshness_node: %d samples (%d rounds, %d cluster bodies each): now - "
                 "last_ok_ms p50 %.0f ms, p99 %.0f ms, max %.0f ms; %d nodes without last_ok_ms" % (
                     len(node_age), rounds, a.sample_clusters, pct(node_age, 50), fresh_p99,
                     node_age[-1] if node_age else float("nan"), never_ok))
    lines.append("freshness_cluster: %d samples: now - updated_at p50 %.0f ms, p99 %.0f ms, "
                 "max %.0f ms" % (len(cluster_age), pct(cluster_age, 50), pct(cluster_age, 99),
                                  cluster_age[-1] if cluster_age else float("nan")))
    lines.append("freshness_sentinel: %d samples: now - last_ok_ms p50 %.0f ms, p99 %.0f ms, "
                 "max %.0f ms" % (len(sentinel_age), pct(sentinel_age, 50), pct(sentinel_age, 99),
                                  sentinel_age[-1] if sentinel_age else float("nan")))
    if not_ok:
        lines.append("  cluster summaries not ok in the samples: %s" % dict(not_ok))
    lines.append("rss: peak VmRSS %.1f MB in the window, %.1f MB at its end, VmHWM %.1f MB "
                 "(start-up included)" % (rss_peak / 1024.0, rss[-1] / 1024.0, hwm / 1024.0))
    lines.append("events_in_window: %d %s" % (len(events), dict(ev_types) if ev_types else ""))
    lines.append("alerts: %d started in the window %s, %d active at its end, %d alert-fired events"
                 % (len(in_window),
                    dict(collections.Counter(al.get("rule") for al in in_window)) if in_window
                    else "", len(active), len(fired)))
    before = [al for al in alerts if (al.get("started_at") or 0) < win0_ms]
    if before:
        lines.append("  alerts started before the window (start-up and settling): %d %s; first "
                     "started %.1f s after hapanel, last resolved %.1f s after hapanel" % (
                         len(before), dict(collections.Counter(al.get("rule") for al in before)),
                         (min(al.get("started_at") or 0 for al in before) - hp_start_ms) / 1000.0,
                         (max(al.get("resolved_at") or 0 for al in before) - hp_start_ms) / 1000.0))
    for e in bad[:10]:
        lines.append("  false: %s %s %s %s %s" % (e.get("ts"), e.get("cluster"), e.get("type"),
                                                  e.get("node"), e.get("message")))
    for al in in_window[:10]:
        lines.append("  false alert: %s %s %s %s" % (al.get("cluster"), al.get("rule"),
                                                     al.get("node"), al.get("message")))
    if not still_ok:
        lines.append("WARNING: after the window: %s" % state["last"])
    rate = npolls / wall
    if abs(rate - nodes) > 0.05 * nodes:
        lines.append("WARNING: %.1f polls per second where %d nodes at %d ms should give %d: "
                     "hapanel fell behind its poll interval" % (rate, nodes, POLL_MS, nodes))
    busy = (m1[0] - m0[0]) / float(max(1, m1[1] - m0[1]))
    lines.append("machine_cpu_busy: %.0f%% of %d CPUs during the window (hapanel, the %d Redis "
                 "processes and anything else running)" % (
                     100 * busy, os.cpu_count() or 0, len(topo.nodes) + len(topo.sentinels)))
    if psi0 is not None and psi1 is not None:
        lines.append("cpu_pressure: some task waited for a CPU %.0f%% of the window (PSI)" % (
            (psi1 - psi0) / 1e4 / wall))
    if busy > 0.9:
        lines.append("WARNING: the machine was saturated during the measurement: hapanel competed "
                     "for CPU, the figures are skewed")
    busy_names = other_busy(pid)
    if busy_names:
        lines.append("  busy processes not started by this run at the end: %s" % busy_names)

    def verdict(ok):
        return "met" if ok else "NOT met"
    lines.append("")
    lines.append("cpu_per_node_poll: %.3f ms goal < %.1f ms: %s" % (
        per, GOAL_CPU_MS, verdict(per < GOAL_CPU_MS)))
    lines.append("freshness_p99: %.0f ms (p50 %.0f, max %.0f; node now - last_ok_ms) goal < %.0f ms "
                 "(%.1f x %d ms): %s" % (fresh_p99, pct(node_age, 50),
                                         node_age[-1] if node_age else float("nan"), fresh_goal,
                                         GOAL_FRESH_X, POLL_MS,
                                         verdict(fresh_p99 < fresh_goal and not never_ok)))
    lines.append("hapanel_rss: %.1f MB peak (%d masters) goal < %d MB: %s" % (
        rss_peak / 1024.0, a.masters, GOAL_RSS_MB, verdict(rss_peak / 1024.0 < GOAL_RSS_MB)))
    lines.append("false_alerts: %d in %.0f s (%d alerts, %d warning/critical events) goal 0: %s" % (
        false_alerts, wall, len(in_window), len(bad), verdict(false_alerts == 0)))


def other_busy(own_pid, secs=2.0):
    """Processes not started by this run that used more than 10% of a CPU
    over secs (another benchmark or test on the machine)."""
    own = set(STARTED_PIDS) | {own_pid, os.getpid()}

    def snap():
        out = {}
        for d in os.listdir("/proc"):
            if d.isdigit() and int(d) not in own:
                try:
                    with open("/proc/%s/stat" % d) as f:
                        s = f.read()
                except OSError:
                    continue
                f = s[s.rindex(")") + 2:].split()
                out[int(d)] = (s[s.index("(") + 1:s.rindex(")")], int(f[11]) + int(f[12]))
        return out
    a = snap()
    time.sleep(secs)
    b = snap()
    use = collections.Counter()
    for p, (name, t) in b.items():
        if p in a:
            use[name] += (t - a[p][1]) / benchlib.CLK_TCK / secs
    return ", ".join("%s %.0f%%" % (n, 100 * v) for n, v in use.most_common(5) if v > 0.1)


def leftovers():
    """The processes this run started that still exist (not zombies)."""
    left = []
    for p in STARTED_PIDS:
        try:
            with open("/proc/%d/stat" % p) as f:
                s = f.read()
            with open("/proc/%d/cmdline" % p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if s[s.rindex(")") + 2] != "Z" and ("redis" in cmd or "hapanel" in cmd):
            left.append((p, cmd[:120]))
    return left


def check_leftovers():
    if not STARTED_PIDS:
        return
    left = leftovers()
    if left:
        harness.log("LEFT BEHIND: %d of the %d processes started are still running (killing "
                    "them): %s" % (len(left), len(STARTED_PIDS), left[:5]))
        for p, _ in left:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
    else:
        harness.log("all %d processes started by the run are gone" % len(STARTED_PIDS))


def report(lines):
    print("\n== scale_bench results ==")
    for l in lines:
        print(l)
    left = leftovers()
    print("leftover_processes: %d of %d started" % (len(left), len(STARTED_PIDS)))
    sys.stdout.flush()


FIT_NOTE = []

if __name__ == "__main__":
    ARGS = parse_args()
    ARGS.asked = ARGS.masters
    fit, why = fit_masters(ARGS.masters)
    if fit < ARGS.masters:
        if fit < 1:
            print("this machine holds no master: %s" % "; ".join(why), file=sys.stderr)
            sys.exit(2)
        harness.log("the machine holds %d masters, not %d: %s" % (fit, ARGS.masters,
                                                                   "; ".join(why)))
        ARGS.masters = fit
        FIT_NOTE.extend(why)
    atexit.register(check_leftovers)
    benchlib.setup(limit_s=600 + ARGS.masters + ARGS.ready_timeout + ARGS.seconds + ARGS.settle)
    benchlib.run(bench, "scale_bench", report)
