#!/usr/bin/env python3
"""it_ha_review: split-brain and relay edge cases of issue 15's HA (review).
Two panels on a 3-member etcd, TTL 3 s, no Redis.
  pause     the leader SIGSTOPped for TTL + 2 s: the other leads; resumed
            (SIGCONT), the paused one never says leader again while the
            other does (sampled for 3 s), and a POST to it is never acted on
            locally (relayed to the new leader or 503 no_leader)
  replay    a signed forwarded request taken once by the leader is refused
            when the same bytes come again within the 30 s window
  relay     a follower relaying to a hostile "leader" (a fake leader key
            naming a Python server): a Content-Type with a bare CR is not
            copied into the follower's answer head."""

import hashlib
import hmac
import http.server
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.etcd import (NoRedis, PEER_SECRET, ha_env, ha_of, require_etcd,  # noqa: E402
                          wait_one_leader)

TTL = 3
check = Checks()


def sign(method, uri, instance, actor, role, via, ts, body):
    msg = "v1\n%s\n%s\n%s\n%s\n%s\n%s\n%d\n%s" % (
        method, uri, instance, actor, role, via, ts, hashlib.sha256(body).hexdigest())
    sig = hmac.new(PEER_SECRET.encode(), msg.encode(), hashlib.sha256).hexdigest()
    return {"X-Hapanel-Forwarded": "v1 %s %s %s %s %d" % (instance, actor, role, via, ts),
            "X-Hapanel-Forwarded-Sig": sig}


def raw_post(panel, path, headers, body=b""):
    """A POST over a raw socket: (status, head bytes)."""
    host, port = panel.base.split("//")[1].rsplit(":", 1)
    lines = ["POST %s HTTP/1.1" % path, "Host: x", "Connection: close",
             "Content-Length: %d" % len(body)]
    lines += ["%s: %s" % kv for kv in headers.items()]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            got = s.recv(65536)
            if not got:
                break
            buf += got
    head = buf.split(b"\r\n\r\n", 1)[0]
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        status = -1
    return status, head


def test(env):
    require_etcd()
    etcd = env.etcd(3)
    panels = [env.hapanel(NoRedis(), start=False, ha=ha_env(etcd, "p%d" % i, ttl=TTL))
              for i in (1, 2)]
    for p in panels:
        p.start()
    lead = wait_one_leader(panels, 10)
    fol = [p for p in panels if p is not lead][0]

    # --- replay of a signed forwarded request
    body = b'{"reason":"x"}'
    hdrs = sign("POST", "/api/v1/clusters/nosuch/backups", fol.ha_name, "replayer", "operator",
                "token", int(time.time() * 1000), body)
    hdrs["Content-Type"] = "application/json"
    st1, _ = raw_post(lead, "/api/v1/clusters/nosuch/backups", hdrs, body)
    st2, h2 = raw_post(lead, "/api/v1/clusters/nosuch/backups", hdrs, body)
    check(st1 not in (401, 503), "the signed request is taken once: %d" % st1)
    check(st2 == 401, "the same signed request again is refused as a replay: %d %r" % (st2, h2))

    # --- SIGSTOP of the leader for TTL + 2 s
    os.kill(lead.popen.pid, 19)
    try:
        wait_for(lambda: (ha_of(fol, timeout=1) or {}).get("role") == "leader", TTL + 3, 0.05,
                 msg="the follower leads while the leader is stopped")
        time.sleep(max(0.0, TTL + 2 - 1.0))
    finally:
        os.kill(lead.popen.pid, 18)
    t0 = time.monotonic()
    both = []
    first = None
    while time.monotonic() - t0 < 3:
        h = ha_of(lead, timeout=2)
        if first is None and h is not None:
            first = h
        if h and h.get("role") == "leader" and (ha_of(fol, timeout=1) or {}).get("role") == "leader":
            both.append(round(time.monotonic() - t0, 2))
        time.sleep(0.05)
    check(first is not None and first.get("role") == "follower",
          "the resumed panel's first health says follower: %r" % first)
    check(not both, "two leaders after the resume at %r" % both)
    st, head = raw_post(lead, "/api/v1/clusters/nosuch/backups",
                        {"Authorization": "Bearer %s" % OPERATOR_TOKEN,
                         "Content-Type": "application/json"}, b"{}")
    check(b"X-Hapanel-Leader: " + fol.ha_name.encode() in head or b" 503 " in head[:20]
          or st == 401, "a POST to the resumed panel is relayed or 503: %d %r" % (st, head))
    lead, fol = fol, lead
    wait_one_leader(panels, 10)

    # --- a hostile leader's Content-Type
    class Evil(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if "slow" in self.path:
                time.sleep(5)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain\rX-Evil: 1")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    evil_url = "http://127.0.0.1:%d" % srv.server_address[1]
    # an instance that names the evil server as the leader: a third panel
    # on its own prefix, whose leader key we write ourselves (no lease)
    etcd.put("evil/leader", '{"id":"evil","url":"%s","since":1}' % evil_url)
    p3 = env.hapanel(NoRedis(), ha=ha_env(etcd, "p3", ttl=TTL, prefix="evil"),
                     env_extra={"HAPANEL_HTTP_THREADS": "2"})
    wait_for(lambda: ((ha_of(p3) or {}).get("leader") or {}).get("instance") == "evil", 10,
             msg="p3 names the evil leader")
    st, head = raw_post(p3, "/api/v1/clusters/nosuch/backups",
                        {"Authorization": "Bearer %s" % OPERATOR_TOKEN,
                         "Content-Type": "application/json"}, b"{}")
    log("relayed head: %r" % head)
    check(st == 200 and b"\rX-Evil" not in head,
          "no bare CR from the leader's Content-Type in the answer head: %r" % head)

    # a leader that takes connections and never answers: relays hold at
    # most half the workers, reads are still served
    def slow():
        try:
            raw_post(p3, "/api/v1/clusters/slow/backups",
                     {"Authorization": "Bearer %s" % OPERATOR_TOKEN,
                      "Content-Type": "application/json"}, b"{}")
        except OSError:
            pass
    ts = [threading.Thread(target=slow) for _ in range(2)]
    for t in ts:
        t.start()
        time.sleep(0.2)
    t0 = time.monotonic()
    h = ha_of(p3, timeout=4)
    took = time.monotonic() - t0
    check(h is not None and took < 2, "a read on the relaying follower: %.2f s %r" % (took, h))
    for t in ts:
        t.join(20)
    srv.shutdown()
    check.done()


if __name__ == "__main__":
    run_test(test, limit=120)
