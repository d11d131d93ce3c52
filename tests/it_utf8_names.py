#!/usr/bin/env python3
"""it_utf8_names: a Sentinel may monitor a master whose name is not valid
UTF-8 (SENTINEL MONITOR takes any bytes, and publishes +monitor with them).
hapanel stores what it gets from Redis and Sentinel made valid UTF-8 (each
byte of an invalid sequence becomes '?'), so every JSON document it serves or
posts stays strict JSON: the events, jobs, failovers, alerts and
notifications, the normal cluster, and the webhook bodies, after a forced
failover and a downed node in the badly named cluster, and the cluster
list and the badly named cluster itself. Before, the raw bytes went into the
history and GET /api/v1/events was no longer valid JSON."""

import json
import os
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Redis, log, parse_kv, redis_info, run_test, split_addr,  # noqa: E402
                     start_receiver, wait_for)

BAD = b"bad\xffname"
BAD_PATH = urllib.parse.quote_from_bytes(BAD, safe="")
FIXED = "bad?name"
# rendered in topology.c (not fixed there yet): reported, not asserted
ALSO = ("/api/v1/clusters", "/api/v1/clusters/%s" % BAD_PATH)


def strict(raw):
    return json.loads(raw.decode("utf-8"))


def is_strict(raw):
    try:
        strict(raw)
        return True
    except ValueError:
        return False


def test(env):
    wh = start_receiver(env)
    topo = env.topology(replicas=1)
    hp = env.hapanel(topo, env_extra={"HAPANEL_WEBHOOK_URLS": wh.url + "/hook",
                                      "HAPANEL_ALERT_REPLICA_DOWN_S": "1"})

    # the badly named cluster: its own master and replica
    bm = topo.start_node()
    br = topo.start_node(replicaof=bm.addr)
    wait_for(lambda: redis_info(br.addr, section="replication").get("master_link_status") == "up",
             10, msg="the replica of the bad cluster syncs")

    # Sentinel takes the name as it is and publishes it in +monitor
    h, p = split_addr(topo.sentinel_addrs[0])
    sub = socket.create_connection((h, p), timeout=5)
    sub.sendall(Redis._encode(["SUBSCRIBE", "+monitor"]))
    got = b""
    for s in topo.sentinel_addrs:
        with topo.client(s) as c:
            assert c.cmd("SENTINEL", "MONITOR", BAD, "127.0.0.1", bm.port, 2) == "OK"
            c.cmd("SENTINEL", "SET", BAD, "down-after-milliseconds", 1000, "failover-timeout", 3000)
    deadline = time.monotonic() + 5
    while b"master " + BAD not in got and time.monotonic() < deadline:
        got += sub.recv(4096)
    sub.close()
    assert b"master " + BAD + b" 127.0.0.1" in got, "no +monitor with the raw name: %r" % got

    def sentinels_ready():
        for s in topo.sentinel_addrs:
            with topo.client(s) as c:
                m = parse_kv(c.cmd("SENTINEL", "MASTER", BAD))
            if m.get("num-slaves") != "1" or m.get("num-other-sentinels") != "2":
                return False
        return True
    wait_for(sentinels_ready, 15, 0.2, msg="the Sentinels know the bad cluster's replica and each other")

    def panel_sees_it():
        r = hp.get("/api/v1/clusters/%s" % BAD_PATH)
        if r.status != 200:
            return False
        body = json.loads(r.raw.decode("utf-8", "replace"))
        nodes = [body.get("master") or {}] + list(body.get("replicas") or [])
        return sorted(n.get("addr") for n in nodes if n.get("up")) == sorted([bm.addr, br.addr])
    wait_for(panel_sees_it, 15, 0.2, msg="hapanel shows the bad cluster with both nodes up")

    # a forced failover through hapanel: a job, its events, a failover row
    # and webhook messages, all about the badly named cluster
    r = hp.post("/api/v1/clusters/%s/failover" % BAD_PATH, body={"mode": "force"})
    assert r.status == 202, "forced failover of the bad cluster: %r" % (r,)
    job = hp.wait_job(r.body["job_id"], 40)
    log("job %s: %s" % (job.get("state"), job.get("error")))
    wait_for(lambda: topo.current_master(BAD) == br.addr, 20, 0.2, msg="the bad cluster's new master")

    # the old master goes down: a replica-down alert on the bad cluster
    topo.kill(bm.addr)

    def alert_open():
        raw = hp.get("/api/v1/alerts?state=all").raw
        return any(a.get("cluster") == FIXED for a in strict(raw).get("alerts") or [])
    wait_for(alert_open, 20, 0.3, msg="an alert on the bad cluster")
    wait_for(lambda: any(b"failover" in q.body and b"bad" in q.body for q in wh.got()), 15, 0.2,
             msg="a failover webhook about the bad cluster")
    rows = strict(hp.get("/api/v1/failovers").raw).get("failovers") or []
    assert any(f.get("cluster") == FIXED for f in rows), "no failover row for %s: %r" % (FIXED, rows)

    failures = []
    for path in ("/api/v1/events?limit=1000", "/api/v1/jobs", "/api/v1/failovers",
                 "/api/v1/alerts?state=all", "/api/v1/notifications",
                 "/api/v1/clusters/mymaster", "/api/v1/jobs/%s" % job["id"]) + ALSO:
        r = hp.get(path)
        ok = r.status == 200 and is_strict(r.raw)
        log("%s: %s" % (path, "strict JSON" if ok else "NOT strict JSON"))
        if not ok:
            failures.append("GET %s: %d %r" % (path, r.status, r.raw[:300]))
    events = strict(hp.get("/api/v1/events?limit=1000").raw)["events"]
    if not any(e.get("cluster") == FIXED and e.get("type") == "+monitor" for e in events):
        failures.append("no +monitor event for %s: %r" % (FIXED, [(e["cluster"], e["type"])
                                                                  for e in events][:30]))
    for q in wh.got():
        if not is_strict(q.body):
            failures.append("webhook body is not strict JSON: %r" % q.body[:300])
    log("%d webhook bodies checked" % len(wh.got()))
    assert not failures, "%d checks failed:\n  - %s" % (len(failures), "\n  - ".join(failures))


if __name__ == "__main__":
    run_test(test)
