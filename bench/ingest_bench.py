#!/usr/bin/env python3
"""ingest_bench.py — Sentinel events per second that the history writer
sustains, the API's latency meanwhile, what happens past the queue's bound,
and whether Redis ever drops hapanel's pub/sub connection.

Starts 1 master + 2 replicas + 3 Sentinels and one more plain redis-server
(the injector), which hapanel is given as one more Sentinel address: hapanel
subscribes to its pub/sub (PSUBSCRIBE *) like to any Sentinel's, so a
PUBLISH of "+sdown" on it, with a payload in Sentinel's format, is an event
to hapanel. The injector keeps Redis's default pub/sub output buffer limit
(client-output-buffer-limit pubsub 32mb 8mb 60: a subscriber more than 32 MB
behind, or more than 8 MB behind for 60 s, is disconnected).

Then, for each rate (events/s offered; "max": as fast as --publishers
connections with pipelined PUBLISH go) and each mode ("distinct": every
event names another node, so none can coalesce; "same": every event names
the same node, so past 1,000 queued they coalesce, one row per second), it
floods for --seconds into a cluster name of its own, and measures:

- offered: PUBLISHes sent per second, and delivered: how many reached a
  subscriber (PUBLISH's reply; 0 means hapanel was not subscribed);
- read: how many hapanel took from the socket (hapanel_sentinel_events_total);
- stored: rows in the history (the SQLite file, read-only) per second of
  the flood and until the last one was stored; coalesced: events counted
  on another row (details.count); dropped: what the events-dropped rows
  count; whether the events_dropped alert opened; lost: delivered minus
  stored, coalesced and dropped (should be 0);
- p50/p99/max of GET /api/v1/health and GET /api/v1/events?limit=50, each
  asked in a loop on its own keep-alive connection during the flood;
- hapanel's peak VmRSS during the flood and its RSS after;
- hapanel's pub/sub connection on the injector: its client id before and
  after (a new id: it was disconnected and reconnected), the peak of its
  output buffer (omem of CLIENT LIST TYPE pubsub), and the injector's log
  lines about output buffer limits.

At the end it waits (unless --no-resolve-wait) for the events_dropped alert
to resolve (a minute without drops). Prints one line per flood and a
summary.

usage: python3 bench/ingest_bench.py [--seconds 10] [--rates 1000,5000,20000,50000,max]
                                     [--modes distinct,same] [--publishers 3]
                                     [--no-resolve-wait]
"""

import argparse
import http.client
import json
import os
import re
import select
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402

CHANNEL = "+sdown"
MAX_INFLIGHT = 20000  # PUBLISHes sent and not yet answered, per publisher


# --------------------------------------------------------------- publisher
# A child process (this script with --_flood): floods one injector port and
# prints what it sent as one JSON line. A process of its own so that several
# publishers and the measuring parent do not share one interpreter lock.

def _payload(mode, cluster, seed, n):
    if mode == "same":
        return "master %s 127.0.0.1 6379" % cluster
    host = "%d.%d.%d.%d" % (10 + seed, (n >> 16) & 255, (n >> 8) & 255, n & 255)
    return "slave %s:6379 %s 6379 @ %s 127.0.0.1 6379" % (host, host, cluster)


def _encode(payload):
    ch = CHANNEL.encode()
    p = payload.encode()
    return b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(ch), ch, len(p), p)


