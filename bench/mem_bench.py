#!/usr/bin/env python3
"""mem_bench.py — hapanel's resident memory under a mixed HTTP load, over
time: is it small, and does it stay flat?

Starts 1 master + 2 replicas + 3 Sentinels and hapanel once (it creates its
database), stops it, puts --events events into the history (so that the
event list and the history page are full pages, not empty ones), starts it
again with a viewer and an operator token, waits for the cluster, then for
--seconds keeps a mixed load on it from --clients Python threads, each on
its own keep-alive connection (reconnecting every --reconnect requests, as
browsers do after the keep-alive timeout, so that over time every one of
civetweb's worker threads serves requests), cycling through:

    GET /api/v1/clusters, GET /api/v1/events?limit=100, GET /ui/clusters,
    GET /ui/history, GET /metrics, GET /api/v1/health, and
    POST /api/v1/clusters/mymaster/failover with a body that has an unknown
    field (400, refused before anything starts)

(--wrk C: wrk with C connections and the same mix instead, as fast as it
goes). hapanel's VmRSS is sampled every --every seconds (10). Prints the
samples, min/max/last, VmHWM, the glibc arena heaps found in
/proc/<pid>/maps, the requests served by route and status, and whether RSS
is flat: the maximum over the last minute within 10% of the maximum over
the second minute.

Goal: RSS <= 40 MB over the whole window, and flat.

MALLOC_ARENA_MAX and other MALLOC_* variables are passed to hapanel as they
are set here, so `MALLOC_ARENA_MAX=16 python3 bench/mem_bench.py` measures
glibc's own default (8 arenas per core) against what hapanel sets itself.

usage: python3 bench/mem_bench.py [--seconds 600] [--clients 6] [--every 10]
                                  [--events 5000] [--reconnect 50] [--wrk C]
"""

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402
import history_bench  # noqa: E402  (its fill() puts events into a database)

GOAL_MB = 40.0
FLAT_PCT = 10.0
OP_TOKEN = "benchop"
BAD_BODY = json.dumps({"mode": "graceful", "no_such_field": 1})

MIX = [
    ("GET", "/api/v1/clusters", None),
    ("GET", "/api/v1/events?limit=100", None),
    ("GET", "/ui/clusters", None),
    ("GET", "/ui/history", None),
    ("GET", "/metrics", None),
    ("GET", "/api/v1/health", None),
    ("POST", "/api/v1/clusters/mymaster/failover", BAD_BODY),
]


class Client(threading.Thread):
    """Cycles through MIX on one keep-alive connection, a new one every
    `reconnect` requests; counts (path, status)."""

    def __init__(self, port, reconnect, offset):
        super().__init__(daemon=True)
        self.port, self.reconnect, self.i = port, reconnect, offset
        self.halt = threading.Event()
        self.counts = {}
        self.errors = 0
        self.last_error = None

    def run(self):
        conn, used = None, 0
        while not self.halt.is_set():
            method, path, body = MIX[self.i % len(MIX)]
            self.i += 1
            hdr = {"Authorization": "Bearer " + (OP_TOKEN if method == "POST" else
                                                 benchlib.BENCH_TOKEN)}
            if body is not None:
                hdr["Content-Type"] = "application/json"
            try:
                if conn is None or used >= self.reconnect:
                    if conn is not None:
                        conn.close()
                    conn, used = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30), 0
                conn.request(method, path, body=body, headers=hdr)
                r = conn.getresponse()
                r.read()
                used += 1
                key = (method + " " + path.split("?")[0], r.status)
                self.counts[key] = self.counts.get(key, 0) + 1
                if r.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                self.errors += 1
                self.last_error = e
                if conn is not None:
                    conn.close()
                conn = None
                self.halt.wait(0.1)
        if conn is not None:
            conn.close()


WRK_LUA = r"""
local reqs = {}
local i = 0
init = function(args)
  local mix = {
%s
  }
  for k, r in ipairs(mix) do
    local h = {["Authorization"] = "Bearer " .. r[3]}
    if r[4] ~= nil then h["Content-Type"] = "application/json" end
    reqs[k] = wrk.format(r[1], r[2], h, r[4])
  end
end
request = function()
  i = i + 1
  return reqs[(i %% #reqs) + 1]
end
"""


