#!/usr/bin/env python3
"""it_auth_login: dashboard logins (issue 11).
  - POST /api/v1/login with a configured user sets hp_session: HttpOnly,
    SameSite=Strict, Path=/, Max-Age the absolute expiry (Secure is checked
    under TLS in it_http_tls); GET /api/v1/session tells user, role, CSRF;
  - a write through the cookie needs X-CSRF-Token: without it, or with a
    wrong one, 403 csrf and nothing starts; with it, the action runs;
  - logout ends the session: the cookie then gets 401;
  - failed logins: after login_max_failures from one address, that address
    gets 429 with Retry-After even with the right password, while another
    address still logs in; after as many failures for one user from many
    addresses, that user gets 429 from a fresh address too;
  - a session ends after session_idle_s without a request, and after
    session_max_s however busy;
  - bearer tokens keep working beside sessions;
  - every login (ok and refused), the logout and the CSRF refusals are in
    the audit trail with source address and outcome, the password never;
    History shows the trail to an admin, not to an operator."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.checks import Checks, call, hashed  # noqa: E402
from harness import OPERATOR_TOKEN, VIEWER_TOKEN, run_test  # noqa: E402

NAME = "mymaster"
ADMIN = "admin-login-token-77"
check = Checks()





def login(port, user, pw, source="127.0.0.1"):
    return call(port, "POST", "/api/v1/login", body={"user": user, "password": pw}, source=source)


def test(env):
    topo = env.topology()
    pw = hashed("alice-pw", "--hash-password")
    extra = {
        "HAPANEL_API_TOKENS": "viewer:%s,operator:%s,admin:root:%s" % (
            VIEWER_TOKEN, OPERATOR_TOKEN, hashed(ADMIN, "--hash-token")),
        "HAPANEL_USERS": "operator:alice:%s,viewer:bob:%s,viewer:carol:%s" % (pw, pw, pw),
        "HAPANEL_LOGIN_MAX_FAILURES": "3",
        "HAPANEL_SESSION_IDLE_S": "3",
        "HAPANEL_SESSION_MAX_S": "8",
    }
    hp = env.hapanel(topo, env_extra=extra)
    hp.wait_nodes_up([topo.current_master()] + topo.initial_replicas(), NAME, 10)
    admin = {"Authorization": "Bearer " + ADMIN}

    # --- a login and its cookie --------------------------------------------
    st, h, j = login(hp.port, "alice", "alice-pw")
    check(st == 200 and j and j["role"] == "operator" and len(j["csrf"]) == 64, "login: %d %r" % (st, j))
    sc = h.get("set-cookie", "")
    attrs = [a.strip().lower() for a in sc.split(";")]
    check(sc.startswith("hp_session=") and "httponly" in attrs and "samesite=strict" in attrs
          and "path=/" in attrs and "max-age=8" in attrs and "secure" not in attrs,
          "session cookie attributes: %r" % sc)
    cookie = {"Cookie": sc.split(";")[0]}
    st, _, j2 = call(hp.port, "GET", "/api/v1/session", cookie)
    check(st == 200 and j2["user"] == "alice" and j2["via"] == "session" and j2["csrf"] == j["csrf"]
          and j2["can_act"] is True, "GET /api/v1/session: %d %r" % (st, j2))
    csrf = j["csrf"]

    # --- CSRF ----------------------------------------------------------------
    fo = "/api/v1/clusters/%s/failover" % NAME
    st, _, e = call(hp.port, "POST", fo, cookie, {"mode": "graceful"})
    check(st == 403 and e["error"]["code"] == "csrf", "failover by cookie without CSRF: %d %r" % (st, e))
    st, _, e = call(hp.port, "POST", fo, dict(cookie, **{"X-CSRF-Token": csrf[:-1] + ("1" if csrf[-1] == "0" else "0")}), {"mode": "graceful"})
    check(st == 403 and e["error"]["code"] == "csrf", "failover with a wrong CSRF token: %d %r" % (st, e))
    check(hp.jobs() == [], "a refused write started a job")
    st, _, e = call(hp.port, "POST", "/api/v1/clusters/%s/backups" % NAME,
                    dict(cookie, **{"X-CSRF-Token": csrf}), {})
    check(st == 202, "a backup by cookie with its CSRF token: %d %r" % (st, e))
    if st == 202:
        jb = hp.wait_job(e["job_id"], 60)
        check(jb["actor"] == "alice", "the job's actor is %r, want alice" % jb.get("actor"))
    # a token still works, and needs no CSRF token
    check(hp.get("/api/v1/clusters").status == 200, "viewer token beside sessions")

    # --- logout ----------------------------------------------------------------
    st, h, _ = call(hp.port, "POST", "/api/v1/logout", dict(cookie, **{"X-CSRF-Token": csrf}))
    check(st == 200 and "max-age=0" in h.get("set-cookie", "").lower(), "logout: %d %r" % (st, h.get("set-cookie")))
    st, _, e = call(hp.port, "GET", "/api/v1/clusters", cookie)
    check(st == 401 and e["error"]["code"] == "session_expired", "the cookie after logout: %d %r" % (st, e))

    # --- failed logins, per address ----------------------------------------------
    # (three different names: only the address's count reaches the limit)
    for i in range(3):
        st, _, _ = login(hp.port, "guess%d" % i, "wrong", source="127.0.2.1")
        check(st == 401, "wrong login %d from one address: %d" % (i + 1, st))
    st, h, e = login(hp.port, "bob", "alice-pw", source="127.0.2.1")
    check(st == 429 and int(h.get("retry-after", "0")) > 0 and "address" in e["error"]["message"],
          "4th attempt from one address, right password: %d %r %r" % (st, h.get("retry-after"), e))
    st, _, _ = login(hp.port, "bob", "alice-pw", source="127.0.2.2")
    check(st == 200, "bob from another address: %d" % st)
    # --- per user, from many addresses -------------------------------------------
    for i in range(3):
        st, _, _ = login(hp.port, "carol", "wrong", source="127.0.3.%d" % (i + 1))
        check(st == 401, "carol wrong password from address %d: %d" % (i + 1, st))
    st, _, e = login(hp.port, "carol", "alice-pw", source="127.0.3.9")
    check(st == 429 and "user" in e["error"]["message"], "carol from a fresh address: %d %r" % (st, e))
    st, _, _ = login(hp.port, "nobody", "x", source="127.0.4.1")
    check(st == 401, "an unknown user: %d" % st)

    # --- expiry: idle 3 s, absolute 8 s ---------------------------------------------
    st, h, _ = login(hp.port, "alice", "alice-pw", source="127.0.5.1")
    c2 = {"Cookie": h["set-cookie"].split(";")[0]}
    time.sleep(3.6)
    st, _, e = call(hp.port, "GET", "/api/v1/clusters", c2)
    check(st == 401 and e["error"]["code"] == "session_expired", "after 3.6 s idle: %d %r" % (st, e))
    st, h, _ = login(hp.port, "alice", "alice-pw", source="127.0.5.1")
    c3 = {"Cookie": h["set-cookie"].split(";")[0]}
    t0 = time.monotonic()
    alive_until = 0.0
    while time.monotonic() - t0 < 10:
        st, _, _ = call(hp.port, "GET", "/api/v1/clusters", c3)
        if st != 200:
            break
        alive_until = time.monotonic() - t0
        time.sleep(1)
    check(st == 401 and 6.5 < alive_until < 8.5,
          "a busy session ended after %.1f s (status %d), want about 8 s" % (alive_until, st))

    # --- the audit trail ---------------------------------------------------------
    st, _, j = call(hp.port, "GET", "/api/v1/audit?action=POST%20/api/v1/login&limit=100", admin)
    rows = j["audit"]
    outcomes = [(r["actor"], r["status"], r["source"]) for r in rows]
    check(("bob", 429, "127.0.2.1") in outcomes and ("bob", 200, "127.0.2.2") in outcomes
          and ("carol", 401, "127.0.3.1") in outcomes and ("nobody", 401, "127.0.4.1") in outcomes,
          "login audit records: %r" % outcomes)
    check(all(r["params"].get("password") == "(removed)" for r in rows), "a password in the audit")
    st, _, j = call(hp.port, "GET", "/api/v1/audit?outcome=refused&actor=alice", admin)
    check(sum(1 for r in j["audit"] if r["action"] == "POST /api/v1/clusters/{name}/failover") == 2,
          "the two CSRF refusals: %r" % j["audit"][:3])
    st, _, j = call(hp.port, "GET", "/api/v1/audit?action=POST%20/api/v1/logout", admin)
    check(len(j["audit"]) == 1 and j["audit"][0]["via"] == "session", "logout record: %r" % j["audit"])
    st, _, _ = call(hp.port, "GET", "/api/v1/audit", {"Authorization": "Bearer " + OPERATOR_TOKEN})
    check(st == 403, "the audit trail for an operator: %d" % st)
    # History shows the trail to an admin only, escaped
    r = hp.get("/ui/history", token=ADMIN)
    check(r.status == 200 and "Audit trail" in r.text and "POST /api/v1/login" in r.text
          and "127.0.2.1" in r.text and "(removed)" in r.text, "History for an admin: %r" % r.text[-600:])
    r = hp.get("/ui/history", token=OPERATOR_TOKEN)
    check(r.status == 200 and "Audit trail" not in r.text, "History shows the audit to an operator")
    check.done()


if __name__ == "__main__":
    run_test(test)
