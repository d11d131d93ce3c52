#!/usr/bin/env python3
"""it_auth_matrix: every route of the route table (read from `hapanel
--routes`, so a new route is in the matrix the day it is added) against
every kind of caller: no credential, an unknown token, a viewer, an
operator and an admin token, a viewer's and an admin's login session, and a
session writing without (or with a wrong) X-CSRF-Token. The expectation
comes from the route's role alone: an open route is never 401/403; no
credential and an unknown token get 401; a role below the route's gets 403;
a session's write without the right CSRF token gets 403 with code csrf;
everyone else gets past authentication (any status but 401/403). Every
answer carries the security headers (a CSP without inline script,
X-Frame-Options DENY, nosniff, no referrer).

Writes are sent with a body that names an unknown field (or a path that
names nothing), so that passing authentication starts nothing. Then the
same hapanel restarted with [auth] metrics_open=1 and anonymous_read=1:
/metrics and every viewer GET answer without a credential, and anything
else still needs one. At the end, every refused write is in the audit
trail as refused."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.checks import Checks, binary, call, hashed  # noqa: E402
from harness import OPERATOR_TOKEN, VIEWER_TOKEN, log, run_test  # noqa: E402

NAME = "mymaster"
ADMIN_TOKEN = "admin-matrix-token-1"
RANK = {"open": 0, "viewer": 1, "operator": 2, "admin": 3}
SECURITY = {"content-security-policy": "script-src 'self';", "x-frame-options": "DENY",
            "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}
check = Checks()




def fill(pattern):
    """Path parameters that name nothing that exists, or something harmless."""
    return (pattern.replace("{name}", NAME).replace("{addr}", "127.0.0.1:1")
            .replace("{file}", "app.css").replace("{id}", "999999"))


def login(port, user, pw):
    st, h, j = call(port, "POST", "/api/v1/login", body={"user": user, "password": pw})
    assert st == 200, "login %s: %d %r" % (user, st, j)
    return {"Cookie": h["set-cookie"].split(";")[0]}, j["csrf"]


def routes(binary):
    out = subprocess.run([binary, "--routes"], capture_output=True, text=True, check=True).stdout
    rows = [line.split()[:3] for line in out.splitlines() if line.strip()]
    assert len(rows) >= 30, "the route table has only %d routes" % len(rows)
    return rows



def test(env):
    topo = env.topology(replicas=1, sentinels=1, quorum=1)
    pw = hashed("matrix-pw", "--hash-password")
    extra = {
        "HAPANEL_API_TOKENS": "viewer:%s,operator:%s,admin:root:%s" % (
            VIEWER_TOKEN, OPERATOR_TOKEN, hashed(ADMIN_TOKEN, "--hash-token")),
        "HAPANEL_USERS": "viewer:vera:%s,admin:ada:%s" % (pw, pw),
        "HAPANEL_LOGIN_MAX_FAILURES": "1000",
    }
    hp = env.hapanel(topo, env_extra=extra)
    vsess, vcsrf = login(hp.port, "vera", "matrix-pw")
    asess, acsrf = login(hp.port, "ada", "matrix-pw")
    callers = [
        ("no credential", {}, None),
        ("unknown token", {"Authorization": "Bearer not-a-token"}, None),
        ("viewer token", {"Authorization": "Bearer " + VIEWER_TOKEN}, "viewer"),
        ("operator token", {"Authorization": "Bearer " + OPERATOR_TOKEN}, "operator"),
        ("admin token", {"Authorization": "Bearer " + ADMIN_TOKEN}, "admin"),
        ("viewer session", dict(vsess, **{"X-CSRF-Token": vcsrf}), "viewer"),
        ("admin session", dict(asess, **{"X-CSRF-Token": acsrf}), "admin"),
        ("admin session without CSRF", asess, "admin-nocsrf"),
        ("admin session with a wrong CSRF", dict(asess, **{"X-CSRF-Token": "0" * 64}), "admin-nocsrf"),
        ("expired session", {"Cookie": "hp_session=" + "a" * 64}, None),
    ]
    table = routes(binary())
    n = 0
    refused_writes = 0
    for method, pattern, role in table:
        path = fill(pattern)
        need = RANK[role]
        for cname, headers, crole in callers:
            if pattern in ("/api/v1/logout",) and "session" in cname and "without" not in cname \
                    and "wrong" not in cname and "expired" not in cname:
                continue  # would end the session the rest of the matrix uses
            body = {"matrix_unknown_field": 1} if method in ("POST", "PUT", "PATCH") else None
            st, h, j = call(hp.port, method, path, headers, body)
            n += 1
            what = "%s %s as %s -> %d %r" % (method, pattern, cname, st, j)
            # every answer, refusals included, carries the security headers
            missing = [k for k, v in SECURITY.items() if v not in h.get(k, "")]
            check(not missing, what + ": without %r" % missing)
            write = method not in ("GET", "HEAD")
            if need == 0:
                check(st not in (401, 403), what + ": an open route refused")
                continue
            if crole is None:
                check(st == 401, what + ": want 401")
                check(isinstance(j, dict) and j.get("error", {}).get("code") in
                      ("unauthorized", "session_expired"), what + ": not a JSON 401")
            elif crole == "admin-nocsrf":
                if write:
                    check(st == 403 and (j or {}).get("error", {}).get("code") == "csrf",
                          what + ": want 403 csrf")
                else:
                    check(st not in (401, 403), what + ": a read needs no CSRF token")
            elif RANK[crole] < need:
                check(st == 403 and (j or {}).get("error", {}).get("code") == "forbidden",
                      what + ": want 403 forbidden")
            else:
                check(st not in (401, 403), what + ": want past authentication")
            if write and st in (401, 403):
                refused_writes += 1
    log("%d routes x %d callers: %d requests" % (len(table), len(callers), n))
    check(hp.jobs() == [], "the matrix started jobs: %r" % hp.jobs())

    # every refused write left an audit record
    st, _, j = call(hp.port, "GET", "/api/v1/audit?outcome=refused&limit=1000",
                    {"Authorization": "Bearer " + ADMIN_TOKEN})
    rows = (j or {}).get("audit") or []
    check(len(rows) == refused_writes, "%d refused writes, %d refused audit records" % (
        refused_writes, len(rows)))
    check(all(r["source"] == "127.0.0.1" and r["action"].split()[0] in ("POST", "DELETE") for r in rows),
          "audit records without source or action: %r" % rows[:3])
    hp.stop()

    # metrics and anonymous reading open by configuration only
    hp2 = env.hapanel(topo, env_extra=dict(extra, HAPANEL_METRICS_OPEN="1", HAPANEL_ANONYMOUS_READ="1"))
    for method, pattern, role in table:
        st, _, j = call(hp2.port, method, fill(pattern), {},
                        {"matrix_unknown_field": 1} if method == "POST" else None)
        what = "anonymous %s %s (%s) -> %d" % (method, pattern, role, st)
        if role == "open" or (role == "viewer" and method == "GET"):
            check(st not in (401, 403), what + ": want open")
        else:
            check(st == 401, what + ": want 401")
    check.done()


if __name__ == "__main__":
    run_test(test)