def start_wrk(port, conns, seconds, tmpdir):
    wrk = "/usr/bin/wrk" if os.path.exists("/usr/bin/wrk") else "wrk"
    rows = []
    for method, path, body in MIX:
        tok = OP_TOKEN if method == "POST" else benchlib.BENCH_TOKEN
        rows.append('    {"%s", "%s", "%s", %s},' % (
            method, path, tok, "nil" if body is None else "'%s'" % body))
    script = os.path.join(tmpdir, "mix.lua")
    with open(script, "w") as f:
        f.write(WRK_LUA % "\n".join(rows))
    argv = [wrk, "-t2", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "10s", "-s", script,
            "http://127.0.0.1:%d/" % port]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, preexec_fn=harness._die_with_parent)


def arena_heaps(pid):
    """Anonymous mappings that start on a 64 MB boundary: the heaps of
    glibc's non-main malloc arenas (HEAP_MAX_SIZE), with their RSS in kB."""
    n, rss = 0, 0
    cur = None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(\S*)$", line)
                if m:
                    start = int(m.group(1), 16)
                    cur = (m.group(4) == "" and m.group(3) == "0" and start % (64 << 20) == 0)
                    if cur:
                        n += 1
                    continue
                if cur and line.startswith("Rss:"):
                    rss += int(line.split()[1])
    except OSError:
        pass
    return n, rss


