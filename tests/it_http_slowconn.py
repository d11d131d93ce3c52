#!/usr/bin/env python3
"""it_http_slowconn: connections cannot starve hapanel (issue 11). hapanel
runs with 4 HTTP workers while 150 connections are held open against it
(tests/harness/slowconn.py: idle keep-alive, headers sent one byte a second,
a body sent one byte a second, reopened whenever hapanel closes them). Before
the event-driven edge (server/web/edge.c), 4 such connections took every
worker and /api/v1/health stopped answering. Now:
  - /api/v1/health and the dashboard (/ and /ui/clusters) answer every time,
    each within 1 s (the latency goal itself is bench/slowconn_bench.py's);
  - half-sent headers get 408 after header_timeout_ms and a dribbled body
    408 after body_timeout_ms, each as a JSON error, and nothing starts;
  - the (max_conns_per_addr + 1)th connection from one address gets 503
    with a JSON error, while other addresses are still served;
  - hapanel's memory stays bounded (the figure per held connection is
    logged)."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.checks import Checks  # noqa: E402
from harness import VIEWER_TOKEN, log, run_test  # noqa: E402
from harness.slowconn import Holders  # noqa: E402

N = 150
PER_ADDR = 25
check = Checks()



def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def timed_get(hp, path, token=None):
    t0 = time.perf_counter()
    try:
        r = hp.get(path, token=token, timeout=3, headers={"Connection": "close"})
        return r.status, (time.perf_counter() - t0) * 1000
    except OSError as e:
        log("GET %s: %s" % (path, e))
        return 0, (time.perf_counter() - t0) * 1000


def test(env):
    topo = env.topology()
    hp = env.hapanel(topo, env_extra={
        "HAPANEL_HTTP_THREADS": "4",
        "HAPANEL_HTTP_HEADER_TIMEOUT_MS": "1500",
        "HAPANEL_HTTP_BODY_TIMEOUT_MS": "2500",
        "HAPANEL_HTTP_KEEPALIVE_MS": "4000",
        "HAPANEL_HTTP_MAX_CONNS_PER_ADDR": str(PER_ADDR),
    })
    hp.wait_nodes_up([topo.current_master()] + topo.initial_replicas(), "mymaster", 10)
    pid = hp.popen.pid
    rss0 = rss_kb(pid)

    with Holders(hp.port, N, per_addr=PER_ADDR, seconds=120) as h:
        check(h.wait_open(int(N * 0.9), 20), "the holders did not get %d connections open: %r"
              % (int(N * 0.9), h.last))
        lat, bad = [], []
        for i in range(40):
            st, ms = timed_get(hp, "/api/v1/health")
            lat.append(ms)
            if st != 200 or ms > 1000:
                bad.append((st, round(ms)))
            if i % 4 == 0:
                for path, tok in (("/", None), ("/ui/clusters", VIEWER_TOKEN)):
                    st, ms = timed_get(hp, path, tok)
                    if st != 200 or ms > 1000:
                        bad.append((path, st, round(ms)))
            time.sleep(0.05)
        lat.sort()
        log("with %s connections held: health p50 %.1f ms, max %.1f ms" % (
            h.last.get("open"), lat[len(lat) // 2], lat[-1]))
        check(not bad, "requests not answered 200 within 1 s while connections were held: %r" % bad)
        rss1 = rss_kb(pid)
        log("hapanel RSS %d kB before, %d kB with %s held: %.1f kB per connection" % (
            rss0, rss1, h.last.get("open"), (rss1 - rss0) / max(1, h.last.get("open", 1))))
        check(rss1 - rss0 < 64 * 1024, "RSS grew by %d kB for %d connections" % (rss1 - rss0, N))
        # the edge's timeouts close the slow ones: head after 1.5 s, body after 2.5 s
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (h.last.get("status") or {}).get("408", 0) < N // 3:
            time.sleep(0.2)
        st = h.last.get("status") or {}
        log("answers the holders saw before a close: %r (opened %s)" % (st, h.last.get("opened")))
        check(st.get("408", 0) >= N // 3, "too few 408s for slow heads and bodies: %r" % st)
        check(set(st) <= {"408"}, "statuses other than 408 for slow connections: %r" % st)

    # a dribbled body: 408 with a JSON error, and no job started
    s = socket.create_connection(("127.0.0.1", hp.port), timeout=10)
    s.sendall(b"POST /api/v1/clusters/mymaster/failover HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: Bearer optok\r\nContent-Length: 16\r\n\r\n{\"mode\"")
    t0 = time.monotonic()
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    took = time.monotonic() - t0
    check(data.startswith(b"HTTP/1.1 408"), "a body cut short and left: %r" % data[:200])
    check(1.5 < took < 6, "the 408 came after %.1f s, want about 2.5 s" % took)
    try:
        body = json.loads(data.split(b"\r\n\r\n", 1)[1])
        check(body["error"]["code"] == "request_timeout", "408 body: %r" % body)
    except (ValueError, KeyError, IndexError):
        check(False, "408 without a JSON error body: %r" % data[:300])
    check(hp.jobs() == [], "a job started from a body that never arrived")

    # the per-address cap: PER_ADDR connections from one address are served,
    # the next one gets 503 with a JSON error; another address still gets in
    held = []
    for _ in range(PER_ADDR):
        c = socket.socket()
        c.bind(("127.0.9.9", 0))
        c.connect(("127.0.0.1", hp.port))
        held.append(c)
    time.sleep(0.2)
    c = socket.socket()
    c.settimeout(5)
    c.bind(("127.0.9.9", 0))
    c.connect(("127.0.0.1", hp.port))
    data = b""
    try:
        while True:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    c.close()
    check(data.startswith(b"HTTP/1.1 503"), "connection %d from one address: %r" % (PER_ADDR + 1, data[:200]))
    try:
        body = json.loads(data.split(b"\r\n\r\n", 1)[1])
        check(body["error"]["code"] == "too_many_connections" and "address" in body["error"]["message"],
              "503 body: %r" % body)
    except (ValueError, KeyError, IndexError):
        check(False, "503 without a JSON error body: %r" % data[:300])
    st, ms = timed_get(hp, "/api/v1/health")
    check(st == 200, "health from 127.0.0.1 while 127.0.9.9 is at its cap: %d" % st)
    for c in held:
        c.close()
    check.done()


if __name__ == "__main__":
    run_test(test)
