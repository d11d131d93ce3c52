#!/usr/bin/env python3
"""it_secret_scan: no secret leaves hapanel (issue 11). A topology whose
nodes and Sentinels take the default user's password and also an ACL user
with a password of its own; hapanel is given the ACL user (REDIS_USERNAME,
REDIS_SENTINEL_USERNAME): it can only reach them if it sends the user name
too. Then, with tokens (two in plain text, an admin's stored hashed), a
user login (its session cookie), a webhook with an HMAC secret, hapanel
runs a graceful switchover, a backup and a test notification. Afterwards
every secret (the passwords, the ACL user's name and password, the tokens,
the user's password, the session id, the webhook secret) is searched for in:
the answer of every GET route of the route table (as admin, and through the
session), the dashboard's fragments, the webhook bodies received, hapanel's
log, and the bytes of its SQLite files. Also: the login's audit record shows
the user and "(removed)", never the password; and a wrong ACL user name
shows the nodes down, saying AUTH failed, naming no secret."""

import glob
import http.client
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.checks import Checks, hashed, read_body  # noqa: E402
from harness import OPERATOR_TOKEN, VIEWER_TOKEN, log, run_test, wait_for  # noqa: E402
from harness.receiver import start_receiver  # noqa: E402

NAME = "mymaster"
DEFAULT_PW = "Dflt-Pa55-Zq81x"
ACL = ("hp-acl-user-x7q", "Acl-Pa55-Kw29m")
ADMIN_TOKEN = "admin-Tok-4x8zPq"
USER_PW = "user-Pw-3n6bVc"
WEBHOOK_SECRET = "whk-Secret-5m2vLs"
check = Checks()





