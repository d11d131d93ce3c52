#!/usr/bin/env python3
"""it_body_framing: a request body that is not exactly what its framing
announced is refused with 400 and starts nothing. Before, hapanel processed a
body cut short of its Content-Length, a body with a bad chunk, and bodies
framed by both Content-Length and Transfer-Encoding (or by two
Content-Lengths, or Transfer-Encoding: identity) as if complete: a forced
failover started from a cut-off request, and a broken chunked body even
became {} (a graceful switchover with the defaults). Well-framed chunked and
Content-Length bodies still work."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, log, run_test  # noqa: E402

NAME = "mymaster"
PATH = "/api/v1/clusters/%s/failover" % NAME
FORCE = b'{"mode":"force"}'                                   # 16 bytes: chunk size 10
HARMLESS = b'{"mode":"graceful","target":"127.0.0.1:1"}'   # parsed -> 404, starts nothing
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        log("FAILED: %s" % what)
    return cond


def head(*lines):
    return ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\n%s\r\n"
            % (PATH, OPERATOR_TOKEN, "".join(l + "\r\n" for l in lines))).encode()


def chunked(*parts):
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def expect(hp, what, req, status):
    """Sends req, then closes our write side (the client has nothing more to
    send, so a short body ends at once instead of after the 10 s request
    timeout); checks the status and, for errors, the JSON error body."""
    try:
        st, hdrs, body = hp.raw(req, timeout=8)
    except OSError as e:
        check(False, "%s: no response (%s)" % (what, e))
        return
    log("%s -> %d %r" % (what, st, body[:120]))
    check(st == status, "%s: status %d, want %d: %r" % (what, st, status, body[:200]))
    if status >= 400:
        try:
            b = json.loads(body.decode("utf-8"))
            ok = (b["error"]["code"] == ("bad_request" if status == 400 else "not_found")
                  and b["error"]["message"])
        except (ValueError, KeyError, TypeError):
            ok = False
        check(ok and hdrs.get("content-type", "").startswith("application/json"),
              "%s: not a JSON error body (%s): %r" % (what, hdrs.get("content-type"), body[:200]))


def test(env):
    topo = env.topology()
    hp = env.hapanel(topo)
    master = topo.current_master()
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 10)

    # --- refused ---------------------------------------------------------------
    expect(hp, "body shorter than Content-Length",
           head("Content-Length: 100") + FORCE, 400)
    expect(hp, "bad chunk size", head("Transfer-Encoding: chunked") + b"10\r\n" + FORCE +
           b"\r\nzz\r\n", 400)
    expect(hp, "chunked body cut before its last chunk",
           head("Transfer-Encoding: chunked") + b"10\r\n" + FORCE + b"\r\n", 400)
    expect(hp, "chunk longer than its size",
           head("Transfer-Encoding: chunked") + b"5\r\n" + FORCE + b"\r\n0\r\n\r\n", 400)
    expect(hp, "chunk size with an extension (civetweb 1.15 cannot read one)",
           head("Transfer-Encoding: chunked") + b"10;x=1\r\n" + FORCE + b"\r\n0\r\n\r\n", 400)
    expect(hp, "Content-Length and Transfer-Encoding",
           head("Content-Length: 16", "Transfer-Encoding: chunked") + chunked(FORCE), 400)
    expect(hp, "Transfer-Encoding and Content-Length",
           head("Transfer-Encoding: chunked", "Content-Length: 16") + chunked(FORCE), 400)
    expect(hp, "two Content-Length headers",
           head("Content-Length: 16", "Content-Length: 16") + FORCE, 400)
    expect(hp, "two Transfer-Encoding headers",
           head("Transfer-Encoding: chunked", "Transfer-Encoding: chunked") + chunked(FORCE), 400)
    expect(hp, "Content-Length that is not a number",
           head("Content-Length: 16abc") + FORCE, 400)
    expect(hp, "Transfer-Encoding: identity",
           head("Transfer-Encoding: identity", "Content-Length: 16") + FORCE, 400)
    expect(hp, "Transfer-Encoding: identity alone",
           head("Transfer-Encoding: identity") + FORCE, 400)
    expect(hp, "Transfer-Encoding: gzip",
           head("Transfer-Encoding: gzip") + FORCE, 400)

    # the client goes away in the middle of the body: there is no one to
    # answer, and nothing may start
    s = socket.create_connection(("127.0.0.1", hp.port), timeout=5)
    s.sendall(head("Content-Length: 100") + FORCE)
    s.close()

    # --- accepted: parsed, then 404 for the unknown target ------------------------
    expect(hp, "chunked body", head("Transfer-Encoding: chunked") + chunked(HARMLESS), 404)
    expect(hp, "chunked body in three chunks",
           head("Transfer-Encoding: chunked") + chunked(HARMLESS[:5], HARMLESS[5:20], HARMLESS[20:]),
           404)
    expect(hp, "Content-Length body", head("Content-Length: %d" % len(HARMLESS)) + HARMLESS, 404)

    # --- nothing started --------------------------------------------------------------
    time.sleep(1.5)
    jobs = hp.jobs()
    check(jobs == [], "jobs were started: %r" % [(j.get("id"), j.get("kind"), j.get("params"))
                                                 for j in jobs])
    check(topo.current_master() == master, "the master changed: %s -> %s" % (
        master, topo.current_master()))
    check((hp.cluster(NAME).get("master") or {}).get("addr") == master,
          "hapanel shows another master")
    check(hp.get("/api/v1/health", token=None).status == 200, "health after the bad bodies")
    assert not failures, "%d checks failed:\n  - %s" % (len(failures), "\n  - ".join(failures))


if __name__ == "__main__":
    run_test(test)
