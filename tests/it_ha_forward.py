#!/usr/bin/env python3
"""it_ha_forward: a write made on a follower of an HA fleet (issue 15) is
relayed to the leader (web/forward.c), two panels on a 3-member etcd, TTL 3 s.
  token     POST /clusters/mymaster/backups with a bearer token to the
            follower: 202 with a job_id, X-Hapanel-Leader naming the leader
            and X-Hapanel-Forwarded-By the follower; the job is the
            leader's (GET on the leader, the token's actor; the follower's
            own job list has no backup); GET /api/v1/jobs/{id} and
            /ui/jobs/{id} on the follower answer 200 from the leader; the
            job succeeds
  local     an {id} of the follower's own rows is never relayed: DELETE of
            the leader's backup id on the follower is 404 (its own
            catalogue) and the leader keeps it; an upload of it is 409; an
            alert ack is the follower's (404 for an unknown id)
  audit     the follower's audit row has params.forwarded_to = the leader;
            the leader's has via forwarded:<follower>, the same actor and
            role, and the follower's address as source
  session   a dashboard login on the follower (its session, not the
            leader's): a BGSAVE POSTed with the cookie and no CSRF token is
            403 there and never reaches the leader; with the CSRF token it
            is 202 and the leader's job names the user
  signed    a request signed in Python with the peer secret, straight to
            the leader, is taken (202: the protocol is as forward.h says);
            a bad signature, the right signature over another body, a
            wrong secret, a time 60 s old, a raised role, a malformed header:
            each 401, nothing started; two X-Hapanel-Forwarded headers: 400
            at the edge; a signed request to the follower (not the
            leader) is 503 no_leader: never relayed twice
  noleader  the leader SIGKILLed: a POST to the follower at once is 503
            no_leader with Retry-After: 2 (the dead leader cannot be
            reached); once the follower leads it runs the POST itself
            (202, no X-Hapanel-Leader)
  secrets   neither log holds the peer secret, a token or the password."""

import hashlib
import hmac
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, VIEWER_TOKEN, log, run_test, wait_for  # noqa: E402
from harness.checks import Checks, call, hashed  # noqa: E402
from harness.etcd import PEER_SECRET, require_etcd  # noqa: E402

TTL = 3
PREFIX = "hapanel"
NAME = "mymaster"
ADMIN = "admin-forward-token-31"
ALICE_PW = "alice-forward-pw-5"
check = Checks()


def sign(method, uri, instance, actor, role, via, ts, body, secret=PEER_SECRET):
    """The X-Hapanel-Forwarded and -Sig headers, as forward.c makes them."""
    msg = "v1\n%s\n%s\n%s\n%s\n%s\n%s\n%d\n%s" % (
        method, uri, instance, actor, role, via, ts, hashlib.sha256(body).hexdigest())
    sig = hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()
    hv = "v1 %s %s %s %s %d" % (instance, urllib.parse.quote(actor, safe="._:@-"), role,
                                urllib.parse.quote(via, safe="._:@-"), ts)
    return {"X-Hapanel-Forwarded": hv, "X-Hapanel-Forwarded-Sig": sig}


def raw_post(panel, path, body, headers):
    """POST of exactly these body bytes (no Authorization)."""
    return panel.request("POST", path, body=body, token=None,
                         headers=dict({"Content-Type": "application/json"}, **headers))


def audit(panel, action):
    r = panel.get("/api/v1/audit?action=%s&limit=50" % urllib.parse.quote(action), token=ADMIN)
    assert r.status == 200, "GET /api/v1/audit on %s: %r" % (panel.ha_name, r)
    return r.body.get("audit") or r.body.get("records") or r.body.get("items") or []


def wait_leader_key(etcd, panels, timeout):
    """The panel named by the etcd key <prefix>/leader."""
    def ok():
        lk = etcd.leader_key(PREFIX) or {}
        return [p for p in panels if p.ha_name == lk.get("id")]
    return wait_for(ok, timeout, msg=lambda: "a leader key naming a panel (%s)"
                    % etcd.leader_key(PREFIX))[0]


def jobs_of(panel, kind):
    return [j for j in panel.jobs(limit=100) if j.get("kind") == kind]


