#!/usr/bin/env python3
"""it_body_nesting: a request body nested deeper than 32 levels is refused
with 400 naming the limit before any JSON parser sees it, so a 1.8 KB body of
900 nested arrays no longer crashes hapanel (the parser's recursion used to
overflow a civetweb worker's stack: SIGSEGV); 32 levels are still parsed,
brackets inside strings do not count, and nothing is started."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, log, run_test  # noqa: E402

NAME = "mymaster"
PATH = "/api/v1/clusters/%s/failover" % NAME


def post_raw(hp, body):
    """POSTs body (bytes) with the operator token on a fresh connection;
    returns (status, parsed JSON body or None, raw body)."""
    req = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
           % (PATH, OPERATOR_TOKEN, len(body))).encode() + body
    st, hdrs, raw = hp.raw(req)
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except ValueError:
        parsed = None
    return st, parsed, raw


def error_message(parsed):
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        return parsed["error"].get("message") or ""
    return ""


def test(env):
    topo = env.topology()
    hp = env.hapanel(topo)
    master = topo.current_master()

    # 900 levels, 1.8 KB: crashed hapanel with SIGSEGV before the limit
    deep = b"[" * 900 + b"]" * 900
    st, parsed, raw = post_raw(hp, deep)
    log("900 levels -> %d %r" % (st, raw[:200]))
    assert hp.running(), "hapanel died on a body of 900 nested arrays"
    assert st == 400, "900 levels: status %d, want 400: %r" % (st, raw[:200])
    assert isinstance(parsed, dict) and parsed["error"]["code"] == "bad_request", raw[:200]
    assert "32" in error_message(parsed), "the message should name the limit: %r" % raw[:200]

    # 33 levels inside an object: refused for the depth
    over = b'{"reason":' + b"[" * 32 + b"]" * 32 + b"}"
    st, parsed, raw = post_raw(hp, over)
    assert st == 400 and "32" in error_message(parsed), "33 levels: %d %r" % (st, raw[:200])

    # exactly 32 levels: parsed, then refused for the field type, not the depth
    ok = b'{"reason":' + b"[" * 31 + b"]" * 31 + b"}"
    st, parsed, raw = post_raw(hp, ok)
    msg = error_message(parsed)
    assert st == 400 and "must be a string" in msg and "32" not in msg, \
        "32 levels should pass the depth check: %d %r" % (st, raw[:200])

    # brackets inside strings (also after an escaped quote) are text: parsed,
    # then 404 for the unknown target, so nothing starts
    text = json.dumps({"mode": "graceful", "target": "127.0.0.1:1",
                       "reason": '\\"' + "[" * 150}).encode()
    st, parsed, raw = post_raw(hp, text)
    assert st == 404, "brackets in a string count as nesting: %d %r" % (st, raw[:200])

    r = hp.get("/api/v1/health", token=None)
    assert r.status == 200, "health after the deep bodies: %d" % r.status
    jobs = hp.jobs()
    assert jobs == [], "a refused body started a job: %r" % jobs
    assert topo.current_master() == master, "the master changed"


if __name__ == "__main__":
    run_test(test)
