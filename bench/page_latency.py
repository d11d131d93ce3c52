#!/usr/bin/env python3
"""page_latency.py — how long a role change takes to reach an open
dashboard: from a Sentinel's +switch-master to the new master drawn on the
page, over N graceful switchovers (default 20); the median is the figure.

One topology: 1 master + 2 replicas + 3 Sentinels on 127.0.0.1 (quorum 2,
down-after 1000 ms, failover-timeout 3000 ms), hapanel (HAPANEL_BIN, default
build-bench/hapanel) polling every --poll-ms (default 1000, hapanel's own
default). This side SUBSCRIBEs to +switch-master on every Sentinel (a
thread each) and stamps each message with time.time() when it is read. One
dashboard is open in headless Chromium (bench/page_latency.mjs, through
tests/browser/lib.mjs: playwright-core and Debian's chromium, installed by
tests/browser/nodeenv.py as for tests/it_browser.py); a MutationObserver in
the page stamps each change of the drawn master (<svg class="topo">, the
g.tnode with data-role="master") with the page's Date.now(). Both clocks
are this machine's wall clock.

N times: wait until the API shows the master with both replicas linked,
POST /api/v1/clusters/mymaster/failover {mode: graceful} (Sentinel picks
the replica), wait for the job, then for the page to draw the new master
(at most 15 s). The latency is the page's time minus the earliest
+switch-master naming that master (any Sentinel). It can be negative:
Sentinel publishes +switch-master only when the other Sentinels learn the
new configuration (about a second after the promotion; the leader at
+failover-end), while hapanel may already have seen the promoted node say
role:master. So two more figures are printed: the page's time minus the
moment the new master first said role:master (harness.RoleWatcher, INFO
every 20 ms), and minus the job's "promoted to master" step.

Two phases on the same topology, a fresh page each: "stream", the page as
it is (GET /ui/stream pushes each change), and "polling", the same page with
GET /ui/stream refused in the browser, so that it falls back to its 1 s poll
of GET /ui/clusters (as past the stream cap). Each phase prints how the page
really got its updates (polls per minute, stream requests), so a page
without the stream shows as polling in both; --label names the run.

usage: python3 bench/page_latency.py [--switchovers 20] [--mode both|stream|polling]
           [--poll-ms 1000] [--label NAME]
"""

import argparse
import json
import os
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402

sys.path.insert(0, os.path.join(benchlib.REPO, "tests", "browser"))
import nodeenv  # noqa: E402

NAME = "mymaster"
log = harness.log


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--switchovers", type=int, default=20, help="graceful switchovers (20)")
    p.add_argument("--poll-ms", type=int, default=1000, help="hapanel's poll interval (1000)")
    p.add_argument("--mode", choices=("both", "stream", "polling"), default="both",
                   help="the page as it is (stream), its live stream refused so that it polls "
                        "(polling), or one phase of each (both, the default)")
    p.add_argument("--label", default="", help="a name for this run in the figures lines")
    return p.parse_args()


class SwitchWatch:
    """+switch-master from every Sentinel: [(time.time(), sentinel, new master)]."""

    def __init__(self, topo):
        self.seen = []
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.threads = []
        self.conns = []
        for s in topo.sentinel_addrs:
            c = harness.Redis.at(s, password=topo.password, timeout=5)
            c.sock.sendall(harness.Redis._encode(["SUBSCRIBE", "+switch-master"]))
            c._read()  # the subscribe confirmation
            # blocking reads (a timed-out read spoils the buffered reader);
            # stop() shuts the sockets down
            c.sock.settimeout(None)
            self.conns.append(c)
            t = threading.Thread(target=self._run, args=(s, c), daemon=True)
            t.start()
            self.threads.append(t)

    def _run(self, s, c):
        while not self.halt.is_set():
            try:
                m = c._read()
            except (OSError, ValueError):
                break
            t = time.time()
            # ["message", "+switch-master", "<name> <old ip> <old port> <new ip> <new port>"]
            if isinstance(m, list) and len(m) == 3 and m[0] == "message":
                f = m[2].split()
                if len(f) == 5 and f[0] == NAME:
                    with self.lock:
                        self.seen.append((t, s, "%s:%s" % (f[3], f[4])))
        c.close()

    def first(self, master, after):
        with self.lock:
            ts = [t for t, s, m in self.seen if m == master and t >= after]
        return min(ts) if ts else None

    def stop(self):
        self.halt.set()
        for c in self.conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(2)


