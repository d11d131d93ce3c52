#!/usr/bin/env python3
"""it_http_errors: bad requests get the documented status and a JSON error
body {"error":{"code","message"}} with Content-Type application/json; auth is
enforced (401 no/unknown token, 403 viewer on an operator route); hostile
input is not echoed raw; an oversized body is refused without harm; none of
this writes events."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, log, run_test, wait_for  # noqa: E402

NAME = "mymaster"
failures = []


def check(cond, what):
    """Collects failures so one run reports every broken case."""
    if not cond:
        failures.append(what)
        log("FAILED: %s" % what)
    return cond


def check_error(r, status, what):
    ok = check(r.status == status, "%s: status %d, want %d (body %r)" % (what, r.status, status, r.text[:200]))
    ct = (r.headers.get("Content-Type") or "") if r.headers is not None else ""
    ok &= check(ct.split(";")[0].strip().lower() == "application/json",
                "%s: Content-Type %r, want application/json" % (what, ct))
    b = r.body
    shape = (isinstance(b, dict) and isinstance(b.get("error"), dict)
             and isinstance(b["error"].get("code"), str) and b["error"]["code"] != ""
             and isinstance(b["error"].get("message"), str) and b["error"]["message"] != "")
    ok &= check(shape, "%s: body is not {\"error\":{\"code\":..,\"message\":..}}: %r" % (what, r.text[:200]))
    return ok


def all_events(hp):
    return hp.events(limit=1000).get("events") or []


def test(env):
    topo = env.topology()
    hp = env.hapanel(topo)

    # let the start-up settle: the event history must be quiet before we count
    state = {"n": None}

    def quiet():
        n = [e.get("id") for e in all_events(hp)]
        same = n == state["n"]
        state["n"] = n
        return same and (hp.cluster(NAME).get("status") == "ok")
    wait_for(quiet, 15, 1.0, msg="event history stops changing after start-up")
    before = state["n"]
    log("%d events before the bad requests" % len(before))

    # --- auth ---------------------------------------------------------------
    check_error(hp.get("/api/v1/clusters", token=None), 401, "GET /api/v1/clusters without a token")
    check_error(hp.get("/api/v1/clusters", token="nosuchtoken"), 401, "GET /api/v1/clusters, unknown token")
    check_error(hp.get("/api/v1/clusters/%s" % NAME, token=None), 401, "GET /api/v1/clusters/mymaster without a token")
    check_error(hp.get("/api/v1/events", token=None), 401, "GET /api/v1/events without a token")
    check_error(hp.get("/api/v1/clusters", token=None, headers={"Authorization": "Basic dmlld2VyOnZpZXd0b2s="}),
                401, "GET /api/v1/clusters with Basic auth")
    check_error(hp.get("/api/v1/clusters", token=None, headers={"Authorization": "Bearer "}), 401,
                "GET /api/v1/clusters with an empty Bearer token")
    check_error(hp.get("/api/v1/clusters", token="viewtokX"), 401, "GET /api/v1/clusters, token with a suffix")
    check_error(hp.get("/api/v1/clusters", token="viewto"), 401, "GET /api/v1/clusters, token prefix")
    r = hp.get("/api/v1/clusters")
    check(r.status == 200, "GET /api/v1/clusters with the viewer token: %d" % r.status)

    r = hp.get("/api/v1/health", token=None)
    check(r.status == 200, "GET /api/v1/health without a token: %d %r" % (r.status, r.text[:200]))
    b = r.body if isinstance(r.body, dict) else {}
    check(isinstance(b.get("status"), str) and isinstance(b.get("version"), str) and b.get("version")
          and isinstance(b.get("uptime_s"), (int, float)) and not isinstance(b.get("uptime_s"), bool),
          "health body has status/version/uptime_s: %r" % r.text[:200])

    # --- 404 / 405 ----------------------------------------------------------
    check_error(hp.get("/api/v1/nope"), 404, "GET /api/v1/nope")
    check_error(hp.get("/api/v1/clusters/nope"), 404, "GET /api/v1/clusters/nope")
    for method, path in (("DELETE", "/api/v1/clusters"), ("POST", "/api/v1/health"),
                         ("PUT", "/api/v1/clusters/%s" % NAME)):
        r = hp.request(method, path)
        what = "%s %s" % (method, path)
        check_error(r, 405, what)
        allow = r.headers.get("Allow") if r.headers is not None else None
        check(bool(allow) and "GET" in allow.upper(), "%s: Allow header %r should list GET" % (what, allow))

    # --- bad query parameters ----------------------------------------------
    for q in ("limit=abc", "limit=0", "limit=100000", "limit=-1", "limit=10abc", "since=notanumber",
              "until=notanumber", "before=notanumber"):
        check_error(hp.get("/api/v1/events?" + q), 400, "GET /api/v1/events?" + q)
    r = hp.get("/api/v1/events?limit=1000")
    check(r.status == 200, "GET /api/v1/events?limit=1000 (the documented maximum): %d %r" % (r.status, r.text[:200]))

    # --- role ----------------------------------------------------------------
    r = hp.request("POST", "/api/v1/clusters/%s/failover" % NAME, body={"mode": "graceful"})
    check_error(r, 403, "POST failover with the viewer token")
    check_error(hp.request("POST", "/api/v1/clusters/%s/failover" % NAME, body={"mode": "graceful"}, token=None),
                401, "POST failover without a token")

    # --- hostile input --------------------------------------------------------
    r = hp.get("/api/v1/clusters/%3Cscript%3E")
    check_error(r, 404, "GET /api/v1/clusters/%3Cscript%3E")
    check("<script>" not in r.text.lower(), "404 body echoes a raw <script>: %r" % r.text[:300])
    r = hp.get("/api/v1/clusters/%22%5C%0A%00x")
    check(r.status in (400, 404), "GET /api/v1/clusters/%%22%%5C%%0A%%00x: %d %r" % (r.status, r.text[:200]))
    r = hp.get("/api/v1/events?node=%3Cscript%3E&type=%27%3B+DROP+TABLE+events%3B--")
    check(r.status == 200 and isinstance(r.body, dict) and r.body.get("events") == [],
          "events filtered by hostile node/type: want 200 with no rows, got %d %r" % (r.status, r.text[:200]))
    r = hp.get("/api/v1/clusters/" + "a" * 5000)
    check(r.status in (400, 404, 414), "GET a 5000-character cluster name: %d" % r.status)

    # --- oversized body ------------------------------------------------------
    size = 2 * 1024 * 1024
    path = "/api/v1/clusters/%s/failover" % NAME
    req = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
           % (path, OPERATOR_TOKEN, size)).encode() + b"{" + b"x" * (size - 1)
    try:
        st, hdrs, body = hp.raw(req)
        check(st in (413, 400), "POST %s with a 2 MB body: status %d, want 413 (or 400): %r" % (path, st, body[:200]))
        check(hdrs.get("content-type", "").startswith("application/json"),
              "2 MB body: Content-Type %r" % hdrs.get("content-type"))
    except OSError as e:
        check(False, "POST %s with a 2 MB body: no HTTP response (%s)" % (path, e))
    r = hp.get("/api/v1/health", token=None)
    check(r.status == 200, "health after the 2 MB body: %d" % r.status)
    r = hp.get("/api/v1/clusters/%s" % NAME)
    check(r.status == 200, "GET cluster after the 2 MB body: %d" % r.status)

    # --- nothing of this became an event -------------------------------------
    time.sleep(1.0)
    after = [e.get("id") for e in all_events(hp)]
    new = [e for e in all_events(hp) if e.get("id") not in set(before)]
    check(after == before, "the bad requests created events: %r" % [
        (e.get("type"), e.get("node"), e.get("message")) for e in new])

    assert not failures, "%d checks failed:\n  - %s" % (len(failures), "\n  - ".join(failures))


if __name__ == "__main__":
    run_test(test)