def raw_call(port, method, path, headers=None, body=None):
    """(status, header list, raw body bytes): what is scanned for secrets."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers=dict(headers or {}, **({"Content-Type": "application/json"} if body is not None else {})))
        r = c.getresponse()
        return r.status, r.getheaders(), read_body(r, c)
    finally:
        c.close()


def fill(pattern, job_id, backup_id):
    return (pattern.replace("{name}", NAME).replace("{addr}", "127.0.0.1:1")
            .replace("{file}", "app.js").replace("/jobs/{id}", "/jobs/%d" % job_id)
            .replace("/backups/{id}", "/backups/%d" % backup_id).replace("{id}", "1"))


def test(env):
    topo = env.topology(password=DEFAULT_PW, acl_user=ACL)
    rcv = start_receiver(env)
    extra = {
        "REDIS_USERNAME": ACL[0], "REDIS_PASSWORD": ACL[1],
        "REDIS_SENTINEL_USERNAME": ACL[0], "REDIS_SENTINEL_PASSWORD": ACL[1],
        "HAPANEL_API_TOKENS": "viewer:%s,operator:%s,admin:root:%s" % (
            VIEWER_TOKEN, OPERATOR_TOKEN, hashed(ADMIN_TOKEN, "--hash-token")),
        "HAPANEL_USERS": "operator:alice:%s" % hashed(USER_PW, "--hash-password"),
        "HAPANEL_WEBHOOK_URLS": rcv.url + "/hook",
        "HAPANEL_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    hp = env.hapanel(topo, env_extra=extra)
    master = topo.current_master()
    # the default user's password is not what hapanel has: only the ACL user gets it in
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 15)
    c = hp.cluster(NAME)
    check(all(s.get("up") for s in c.get("sentinels") or []) and len(c.get("sentinels") or []) == 3,
          "the Sentinels are not all up with the ACL user: %r" % c.get("sentinels"))

    st, hdrs, body = raw_call(hp.port, "POST", "/api/v1/login", body={"user": "alice", "password": USER_PW})
    check(st == 200, "login: %d %r" % (st, body[:200]))
    login = json.loads(body)
    cookie = [v for k, v in hdrs if k.lower() == "set-cookie"][0].split(";")[0]
    sid = cookie.split("=", 1)[1]
    sess = {"Cookie": cookie}
    admin = {"Authorization": "Bearer " + ADMIN_TOKEN}

    # a switchover through the session, a backup and a test message by token
    st, _, body = raw_call(hp.port, "POST", "/api/v1/clusters/%s/failover" % NAME,
                       headers=dict(sess, **{"X-CSRF-Token": login["csrf"]}),
                       body={"mode": "graceful", "reason": "secret scan"})
    check(st == 202, "failover through the session: %d %r" % (st, body[:200]))
    if st == 202:
        jb = hp.wait_job(json.loads(body)["job_id"], 60)
        check(jb["state"] == "succeeded", "the switchover: %s %s" % (jb["state"], jb.get("error")))
    r = hp.post("/api/v1/clusters/%s/backups" % NAME, body={})
    check(r.status == 202, "backup: %r" % r)
    backup_id = 1
    if r.status == 202:
        jb = hp.wait_job(r.body["job_id"], 60)
        check(jb["state"] == "succeeded", "the backup: %s %s" % (jb["state"], jb.get("error")))
        backup_id = (jb.get("result") or {}).get("backup_id") or 1
    r = hp.post("/api/v1/notifications/test", body={})
    check(r.status in (200, 202), "notification test: %r" % r)
    rcv.wait(lambda m: m.path == "/hook", 1, timeout=20, msg="the test message at the webhook")

    # the login's audit record
    st, _, body = raw_call(hp.port, "GET", "/api/v1/audit?action=POST%20/api/v1/login", headers=admin)
    rows = json.loads(body).get("audit") or []
    check(rows and rows[0]["actor"] == "alice" and rows[0]["outcome"] == "ok"
          and rows[0]["params"].get("password") == "(removed)" and rows[0]["source"] == "127.0.0.1",
          "the login's audit record: %r" % rows[:1])

    # every answer, every fragment, every webhook body, the log, the database
    texts = {}
    routes = subprocess.run([hp.bin, "--routes"], capture_output=True, text=True, check=True).stdout
    jid = max([j["id"] for j in hp.jobs()] or [1])
    for line in routes.splitlines():
        method, pattern = line.split()[:2]
        if method != "GET":
            continue
        path = fill(pattern, jid, backup_id)
        for who, h in (("admin", admin), ("session", sess)):
            st, hd, body = raw_call(hp.port, "GET", path, headers=h)
            texts["%s %s as %s (%d)" % (method, path, who, st)] = body + repr(hd).encode()
    for m in rcv.got():
        texts["webhook %s" % m.path] = m.body + repr(m.headers.items()).encode()
    hp.stop()
    texts["hapanel log"] = open(hp.logpath, "rb").read()
    for f in glob.glob(os.path.join(hp.data_dir, "hapanel.db*")):
        texts[os.path.basename(f)] = open(f, "rb").read()
    secrets = {"default password": DEFAULT_PW, "ACL user": ACL[0], "ACL password": ACL[1],
               "admin token": ADMIN_TOKEN, "viewer token": VIEWER_TOKEN,
               "operator token": OPERATOR_TOKEN, "user password": USER_PW,
               "session id": sid, "webhook secret": WEBHOOK_SECRET}
    log("searched %d texts, %d bytes, for %d secrets" % (
        len(texts), sum(len(t) for t in texts.values()), len(secrets)))
    for sname, sv in secrets.items():
        for tname, t in texts.items():
            check(sv.encode() not in t, "the %s is in %s" % (sname, tname))

    # a wrong ACL user name: nodes down, the log says AUTH failed and no secret
    extra2 = dict(extra, REDIS_USERNAME="no-such-user")
    hp2 = env.hapanel(topo, env_extra=extra2)
    seen = {}

    def auth_failed():
        st, _, body = raw_call(hp2.port, "GET", "/api/v1/clusters/" + NAME, headers=admin)
        seen["c"] = body
        return b"AUTH failed" in body
    # every node refuses the user: each node says why
    try:
        wait_for(auth_failed, 10, 0.2, msg="the cluster to say AUTH failed for its nodes with a wrong ACL user")
    except AssertionError:
        log("cluster: %r" % seen.get("c", b"")[:1500])
        raise
    hp2.stop()
    text = open(hp2.logpath, "rb").read() + seen["c"]
    for sname, sv in secrets.items():
        check(sv.encode() not in text, "the %s is in the wrong user's log" % sname)
    check.done()


if __name__ == "__main__":
    run_test(test)