class PageWatch:
    """The page's reports: [(page time s, master addr)]."""

    def __init__(self):
        self.changes = []
        self.ready = None
        self.cv = threading.Condition()

    def on_event(self, msg):
        with self.cv:
            if msg.get("event") == "ready":
                self.ready = msg
            elif msg.get("event") == "master":
                self.changes.append((msg["t"] / 1000.0, msg["addr"]))
            self.cv.notify_all()

    def wait(self, pred, timeout):
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                r = pred()
                if r:
                    return r
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def first(self, master, after):
        for t, m in self.changes:
            if m == master and t >= after:
                return t
        return None


def wait_api(hp, topo, master, timeout=30):
    want = set(topo.node_addrs)

    def ok():
        c = hp.cluster(NAME)
        m = c.get("master") or {}
        reps = c.get("replicas") or []
        return (m.get("addr") == master and m.get("up") is True
                and {r.get("addr") for r in reps} | {master} == want
                and all(r.get("up") is True and r.get("link") == "up" for r in reps))
    harness.wait_for(ok, timeout, 0.1, msg="API shows %s as master with both replicas linked" % master)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def phase(a, env, node, topo, hp, sw, roles, mode, lines):
    """N switchovers watched by one page; mode "stream": the page as it
    is, "polling": its live stream refused. Appends its figures to lines;
    returns the master at the end."""
    mono_to_wall = time.time() - time.monotonic()
    pw = PageWatch()
    script = nodeenv.NodeScript(node, os.path.join(benchlib.HERE, "page_latency.mjs"), {
        "HAPANEL_URL": hp.base, "HAPANEL_TOKEN": harness.VIEWER_TOKEN,
        "HAPANEL_BENCH_NO_STREAM": "1" if mode == "polling" else "0"}, on_event=pw.on_event)
    env.on_cleanup(script.close)
    box = {}
    runner = threading.Thread(target=lambda: box.update(r=script.run(24 * 3600)), daemon=True)
    runner.start()
    master = topo.agreed_master(30)
    if not pw.wait(lambda: pw.ready, 30):
        raise AssertionError("the page did not draw a master within 30 s (is svg.topo there?)")
    log("[%s] page ready: %s" % (mode, pw.ready.get("nodes")))
    assert pw.ready["addr"] == master, "the page draws %s as master, Sentinel says %s" % (
        pw.ready["addr"], master)
    time.sleep(2)  # past the page's first stream attempt

    lat, lat_promo, lat_role, missed = [], [], [], 0
    t_start = time.monotonic()
    for i in range(1, a.switchovers + 1):
        wait_api(hp, topo, master)
        time.sleep(0.5)
        t_post = time.time()
        m_post = time.monotonic()
        r = None
        for attempt in range(40):
            r = hp.post("/api/v1/clusters/%s/failover" % NAME,
                        {"mode": "graceful", "reason": "page_latency %s %d" % (mode, i)})
            if r.status == 202:
                break
            log("[%s] switchover %d: POST -> %d %s; retrying" % (mode, i, r.status, r.text[:200]))
            time.sleep(0.5)
        assert r.status == 202, "POST failover -> %r" % r
        jb = hp.wait_job(r.body["job_id"], 120, 0.05)
        assert jb["state"] == "succeeded", "job %s failed: %s\n%s" % (
            jb.get("id"), jb.get("error"), hp.steps_text(jb))
        new = (jb.get("result") or {}).get("new_master")
        promo = [x for x in jb.get("steps") or [] if " promoted to master" in (x.get("message") or "")]
        t_page = pw.wait(lambda: pw.first(new, t_post), 15)
        t_sw = sw.first(new, t_post)
        if t_page is None or t_sw is None:
            missed += 1
            log("[%s] switchover %2d: %s -> %s: page %s, +switch-master %s" % (
                mode, i, master, new, "drawn" if t_page else "NOT drawn in 15 s",
                "seen" if t_sw else "NOT seen"))
        else:
            lat.append((t_page - t_sw) * 1000)
            if promo:
                lat_promo.append(t_page * 1000 - promo[0]["ts"])
            t_role = roles.first(new, "master", m_post)
            if t_role is not None:
                lat_role.append((t_page - (t_role + mono_to_wall)) * 1000)
            log("[%s] switchover %2d: %s -> %s: drawn %.0f ms after +switch-master%s%s" % (
                mode, i, master, new, lat[-1],
                ", %.0f ms after the promotion step" % lat_promo[-1] if promo else "",
                ", %.0f ms after it said role:master" % lat_role[-1] if t_role is not None else ""))
        master = new
    elapsed = time.monotonic() - t_start
    script.tell({"stop": 1})
    runner.join(30)
    script.close()
    res = box.get("r") or {}
    minutes = max(1e-9, (res.get("t1", 0) - res.get("t0", 0)) / 60000.0)
    transport = "stream" if res.get("streams") and mode == "stream" else "polling"
    label = (a.label + " " if a.label else "") + mode
    assert lat, "[%s] no switchover was seen both on the page and from Sentinel" % mode
    lines.append("page_latency [%s]: %d switchovers in %.0f s, hapanel poll %d ms; the page got its "
                 "updates by %s (%.0f GET /ui/clusters per minute, %d stream request(s) %s)" % (
                     label, a.switchovers, elapsed, a.poll_ms, transport,
                     res.get("polls", 0) / minutes, res.get("streams", 0),
                     " ".join(sorted(set(res.get("stream_urls") or [])))))
    lines.append("  +switch-master -> new master drawn: median %.0f ms, p90 %.0f ms, min %.0f ms, "
                 "max %.0f ms (n=%d, missed %d)" % (
                     statistics.median(lat), pct(lat, 0.9), min(lat), max(lat), len(lat), missed))
    if lat_role:
        lines.append("  the new master's INFO role:master (polled every 20 ms) -> drawn: "
                     "median %.0f ms, p90 %.0f ms, max %.0f ms" % (
                         statistics.median(lat_role), pct(lat_role, 0.9), max(lat_role)))
    if lat_promo:
        lines.append("  the job's \"promoted to master\" step -> drawn: median %.0f ms, p90 %.0f ms, "
                     "max %.0f ms" % (statistics.median(lat_promo), pct(lat_promo, 0.9),
                                      max(lat_promo)))
    lines.append("  figures: " + json.dumps({
        "label": label, "transport": transport,
        "switch_master_to_page_median_ms": round(statistics.median(lat)),
        "switch_master_to_page_max_ms": round(max(lat)), "n": len(lat),
        "role_to_page_median_ms": round(statistics.median(lat_role)) if lat_role else None,
        "promotion_step_to_page_median_ms": round(statistics.median(lat_promo)) if lat_promo else None}))
    if res.get("errors"):
        lines.append("  page errors: %s" % res["errors"])
    return master


def bench(a, env, lines):
    try:
        node = nodeenv.ensure(log)
    except nodeenv.Unavailable as e:
        raise AssertionError("the browser cannot run here: %s" % e)
    log(nodeenv.versions(node))
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    hp = env.hapanel(topo, env_extra={"HAPANEL_POLL_INTERVAL_MS": str(a.poll_ms)})
    hp.wait_nodes_up([topo.current_master()] + topo.initial_replicas(), NAME, 15)
    sw = SwitchWatch(topo)
    env.on_cleanup(sw.stop)
    roles = harness.RoleWatcher(topo).start()
    env.on_cleanup(roles.stop)
    for mode in (["stream", "polling"] if a.mode == "both" else [a.mode]):
        phase(a, env, node, topo, hp, sw, roles, mode, lines)


def main():
    a = parse_args()
    benchlib.setup(120 + a.switchovers * 2 * 40)
    benchlib.run(lambda env, lines: bench(a, env, lines), "page_latency",
                 lambda lines: print("\n".join(lines)))


if __name__ == "__main__":
    main()