def test(env):
    require_etcd()
    etcd = env.etcd(3)
    topo = env.topology()
    extra = {
        "HAPANEL_API_TOKENS": "viewer:%s,operator:%s,admin:root:%s" % (
            VIEWER_TOKEN, OPERATOR_TOKEN, hashed(ADMIN, "--hash-token")),
        "HAPANEL_USERS": "operator:alice:%s" % hashed(ALICE_PW, "--hash-password"),
    }
    # names as long as the default hostname:port ones: the audit keeps them whole
    panels = env.ha_panels(topo, etcd, n=2, ttl=TTL, env_extra=extra,
                           names=["panel-a.example.internal:18080", "panel-b.example.internal:18081"])
    leader = wait_leader_key(etcd, panels, 5 + TTL)
    follower = [p for p in panels if p is not leader][0]
    # the follower must know the leader (its lease loop read the key) before it can relay
    wait_for(lambda: follower.post("/api/v1/clusters/nosuch/backups", {}).status == 404, 5,
             msg="the follower relays (the leader answers 404 for an unknown cluster)")
    log("leader %s (%s), follower %s (%s)" % (leader.ha_name, leader.base, follower.ha_name,
                                               follower.base))
    for p in panels:
        p.wait_nodes_up(topo.node_addrs, timeout=15)
    me = follower.get("/api/v1/session", token=OPERATOR_TOKEN).body
    actor = me.get("user") if isinstance(me, dict) else None
    log("the operator token's actor: %s" % actor)

    # --- token -------------------------------------------------------------
    r = follower.post("/api/v1/clusters/%s/backups" % NAME, {})
    check(r.status == 202 and isinstance(r.body, dict) and r.body.get("job_id"),
          "token POST backups to the follower: 202 with a job_id (%r)" % r)
    check(r.headers.get("X-Hapanel-Leader") == leader.ha_name,
          "the answer names the leader in X-Hapanel-Leader (%s)" % r.headers.get("X-Hapanel-Leader"))
    check(r.headers.get("X-Hapanel-Forwarded-By") == follower.ha_name,
          "X-Hapanel-Forwarded-By names the follower (%s)" % r.headers.get("X-Hapanel-Forwarded-By"))
    job_id = (r.body or {}).get("job_id") if isinstance(r.body, dict) else None
    if job_id:
        j = leader.get("/api/v1/jobs/%s" % job_id)
        check(j.status == 200 and j.body.get("kind") == "backup" and j.body.get("actor") == actor,
              "the job is the leader's, with the token's actor %s (%r)" % (actor, j))
        check(not jobs_of(follower, "backup"), "the follower ran no backup itself (%s)"
              % jobs_of(follower, "backup"))
        fj = follower.get("/api/v1/jobs/%s" % job_id)
        check(fj.status == 200 and fj.body.get("id") == job_id and fj.body.get("kind") == "backup"
              and fj.headers.get("X-Hapanel-Leader") == leader.ha_name,
              "GET /api/v1/jobs/%s on the follower: the leader's job (%r)" % (job_id, fj))
        uj = follower.get("/ui/jobs/%s" % job_id)
        check(uj.status == 200 and "jobview" in uj.text and "job-unknown" not in uj.text,
              "GET /ui/jobs/%s on the follower: the leader's fragment (%r)" % (job_id, uj))
        done = leader.wait_job(job_id, timeout=60)
        check(done.get("state") == "succeeded", "the forwarded backup succeeded (%s)" % done)
        missing = follower.get("/api/v1/jobs/999999")
        check(missing.status == 404 and missing.body["error"]["code"] == "not_found",
              "an unknown job is 404 from the follower too (the leader's 404, %r)" % missing)

    # --- per instance: an {id} of this instance's own rows is never relayed ----
    bk = [b for b in (leader.get("/api/v1/clusters/%s/backups" % NAME).body or {}).get("backups")
          or []]
    check(bk, "the leader has the backup in its catalogue (%s)" % bk)
    if bk:
        bid = bk[0]["id"]
        r = follower.request("DELETE", "/api/v1/backups/%s" % bid, token=OPERATOR_TOKEN)
        check(r.status == 404 and not r.headers.get("X-Hapanel-Leader"),
              "DELETE /api/v1/backups/%s on the follower: its own catalogue, 404, not relayed (%r)"
              % (bid, r))
        still = [b["id"] for b in (leader.get("/api/v1/clusters/%s/backups" % NAME).body or {})
                 .get("backups") or []]
        check(bid in still, "the leader's backup %s is not deleted by the follower (%s)" % (bid, still))
        r = follower.post("/api/v1/backups/%s/upload" % bid, {})
        check(r.status == 409 and not r.headers.get("X-Hapanel-Leader"),
              "POST /api/v1/backups/%s/upload on the follower: 409, not relayed (%r)" % (bid, r))
    r = follower.post("/api/v1/alerts/999999/ack", {"comment": "x"})
    check(r.status == 404 and not r.headers.get("X-Hapanel-Leader"),
          "POST /api/v1/alerts/{id}/ack on the follower: its own alerts (404), not relayed (%r)" % r)

    # --- audit -------------------------------------------------------------
    act = "POST /api/v1/clusters/{name}/backups"
    rows = [a for a in audit(follower, act) if a.get("status") == 202]
    check(rows and (rows[0].get("params") or {}).get("forwarded_to") == leader.ha_name
          and rows[0].get("actor") == actor and rows[0].get("via") == "token",
          "the follower's audit row says forwarded_to %s (%s)" % (leader.ha_name, rows[:1]))
    rows = [a for a in audit(leader, act) if a.get("status") == 202]
    check(rows and rows[0].get("via") == "forwarded:" + follower.ha_name
          and rows[0].get("actor") == actor and rows[0].get("role") == "operator"
          and rows[0].get("source") == "127.0.0.1",
          "the leader's audit row: via forwarded:%s, actor %s, role operator (%s)"
          % (follower.ha_name, actor, rows[:1]))

    # --- session -------------------------------------------------------------
    st, h, j = call(follower.port, "POST", "/api/v1/login", body={"user": "alice",
                                                                    "password": ALICE_PW})
    check(st == 200 and j and len(j.get("csrf") or "") == 64, "login on the follower (%d %r)"
          % (st, j))
    if st == 200:
        cookie = {"Cookie": h["set-cookie"].split(";")[0]}
        bg = "/api/v1/clusters/%s/nodes/%s/bgsave" % (NAME, topo.initial_master())
        before = len(jobs_of(leader, "bgsave"))
        st2, _, e = call(follower.port, "POST", bg, cookie, {})
        check(st2 == 403 and e["error"]["code"] == "csrf",
              "BGSAVE with the session cookie but no CSRF token: 403 on the follower (%d %r)"
              % (st2, e))
        st2, h2, jb = call(follower.port, "POST", bg, dict(cookie, **{"X-CSRF-Token": j["csrf"]}), {})
        check(st2 == 202 and jb and jb.get("job_id") and h2.get("x-hapanel-leader") == leader.ha_name,
              "BGSAVE with the session and its CSRF token through the follower: 202 from the "
              "leader (%d %r %s)" % (st2, jb, h2.get("x-hapanel-leader")))
        if st2 == 202 and jb:
            lj = leader.wait_job(jb["job_id"], timeout=30)
            check(lj.get("actor") == "alice" and lj.get("kind") == "bgsave",
                  "the leader's BGSAVE job names alice (%s)" % lj)
        check(len(jobs_of(leader, "bgsave")) == before + 1,
              "exactly one BGSAVE reached the leader (the CSRF refusal did not)")
        la = [a for a in audit(leader, "POST /api/v1/clusters/{name}/nodes/{addr}/bgsave")]
        check([a.get("status") for a in la] == [202] and la[0].get("actor") == "alice"
              and la[0].get("via") == "forwarded:" + follower.ha_name,
              "the leader's audit has the one BGSAVE, by alice via the follower (%s)" % la)
        # the session is the follower's: the leader does not know it
        st3, _, _ = call(leader.port, "POST", bg, dict(cookie, **{"X-CSRF-Token": j["csrf"]}), {})
        check(st3 == 401, "the follower's session cookie on the leader: 401 (%d)" % st3)

    # --- signed ----------------------------------------------------------------
    path = "/api/v1/clusters/%s/backups" % NAME
    body = json.dumps({"reason": "signed in the test"}).encode()
    before = len(jobs_of(leader, "backup"))
    now = int(time.time() * 1000)
    good = sign("POST", path, "tester", "signer", "operator", "token", now, body)
    r = raw_post(leader, path, body, good)
    check(r.status == 202, "a request signed with the peer secret, straight to the leader: 202 (%r)"
          % r)
    if r.status == 202:
        leader.wait_job(r.body["job_id"], timeout=60)
    bad = dict(good, **{"X-Hapanel-Forwarded-Sig": "0" * 64})
    other = sign("POST", path, "tester", "signer", "operator", "token", now, b"{}")
    cases = [
        ("a bad signature", body, bad),
        ("the signature of another body", body, other),
        ("another secret", body, sign("POST", path, "tester", "signer", "operator", "token", now,
                                      body, secret="not-the-secret")),
        ("a time 60 s old", body, sign("POST", path, "tester", "signer", "operator", "token",
                                       now - 60000, body)),
        ("an admin role it was not signed for", body,
         dict(good, **{"X-Hapanel-Forwarded": good["X-Hapanel-Forwarded"].replace("operator",
                                                                                  "admin")})),
        ("a malformed header", body, dict(good, **{"X-Hapanel-Forwarded": "v1 x"})),
        ("only the signature", body, {"X-Hapanel-Forwarded-Sig": good["X-Hapanel-Forwarded-Sig"]}),
    ]
    for what, b, hd in cases:
        r = raw_post(leader, path, b, hd)
        check(r.status == 401 and r.body["error"]["code"] == "unauthorized",
              "forwarded request with %s: 401 (%r)" % (what, r))
    st, _, _ = leader.raw(("POST %s HTTP/1.1\r\nHost: x\r\nX-Hapanel-Forwarded: %s\r\n"
                           "X-Hapanel-Forwarded: v1 x\r\nX-Hapanel-Forwarded-Sig: %s\r\n"
                           "Content-Length: 0\r\n\r\n" % (path, good["X-Hapanel-Forwarded"],
                                                          good["X-Hapanel-Forwarded-Sig"])).encode())
    check(st == 400, "two X-Hapanel-Forwarded headers: 400 at the edge (%s)" % st)
    # a bad signature next to a valid token is still refused: the header decides
    r = leader.request("POST", path, body=body, token=OPERATOR_TOKEN, headers=bad)
    check(r.status == 401, "a bad forwarded signature with a valid token: 401 (%r)" % r)
    check(len(jobs_of(leader, "backup")) == before + 1,
          "only the well-signed request started a backup on the leader")
    now = int(time.time() * 1000)
    r = raw_post(follower, path, body, sign("POST", path, "tester", "signer", "operator", "token",
                                            now, body))
    check(r.status == 503 and r.body["error"]["code"] == "no_leader"
          and r.headers.get("Retry-After") == "2",
          "a forwarded request to the follower: 503 no_leader, not relayed again (%r)" % r)
    check("Authorization" not in follower.log_text(), "no header dump in the follower's log")

    # --- noleader ---------------------------------------------------------------
    leader.kill()
    log("SIGKILLed the leader %s" % leader.ha_name)
    r = follower.post(path, {})
    check(r.status == 503 and r.body["error"]["code"] == "no_leader"
          and r.headers.get("Retry-After") == "2",
          "POST to the follower with the leader dead: 503 no_leader, Retry-After 2 (%r)" % r)
    wait_for(lambda: (etcd.leader_key(PREFIX) or {}).get("id") == follower.ha_name, TTL + 3,
             msg=lambda: "the follower leads after the kill (%s)" % etcd.leader_key(PREFIX))
    time.sleep(0.5)  # its lease loop's next round (at most TTL/10) sees it holds the key
    r = follower.post(path, {})
    check(r.status == 202 and not r.headers.get("X-Hapanel-Leader"),
          "the new leader runs the POST itself: 202, no X-Hapanel-Leader (%r %s)"
          % (r, r.headers.get("X-Hapanel-Leader")))
    if r.status == 202:
        follower.wait_job(r.body["job_id"], timeout=60)

    # --- secrets -----------------------------------------------------------------
    for p in panels:
        text = p.log_text()
        for what, s in (("the peer secret", PEER_SECRET), ("the operator token", OPERATOR_TOKEN),
                        ("the admin token", ADMIN), ("alice's password", ALICE_PW)):
            check(s not in text, "%s's log has no %s" % (p.ha_name, what))
    check.done()


if __name__ == "__main__":
    run_test(test)