def bench(env, lines, a):
    topo = env.topology(replicas=2, sentinels=3)
    extra = {"HAPANEL_API_TOKENS": "viewer:%s,operator:%s" % (benchlib.BENCH_TOKEN, OP_TOKEN)}
    for k, v in os.environ.items():
        if k.startswith("MALLOC_") or k.startswith("GLIBC_TUNABLES"):
            extra[k] = v
    hp = env.hapanel(topo, env_extra=extra)
    if a.events:
        hp.stop()
        harness.log("filling %d events" % a.events)
        history_bench.fill(os.path.join(hp.data_dir, "hapanel.db"), a.events,
                           int(time.time() * 1000))
        hp.start()

    def cluster_listed():
        r = hp.get("/api/v1/clusters", token=benchlib.BENCH_TOKEN)
        cl = [c for c in (r.body.get("clusters", []) if r.status == 200 else [])
              if c.get("name") == "mymaster"]
        return bool(cl) and cl[0].get("replicas") == 2 and cl[0].get("sentinels") == 3
    harness.wait_for(cluster_listed, 30, 0.2, msg="GET /api/v1/clusters lists mymaster")
    r = hp.post("/api/v1/clusters/mymaster/failover", body=BAD_BODY, token=OP_TOKEN)
    assert 400 <= r.status < 500, "the bad body got %d %s" % (r.status, r.text[:200])
    pid = hp.popen.pid
    idle_kb = benchlib.proc_rss_kb(pid)
    threads = len(os.listdir("/proc/%d/task" % pid))
    harness.log("idle RSS %.1f MB, %d threads; load for %d s" % (idle_kb / 1024.0, threads,
                                                                 a.seconds))

    clients, wrk = [], None
    if a.wrk:
        wrk = start_wrk(hp.port, a.wrk, a.seconds, env.tmpdir)
        env.on_cleanup(lambda: (wrk.poll() is None and os.killpg(wrk.pid, signal.SIGKILL)))
    else:
        clients = [Client(hp.port, a.reconnect, i) for i in range(a.clients)]
        for c in clients:
            c.start()

        def halt():
            for c in clients:
                c.halt.set()
            for c in clients:
                c.join(10)
        env.on_cleanup(halt)

    t0 = time.monotonic()
    samples = []  # (s since start, kB)
    while True:
        el = time.monotonic() - t0
        samples.append((el, benchlib.proc_rss_kb(pid)))
        harness.log("t=%4.0f s RSS %.1f MB" % (el, samples[-1][1] / 1024.0))
        if el >= a.seconds:
            break
        time.sleep(min(a.every, max(0.0, a.seconds - el)))
    wrk_out = ""
    if wrk is not None:
        try:
            out, _ = wrk.communicate(timeout=60)
            wrk_out = out.decode("utf-8", "replace")
        finally:
            if wrk.poll() is None:
                os.killpg(wrk.pid, signal.SIGKILL)
                wrk.wait()
    for c in clients:
        c.halt.set()
    for c in clients:
        c.join(10)
    hwm_kb = harness.proc_status_kb(pid, "VmHWM")
    heaps, heap_rss = arena_heaps(pid)
    threads = len(os.listdir("/proc/%d/task" % pid))
    r = hp.get("/api/v1/health", token=None)
    assert r.status == 200, "health after the load -> %d" % r.status

    mb = [kb / 1024.0 for _, kb in samples]
    last_min = [kb / 1024.0 for t, kb in samples if t >= samples[-1][0] - 60]
    minute2 = [kb / 1024.0 for t, kb in samples if 60 <= t <= 120]
    flat = None
    if minute2 and samples[-1][0] >= 180:
        flat = (max(last_min) - max(minute2)) / max(minute2) * 100.0
    counts = {}
    for c in clients:
        for k, v in c.counts.items():
            counts[k] = counts.get(k, 0) + v
    total = sum(counts.values())
    env_desc = " ".join("%s=%s" % (k, v) for k, v in sorted(extra.items())
                        if k.startswith("MALLOC_") or k.startswith("GLIBC_")) or \
        "no MALLOC_* variable set"
    lines.append("hapanel %s; %s; %d HTTP threads (default); load: %s for %d s; %d CPUs" % (
        hp.bin, env_desc, 32,
        "wrk -c%d" % a.wrk if a.wrk else "%d Python clients, new connection every %d requests"
        % (a.clients, a.reconnect), a.seconds, os.cpu_count() or 0))
    lines.append("rss_samples_mb (every %d s): %s" % (a.every, " ".join("%.1f" % x for x in mb)))
    lines.append("rss: idle %.1f MB; under load min %.1f, max %.1f, last %.1f MB; VmHWM %.1f MB"
                 % (idle_kb / 1024.0, min(mb), max(mb), mb[-1], hwm_kb / 1024.0))
    lines.append("glibc arena heaps (64 MB-aligned anonymous mappings): %d, %.1f MB resident; "
                 "threads %d" % (heaps, heap_rss / 1024.0, threads))
    if flat is None:
        lines.append("flat: not judged (needs at least 180 s)")
    else:
        lines.append("flat: last-minute max %.1f MB vs minute-2 max %.1f MB: %+.1f%% (within %.0f%%: "
                     "%s)" % (max(last_min), max(minute2), flat, FLAT_PCT,
                              "yes" if abs(flat) <= FLAT_PCT else "NO"))
    if clients:
        errs = sum(c.errors for c in clients)
        lines.append("requests: %d (%.0f/s), client errors %d%s" % (
            total, total / max(a.seconds, 1), errs,
            " (last: %s)" % next(c.last_error for c in clients if c.last_error) if errs else ""))
        lines.append("  " + ", ".join("%s %d: %d" % (k[0], k[1], v) for k, v in sorted(counts.items())))
    else:
        m = re.search(r"(\d+) requests in", wrk_out)
        rps = re.search(r"Requests/sec:\s+([\d.]+)", wrk_out)
        non2 = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk_out)
        lines.append("requests (wrk): %s (%s/s), non-2xx %s (the POST's 400s among them)" % (
            m.group(1) if m else "?", rps.group(1) if rps else "?", non2.group(1) if non2 else "0"))
    met = max(mb) <= GOAL_MB and (flat is None or abs(flat) <= FLAT_PCT)
    lines.append("mem_goal: max RSS %.1f MB <= %.0f MB%s: %s" % (
        max(mb), GOAL_MB, " and flat" if flat is not None else "", "met" if met else "NOT met"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=int, default=600)
    p.add_argument("--clients", type=int, default=6)
    p.add_argument("--every", type=int, default=10, help="seconds between RSS samples (10)")
    p.add_argument("--events", type=int, default=5000, help="events put into the history (5000)")
    p.add_argument("--reconnect", type=int, default=50,
                   help="requests per connection before a client reconnects (50)")
    p.add_argument("--wrk", type=int, default=0, metavar="C",
                   help="load with wrk and C connections instead of the Python clients")
    a = p.parse_args()
    if not (10 <= a.seconds <= 7200 and 1 <= a.clients <= 64 and 1 <= a.every <= 600
            and 0 <= a.events <= 2000000 and 1 <= a.reconnect and 0 <= a.wrk <= 1024):
        p.error("out of range")
    benchlib.setup(a.seconds + 300)
    benchlib.run(lambda env, lines: bench(env, lines, a), "mem_bench", report)


def report(lines):
    print("\n== mem_bench results ==")
    for l in lines:
        print(l)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