def flood_child(port, rate, seconds, mode, cluster, seed):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(None)  # blocking; the reader waits in select
    st = {"sent": 0, "replies": 0, "zero": 0, "delivered": 0}
    stop = threading.Event()

    def reader():
        rest = b""
        quiet = 0
        while not (stop.is_set() and st["replies"] >= st["sent"]):
            if not select.select([s], [], [], 0.2)[0]:
                quiet += 1
                if stop.is_set() and quiet > 50:  # 10 s without a reply after the end
                    break
                continue
            quiet = 0
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            buf = rest + chunk
            cut = buf.rfind(b"\r\n") + 2
            part, rest = buf[:cut], buf[cut:]
            n = part.count(b"\r\n")
            z = part.count(b":0\r\n")
            st["replies"] += n
            st["zero"] += z
            st["delivered"] += part.count(b":1\r\n")  # one subscriber: hapanel
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    same = _encode(_payload("same", cluster, seed, 0)) if mode == "same" else None
    batch = 200 if rate == 0 else max(1, min(500, rate // 200))  # ~5 ms of events
    t0 = time.monotonic()
    end = t0 + seconds
    n = 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if rate:
            due = int((now - t0) * rate) - n
            if due <= 0:
                time.sleep(min(0.002, end - now))
                continue
            k = min(due, 5000)
        else:
            k = batch
        while n - st["replies"] > MAX_INFLIGHT and time.monotonic() < end:
            time.sleep(0.0005)
        if same is not None:
            data = same * k
        else:
            data = b"".join(_encode(_payload(mode, cluster, seed, n + i)) for i in range(k))
        s.sendall(data)
        n += k
        st["sent"] = n
    sent_s = time.monotonic() - t0
    stop.set()
    t.join(30)
    s.close()
    st["elapsed"] = sent_s
    print(json.dumps(st), flush=True)


def start_publishers(port, rate, seconds, mode, cluster, npub):
    """npub children sharing the rate (0: as fast as each can)."""
    procs = []
    for i in range(npub):
        r = 0 if rate == 0 else max(1, rate // npub + (1 if i < rate % npub else 0))
        argv = [sys.executable, os.path.abspath(__file__), "--_flood", str(port), str(r),
                str(seconds), mode, cluster, str(i)]
        procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      preexec_fn=harness._die_with_parent))
    return procs


def finish_publishers(procs, seconds):
    out = {"sent": 0, "replies": 0, "zero": 0, "delivered": 0, "elapsed": 0.0}
    for p in procs:
        try:
            so, _ = p.communicate(timeout=seconds + 60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        if p.returncode != 0:
            raise AssertionError("a publisher exited with %s" % p.returncode)
        st = json.loads(so.decode().strip().splitlines()[-1])
        for k in ("sent", "replies", "zero", "delivered"):
            out[k] += st[k]
        out["elapsed"] = max(out["elapsed"], st["elapsed"])
    return out


# ---------------------------------------------------------------- probes

class Prober(threading.Thread):
    """GETs path in a loop on one keep-alive connection; keeps (t, ms)."""

    def __init__(self, port, path, pause=0.005):
        super().__init__(daemon=True)
        self.port, self.path, self.pause = port, path, pause
        self.samples = []  # (monotonic end time, latency ms, status)
        self.halt = threading.Event()
        self.errors = 0

    def run(self):
        hdr = {"Authorization": "Bearer " + benchlib.BENCH_TOKEN}
        conn = None
        while not self.halt.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                t0 = time.perf_counter()
                conn.request("GET", self.path, headers=hdr)
                r = conn.getresponse()
                r.read()
                dt = (time.perf_counter() - t0) * 1000
                self.samples.append((time.monotonic(), dt, r.status))
                if r.status != 200:
                    self.errors += 1
            except (OSError, http.client.HTTPException):
                self.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
            self.halt.wait(self.pause)
        if conn is not None:
            conn.close()

    def window(self, t0, t1):
        return [ms for t, ms, _ in self.samples if t0 <= t <= t1]


def pct(v, p):
    v = sorted(v)
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


class Sampler(threading.Thread):
    """Every 0.1 s: hapanel's VmRSS, the injector's view of hapanel's pub/sub
    client (id, omem), the history's max(id) and that of the current flood's
    cluster."""

    def __init__(self, pid, inj_addr, dbpath):
        super().__init__(daemon=True)
        self.pid, self.inj_addr, self.dbpath = pid, inj_addr, dbpath
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.rss = []    # (t, kB)
        self.sub = []    # (t, id or None, omem bytes)
        self.rows = []   # (t, max id)
        self.crows = []  # (t, max id of the current flood's cluster)
        self.cluster = ""
        self.err = None

    def run(self):
        r = None
        db = None
        while not self.halt.is_set():
            t = time.monotonic()
            try:
                kb = benchlib.proc_rss_kb(self.pid)
                if r is None:
                    r = harness.Redis.at(self.inj_addr, timeout=5)
                cid, omem = pubsub_client(r)
                if db is None:
                    db = sqlite3.connect("file:%s?mode=ro" % self.dbpath, uri=True, timeout=5)
                (mx,) = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
                (cmx,) = db.execute("SELECT coalesce(max(id), 0) FROM events WHERE cluster = ?",
                                    (self.cluster,)).fetchone()
                with self.lock:
                    self.rss.append((t, kb))
                    self.sub.append((t, cid, omem))
                    self.rows.append((t, mx))
                    self.crows.append((t, cmx))
            except Exception as e:  # keep sampling; report the last error
                self.err = e
                if r is not None:
                    r.close()
                r = None
            self.halt.wait(0.1)
        if r is not None:
            r.close()
        if db is not None:
            db.close()

    def between(self, series, t0, t1):
        with self.lock:
            return [x for x in getattr(self, series) if t0 <= x[0] <= t1]


def pubsub_client(r):
    """(id, omem) of the one pattern subscriber on the injector, or (None, 0)."""
    text = r.cmd("CLIENT", "LIST", "TYPE", "pubsub")
    for line in text.splitlines():
        kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
        if int(kv.get("psub", 0)) > 0:
            return int(kv["id"]), int(kv.get("omem", 0)) + int(kv.get("obl", 0))
    return None, 0


# ---------------------------------------------------------------- history

def db_counts(dbpath, cluster, base_id):
    """(rows, coalesced extra, events-dropped rows, dropped events) since base_id."""
    c = sqlite3.connect("file:%s?mode=ro" % dbpath, uri=True, timeout=10)
    try:
        rows, extra = c.execute(
            "SELECT count(*), coalesce(sum(CASE WHEN json_extract(details, '$.count') > 1 "
            "THEN json_extract(details, '$.count') - 1 ELSE 0 END), 0) FROM events "
            "WHERE cluster = ? AND id > ?", (cluster, base_id)).fetchone()
        drows, dropped = c.execute(
            "SELECT count(*), coalesce(sum(json_extract(details, '$.count')), 0) FROM events "
            "WHERE type = 'events-dropped' AND id > ?", (base_id,)).fetchone()
        alerts = c.execute("SELECT id, started_at, resolved_at FROM alerts "
                           "WHERE rule = 'events_dropped' ORDER BY id").fetchall()
    finally:
        c.close()
    return rows, extra, drows, dropped, alerts


def channel_gaps(dbpath, base_id):
    """events-dropped rows hapanel stored for a closed event channel (source
    a Sentinel, not the panel's queue) since base_id."""
    c = sqlite3.connect("file:%s?mode=ro" % dbpath, uri=True, timeout=10)
    try:
        return c.execute("SELECT count(*) FROM events WHERE type = 'events-dropped' AND "
                         "source LIKE 'sentinel %' AND id > ?", (base_id,)).fetchone()[0]
    finally:
        c.close()


def flood_max_id(dbpath, cluster):
    """The last row of the flood's cluster, or of an events-dropped event."""
    c = sqlite3.connect("file:%s?mode=ro" % dbpath, uri=True, timeout=10)
    try:
        a = c.execute("SELECT coalesce(max(id), 0) FROM events WHERE cluster = ?",
                      (cluster,)).fetchone()[0]
        b = c.execute("SELECT coalesce(max(id), 0) FROM events WHERE type = 'events-dropped'"
                      ).fetchone()[0]
        return max(a, b)
    finally:
        c.close()


def thread_sched(pid):
    """{tid: (seconds on a CPU, seconds runnable waiting for one)} of every
    thread of pid (/proc/<pid>/task/<tid>/schedstat)."""
    out = {}
    d = "/proc/%d/task" % pid
    for tid in os.listdir(d):
        try:
            with open("%s/%s/schedstat" % (d, tid)) as f:
                run, wait = f.read().split()[:2]
        except (OSError, ValueError):
            continue
        out[int(tid)] = (int(run) / 1e9, int(wait) / 1e9)
    return out


def cpu_split(c0, c1, dt):
    """Over dt, in % of the time: {writer, monitor: (on a CPU, waiting for a
    CPU, neither: blocked or idle)}, and the other threads' CPU. The writer is
    the first thread hapanel creates, the monitor the last one it starts
    (after the HTTP server's)."""
    tids = sorted(c1)
    writer, monitor = tids[1], tids[-1]
    out = {}
    for name, t in (("writer", writer), ("monitor", monitor)):
        run = c1[t][0] - c0.get(t, (0, 0))[0]
        wait = c1[t][1] - c0.get(t, (0, 0))[1]
        out[name] = (100 * run / dt, 100 * wait / dt, max(0.0, 100 * (dt - run - wait) / dt))
    out["rest"] = 100 * sum(c1[t][0] - c0.get(t, (0, 0))[0] for t in tids
                            if t not in (writer, monitor)) / dt
    return out


def max_id(dbpath):
    c = sqlite3.connect("file:%s?mode=ro" % dbpath, uri=True, timeout=10)
    try:
        return c.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    finally:
        c.close()


def sentinel_events(hp):
    r = hp.get("/metrics", token=benchlib.BENCH_TOKEN, timeout=10)
    assert r.status == 200, "GET /metrics -> %d" % r.status
    return int(benchlib.metric(r.text, "hapanel_sentinel_events_total") or 0)


def buffer_limit_lines(logpath):
    try:
        with open(logpath, "rb") as f:
            t = f.read().decode("utf-8", "replace")
    except OSError:
        return 0
    return len(re.findall(r"output buffer limits|closing client that reached max", t))


# ---------------------------------------------------------------- the run

def one_flood(a, hp, inj, inj_log, sampler, probes, rate, mode, idx):
    label = "%s/%s" % ("max" if rate == 0 else "%dk" % (rate // 1000) if rate >= 1000 else str(rate),
                       mode)
    cluster = "flood%d-%s-%s" % (idx, "max" if rate == 0 else str(rate), mode)
    dbpath = os.path.join(hp.data_dir, "hapanel.db")
    base = max_id(dbpath)
    read0 = sentinel_events(hp)
    with harness.Redis.at(inj.addr, timeout=5) as r:
        id0, _ = pubsub_client(r)
    lim0 = buffer_limit_lines(inj_log)
    log_size0 = os.path.getsize(hp.logpath)
    npub = a.publishers if rate == 0 else (1 if rate <= 20000 else 2)
    harness.log("flood %s: %s events/s for %d s from %d publisher(s), cluster %s" % (
        label, "max" if rate == 0 else rate, a.seconds, npub, cluster))
    sampler.cluster = cluster
    cpu0 = thread_sched(hp.popen.pid)
    t0 = time.monotonic()
    wall0 = int(time.time() * 1000)
    procs = start_publishers(inj.port, rate, a.seconds, mode, cluster, npub)
    pub = finish_publishers(procs, a.seconds)
    t1 = time.monotonic()

    cpu1 = thread_sched(hp.popen.pid)
    # drained: hapanel read all that was delivered (or stopped reading: what a
    # dropped connection lost never comes), and the flood's rows stopped growing
    read = [0, 0, time.monotonic()]

    def all_read():
        read[0] = sentinel_events(hp) - read0
        if read[0] != read[1]:
            read[1], read[2] = read[0], time.monotonic()
        return read[0] >= pub["delivered"] or time.monotonic() - read[2] >= 3.0
    harness.wait_for(all_read, a.drain, 0.2, msg="hapanel reads the flood")
    t_read = read[2] if read[0] < pub["delivered"] else time.monotonic()
    last = [flood_max_id(dbpath, cluster), time.monotonic()]

    def stable():
        m = flood_max_id(dbpath, cluster)
        if m != last[0]:
            last[0], last[1] = m, time.monotonic()
        return time.monotonic() - last[1] >= 1.5
    harness.wait_for(stable, a.drain, 0.1, msg="the history stops growing")
    # when the last row was stored: the first sample that saw the final max(id)
    t_stored = last[1]
    for t, mx in sampler.between("crows", t0, t_stored):
        if mx >= last[0]:
            t_stored = t
            break
    rows, extra, drows, dropped, alerts = db_counts(dbpath, cluster, base)
    with harness.Redis.at(inj.addr, timeout=5) as r:
        id1, _ = pubsub_client(r)
    lim1 = buffer_limit_lines(inj_log)

    rss = [kb for _, kb in sampler.between("rss", t0, t_stored)]
    subs = sampler.between("sub", t0, t_stored)
    ids = [cid for _, cid, _ in subs]
    id_changes = sum(1 for x, y in zip(ids, ids[1:]) if x != y)
    omem = max([om for _, _, om in subs] or [0])
    rowser = sampler.between("rows", t0 - 0.2, t_stored + 0.2)
    peak_rows_s = 0.0
    for i in range(len(rowser)):  # best 1 s window of the samples
        for j in range(i + 1, len(rowser)):
            if rowser[j][0] - rowser[i][0] >= 1.0:
                peak_rows_s = max(peak_rows_s, (rowser[j][1] - rowser[i][1]) /
                                  (rowser[j][0] - rowser[i][0]))
                break
    cpu = cpu_split(cpu0, cpu1, t1 - t0)
    h = probes["health"].window(t0, t1)
    e = probes["events"].window(t0, t1)
    store_s = max(t_stored - t0, 1e-9)
    active = [x for x in alerts if x[2] is None]
    opened = [x for x in alerts if x[1] >= wall0]
    res = {
        "label": label, "cluster": cluster, "publishers": npub,
        "offered": pub["sent"], "offered_s": pub["sent"] / max(pub["elapsed"], 1e-9),
        "delivered": pub["delivered"], "zero": pub["zero"], "read": read[0],
        "rows": rows, "coalesced": extra, "drop_rows": drows, "dropped": dropped,
        "lost": pub["delivered"] - rows - extra - dropped,
        "rows_s_flood": rows / max(t1 - t0, 1e-9), "rows_s": rows / store_s,
        "rows_s_peak": peak_rows_s,
        "events_s": (rows + extra) / store_s,
        "read_lag": t_read - t1, "store_lag": t_stored - t1,
        "alert_opened": bool(opened), "alert_active": bool(active),
        "health_p50": pct(h, 50), "health_p99": pct(h, 99), "health_max": max(h or [0]),
        "health_n": len(h),
        "events_p50": pct(e, 50), "events_p99": pct(e, 99), "events_max": max(e or [0]),
        "events_n": len(e),
        "rss_peak_mb": max(rss or [0]) / 1024.0, "rss_after_mb": benchlib.proc_rss_kb(hp.popen.pid) / 1024.0,
        "sub_id_before": id0, "sub_id_after": id1, "sub_id_changes": id_changes,
        "omem_peak_mb": omem / 1048576.0, "limit_lines": lim1 - lim0,
        "log_mb": (os.path.getsize(hp.logpath) - log_size0) / 1048576.0,
        "cpu": cpu,
        "read_s": read[0] / max(t_read - t0, 1e-9),
    }
    res["disconnected"] = (id0 != id1 or id_changes > 0 or pub["zero"] > 0 or lim1 > lim0)
    res["gaps_recorded"] = channel_gaps(dbpath, base)
    harness.log("  offered %d (%.0f/s) delivered %d read %d rows %d coalesced %d dropped %d lost %d; "
                "stored %.0f rows/s (peak %.0f/s), last row %.1f s after the flood; health p99 %.2f ms, "
                "events p99 %.2f ms; RSS peak %.1f MB; omem peak %.1f MB; pub/sub %s" % (
                    res["offered"], res["offered_s"], res["delivered"], res["read"], rows, extra,
                    dropped, res["lost"], res["rows_s"], peak_rows_s, res["store_lag"],
                    res["health_p99"], res["events_p99"], res["rss_peak_mb"], res["omem_peak_mb"],
                    "DISCONNECTED" if res["disconnected"] else "kept"))
    return res


def bench(env, lines, a):
    topo = env.topology(replicas=2, sentinels=3)
    # the injector: a plain redis-server, closed with the topologies
    itopo = harness.Topology(os.path.join(env.tmpdir, "injector"), replicas=0, sentinels=0)
    env.topologies.append(itopo)
    inj = itopo.start_node()
    with harness.Redis.at(inj.addr) as r:
        limit = r.cmd("CONFIG", "GET", "client-output-buffer-limit")[1]
        version = r.info("server").get("redis_version")
    pub_limit = re.search(r"pubsub (\d+) (\d+) (\d+)", limit)
    hp = env.hapanel(topo, env_extra=benchlib.hapanel_env(), extra_sentinel_hosts=[inj.addr])
    dbpath = os.path.join(hp.data_dir, "hapanel.db")

    def cluster_listed():
        r = hp.get("/api/v1/clusters", token=benchlib.BENCH_TOKEN)
        cl = [c for c in (r.body.get("clusters", []) if r.status == 200 else [])
              if c.get("name") == "mymaster"]
        return bool(cl) and cl[0].get("replicas") == 2
    harness.wait_for(cluster_listed, 30, 0.2, msg="GET /api/v1/clusters lists mymaster")

    def subscribed():
        with harness.Redis.at(inj.addr) as r:
            return pubsub_client(r)[0] is not None
    harness.wait_for(subscribed, 15, 0.1, msg="hapanel subscribes to the injector's pub/sub")

    sampler = Sampler(hp.popen.pid, inj.addr, dbpath)
    sampler.start()
    probes = {"health": Prober(hp.port, "/api/v1/health"),
              "events": Prober(hp.port, "/api/v1/events?limit=50")}
    for p in probes.values():
        p.start()

    def stop_threads():
        for t in list(probes.values()) + [sampler]:
            t.halt.set()
        for t in list(probes.values()) + [sampler]:
            t.join(10)
    env.on_cleanup(stop_threads)

    tb = time.monotonic()
    time.sleep(3)
    idle = {k: p.window(tb, time.monotonic()) for k, p in probes.items()}
    idle_rss = benchlib.proc_rss_kb(hp.popen.pid) / 1024.0
    results = []
    idx = 0
    for rate in a.rates:
        for mode in a.modes:
            idx += 1
            results.append(one_flood(a, hp, inj, inj.logpath, sampler, probes, rate, mode, idx))
            time.sleep(1)
    resolved = None
    if not a.no_resolve_wait and any(r["dropped"] for r in results):
        harness.log("waiting for the events_dropped alert to resolve (a minute without drops)")

        def alert_clear():
            _, _, _, _, al = db_counts(dbpath, "", 0)
            return bool(al) and all(x[2] is not None for x in al)
        t = time.monotonic()
        try:
            harness.wait_for(alert_clear, 100, 1.0)
            resolved = time.monotonic() - t
        except AssertionError:
            resolved = -1
    stop_threads()
    errors = {k: p.errors for k, p in probes.items()}
    vmhwm = harness.proc_status_kb(hp.popen.pid, "VmHWM") / 1024.0
    final_rss = benchlib.proc_rss_kb(hp.popen.pid) / 1024.0

    lines.append("redis %s, injector client-output-buffer-limit pubsub %s; hapanel %s; %d CPUs "
                 "shared by hapanel, 7 Redis processes and the publishers" % (
                     version, " ".join(pub_limit.groups()) if pub_limit else limit, hp.bin,
                     os.cpu_count() or 0))
    lines.append("idle: health p50 %.2f p99 %.2f ms, events?limit=50 p50 %.2f p99 %.2f ms, "
                 "RSS %.1f MB" % (pct(idle["health"], 50), pct(idle["health"], 99),
                                 pct(idle["events"], 50), pct(idle["events"], 99), idle_rss))
    hdr = ("%-13s %9s %8s %9s %9s %8s %8s %6s %7s %8s %8s %6s %8s %8s %7s %6s %5s" % (
        "flood", "offered/s", "offered", "delivered", "stored", "rows/s", "coalesc", "dropped",
        "alert", "hlth p99", "evts p99", "lag s", "RSS MB", "omem MB", "pub/sub", "lost", "logMB"))
    lines.append(hdr)
    for r in results:
        lines.append("%-13s %9.0f %8d %9d %9d %8.0f %8d %7d %7s %8.2f %8.2f %6.1f %8.1f %8.1f %7s "
                     "%6d %5.0f" % (
                         r["label"], r["offered_s"], r["offered"], r["delivered"], r["rows"],
                         r["rows_s"], r["coalesced"], r["dropped"],
                         "opened" if r["alert_opened"] else ("active" if r["alert_active"] else "-"),
                         r["health_p99"], r["events_p99"], r["store_lag"], r["rss_peak_mb"],
                         r["omem_peak_mb"], "DROPPED" if r["disconnected"] else "kept", r["lost"],
                         r["log_mb"]))
    lines.append("columns: stored = rows of the flood's cluster; rows/s = stored / (flood start .. "
                 "last row stored); lag s = last row stored after the flood ended; alert = the "
                 "events_dropped alert opened during this flood (or was still active); RSS = hapanel's "
                 "peak VmRSS; omem = peak output buffer of hapanel's pub/sub client on the injector; "
                 "lost = delivered - stored - coalesced - dropped; logMB = hapanel log written")
    for r in results:
        lines.append("%s: rows/s during the flood %.0f, best 1 s %.0f, events/s (rows + coalesced) "
                     "%.0f; health p50/p99/max %.2f/%.2f/%.2f ms (%d), events p50/p99/max "
                     "%.2f/%.2f/%.2f ms (%d); RSS after %.1f MB; pub/sub client id %s -> %s, "
                     "PUBLISH to no subscriber %d, injector log lines about the limit %d; read by "
                     "hapanel %d (%.0f/s), the last %.1f s after the flood; during the flood "
                     "(%% of the time on a CPU / waiting for one / blocked or idle): monitor "
                     "%.0f/%.0f/%.0f, writer %.0f/%.0f/%.0f, other threads' CPU %.0f%%" % ((
                         r["label"], r["rows_s_flood"], r["rows_s_peak"], r["events_s"],
                         r["health_p50"], r["health_p99"], r["health_max"], r["health_n"],
                         r["events_p50"], r["events_p99"], r["events_max"], r["events_n"],
                         r["rss_after_mb"], r["sub_id_before"], r["sub_id_after"], r["zero"],
                         r["limit_lines"], r["read"], r["read_s"], r["read_lag"])
                         + r["cpu"]["monitor"] + r["cpu"]["writer"] + (r["cpu"]["rest"],)))
    sustained = [r["rows_s"] for r in results if r["label"].endswith("distinct")
                 and r["dropped"] == 0 and r["coalesced"] == 0]
    lines.append("sustained (distinct nodes, nothing coalesced or dropped): best %s rows/s" % (
        "%.0f" % max(sustained) if sustained else "n/a"))
    disc = [r["label"] for r in results if r["disconnected"]]
    lines.append("pub/sub disconnections by Redis: %s; events-dropped events hapanel stored for "
                 "a closed event channel: %s" % (
                     ", ".join(disc) if disc else "none",
                     ", ".join("%s %d" % (r["label"], r["gaps_recorded"]) for r in results
                               if r["disconnected"] or r["gaps_recorded"]) or "none"))
    lost = sum(r["lost"] for r in results)
    lines.append("events unaccounted for (delivered - stored - coalesced - dropped): %d" % lost)
    if resolved is not None:
        lines.append("events_dropped alert: %s" % (
            "resolved %.0f s after the last flood" % resolved if resolved >= 0 else
            "NOT resolved within 100 s of the last flood"))
    lines.append("hapanel RSS: idle %.1f MB, peak over the run (VmHWM) %.1f MB, at the end %.1f MB; "
                 "probe errors %s%s" % (idle_rss, vmhwm, final_rss, errors,
                                        "; sampler error: %s" % sampler.err if sampler.err else ""))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--_flood":
        port, rate, seconds, mode, cluster, seed = sys.argv[2:8]
        flood_child(int(port), int(rate), float(seconds), mode, cluster, int(seed))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=int, default=10, help="seconds per flood (10)")
    p.add_argument("--rates", default="1000,5000,20000,50000,max",
                   help="events/s offered, comma separated; max: as fast as possible")
    p.add_argument("--modes", default="distinct,same", help="distinct,same")
    p.add_argument("--publishers", type=int, default=3, help="connections for the max rate (3)")
    p.add_argument("--drain", type=int, default=120, help="max seconds to wait for the history "
                   "to catch up after a flood (120)")
    p.add_argument("--no-resolve-wait", action="store_true",
                   help="do not wait for the events_dropped alert to resolve at the end")
    a = p.parse_args()
    a.rates = [0 if x.strip() == "max" else int(x) for x in a.rates.split(",") if x.strip()]
    a.modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    if not (1 <= a.seconds <= 300 and 1 <= a.publishers <= 16 and a.rates and
            all(m in ("distinct", "same") for m in a.modes) and all(r >= 0 for r in a.rates)):
        p.error("out of range: seconds 1-300, publishers 1-16, modes distinct/same")
    nfl = len(a.rates) * len(a.modes)
    benchlib.setup(120 + nfl * (a.seconds + a.drain + 10) + 120)
    benchlib.run(lambda env, lines: bench(env, lines, a), "ingest_bench", report)


def report(lines):
    print("\n== ingest_bench results ==")
    for l in lines:
        print(l)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
