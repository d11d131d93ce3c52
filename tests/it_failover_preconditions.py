#!/usr/bin/env python3
"""it_failover_preconditions: the refusals of POST /failover change nothing.

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms, failover-timeout
3000 ms). Each refused request is followed by a check that it created no job
(GET /api/v1/jobs is empty), left the master where it was (for the Sentinels,
the node itself and the API), left every replica-priority as it was and
added no failover row:

  403  the viewer token
  404  an unknown target, the master as target, an unknown cluster
  400  not JSON, a JSON array, an unknown field, mode "sideways",
       max_pause_ms "x", max_pause_ms 10, mode force with a target
  412  (c) target with replica-priority 0 (once the API shows priority 0)
  412  (a) graceful with the master SIGSTOPped (once the API shows it down;
       the Sentinels' down-after is raised meanwhile so they do not fail
       over themselves), with and without a target; the message names it
  412  (b) target a replica that was SIGKILLed (once the API shows it down)
  409  while a graceful failover with a target runs (steering its priority
       keeps the job running for seconds), another failover, a resync and a
       Sentinel reset are refused with a body saying a job is running, and
       no second job exists; the first job then ends (succeeds)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import VIEWER_TOKEN, Hapanel, log, run_test, wait_for  # noqa: E402

NAME = "mymaster"
FO = "/api/v1/clusters/%s/failover" % NAME


def err_of(r):
    e = (r.body if isinstance(r.body, dict) else {}).get("error") or {}
    assert isinstance(e, dict) and e.get("code") and e.get("message"), \
        "error body is not {error:{code,message}}: %r" % r
    return e


def test(env):
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    hp = env.hapanel(topo)
    old = topo.current_master()
    r1, r2 = topo.initial_replicas()
    hp.wait_nodes_up([old, r1, r2], NAME, 10)
    prio0 = topo.priorities()
    log("replica-priority: %s" % prio0)

    def unchanged(label):
        """Nothing changed by the refused request(s) of `label`."""
        jobs = hp.jobs()
        assert jobs == [], "%s: a job was created: %s" % (label, jobs)
        fos = hp.failovers()
        assert fos == [], "%s: a failover row was added: %s" % (label, fos)
        assert topo.agreed_master(10) == old, "%s: the master moved: %s" % (label, topo.sentinel_masters())
        m = (hp.cluster(NAME).get("master") or {}).get("addr")
        assert m == old, "%s: the API shows master %r, not %s" % (label, m, old)
        p = topo.priorities()
        want = {a: v for a, v in prio0.items() if a in p}
        assert p == want, "%s: replica-priority changed: %s -> %s" % (label, want, p)
        log("%s: nothing changed" % label)

    # 403: viewer token
    r = hp.post(FO, {"mode": "graceful", "target": r1}, token=VIEWER_TOKEN)
    assert r.status == 403, "viewer POST failover -> %r" % r
    err_of(r)
    r = hp.post(FO, {"mode": "force"}, token=VIEWER_TOKEN)
    assert r.status == 403, "viewer POST force failover -> %r" % r
    unchanged("403 viewer")

    # 404: unknown target, the master as target, unknown cluster
    for body in ({"mode": "graceful", "target": "127.0.0.1:1"}, {"target": "nosuchhost:6379"},
                 {"mode": "graceful", "target": old}):
        r = hp.post(FO, body)
        assert r.status == 404, "POST failover %s -> %r, want 404" % (body, r)
        err_of(r)
    r = hp.post("/api/v1/clusters/nosuchcluster/failover", {"mode": "graceful"})
    assert r.status == 404, "failover of an unknown cluster -> %r" % r
    unchanged("404")

    # 400: bad bodies
    bad = [("not JSON", "{mode: graceful"), ("JSON array", "[\"graceful\"]"),
           ("empty array", "[]"), ("JSON string", "\"graceful\""),
           ("unknown field", {"mode": "graceful", "force": True}),
           ("mode sideways", {"mode": "sideways"}), ("mode number", {"mode": 1}),
           ("max_pause_ms string", {"mode": "graceful", "max_pause_ms": "x"}),
           ("max_pause_ms 10", {"mode": "graceful", "max_pause_ms": 10}),
           ("max_pause_ms fraction", {"mode": "graceful", "max_pause_ms": 100.5}),
           ("target number", {"mode": "graceful", "target": 6379}),
           ("force with a target", {"mode": "force", "target": r1})]
    for what, body in bad:
        hdrs = {"Content-Type": "application/json"} if isinstance(body, str) else None
        r = hp.post(FO, body, headers=hdrs)
        assert r.status == 400, "%s -> %r, want 400" % (what, r)
        err_of(r)
    unchanged("400 bad bodies")

    # (c) 412: target with replica-priority 0
    with topo.client(r1) as c:
        c.cmd("CONFIG", "SET", "replica-priority", "0")
    wait_for(lambda: (hp.node(hp.cluster(NAME), r1) or {}).get("priority") == 0, 10, 0.1,
             msg="API shows replica-priority 0 on %s" % r1)
    r = hp.post(FO, {"mode": "graceful", "target": r1})
    assert r.status == 412, "target with priority 0 -> %r" % r
    e = err_of(r)
    assert r1 in e["message"] and "priority" in e["message"], e
    log("412 priority 0: %s" % e["message"])
    with topo.client(r1) as c:
        c.cmd("CONFIG", "SET", "replica-priority", str(prio0[r1]))
    wait_for(lambda: (hp.node(hp.cluster(NAME), r1) or {}).get("priority") == prio0[r1], 10, 0.1,
             msg="API shows replica-priority %d on %s again" % (prio0[r1], r1))
    unchanged("412 priority 0")

    # (a) 412: the master is SIGSTOPped (the Sentinels must not fail over meanwhile)
    for s in topo.sentinel_addrs:
        with topo.client(s) as c:
            c.cmd("SENTINEL", "SET", NAME, "down-after-milliseconds", "60000")
    topo.stop(old)
    try:
        wait_for(lambda: (hp.cluster(NAME).get("master") or {}).get("up") is False, 10, 0.1,
                 msg="API shows the stopped master %s down" % old)
        for body in ({"mode": "graceful"}, {}, {"mode": "graceful", "target": r1}):
            r = hp.post(FO, body)
            assert r.status == 412, "graceful %s with the master stopped -> %r" % (body, r)
            e = err_of(r)
            assert old in e["message"], "the 412 does not name the master %s: %s" % (old, e)
        log("412 master down: %s" % e["message"])
    finally:
        topo.cont(old)
    hp.wait_nodes_up([old, r1, r2], NAME, 10)
    for s in topo.sentinel_addrs:
        with topo.client(s) as c:
            c.cmd("SENTINEL", "SET", NAME, "down-after-milliseconds", "1000")
    unchanged("412 master stopped")

    # (b) 412: the target is down
    topo.kill(r2)
    wait_for(lambda: (hp.node(hp.cluster(NAME), r2) or {}).get("up") is False, 10, 0.1,
             msg="API shows the killed replica %s down" % r2)
    r = hp.post(FO, {"mode": "graceful", "target": r2})
    assert r.status == 412, "target down -> %r" % r
    e = err_of(r)
    assert r2 in e["message"], e
    log("412 target down: %s" % e["message"])
    unchanged("412 target down")

    # 409: a job runs (steering r1's priority takes seconds)
    r = hp.post(FO, {"mode": "graceful", "target": r1, "reason": "first"})
    assert r.status == 202, "first failover -> %r" % r
    first = r.body["job_id"]
    conflicts = [
        ("failover", FO, {"mode": "graceful", "reason": "second"}),
        ("force failover", FO, {"mode": "force"}),
        ("resync", "/api/v1/clusters/%s/nodes/%s/resync" % (NAME, r1), {"full": True}),
        ("sentinel reset", "/api/v1/clusters/%s/sentinels/reset" % NAME, None),
    ]
    for what, path, body in conflicts:
        r = hp.post(path, body)
        assert r.status == 409, "%s while job %s runs -> %r, want 409" % (what, first, r)
        e = err_of(r)
        assert "running" in e["message"] and str(first) in e["message"], \
            "the 409 of %s does not say job %s is running: %s" % (what, first, e)
    log("409: %s" % e["message"])
    jobs = hp.jobs()
    assert [j.get("id") for j in jobs] == [first], "want only job %s, got %s" % (first, jobs)
    assert jobs[0].get("state") in ("queued", "running"), \
        "the first job already ended: the 409s were not tested against a running job: %s" % jobs[0]
    jb = hp.wait_job(first, 60)
    log("first job %s: %s\n%s" % (first, jb["state"], Hapanel.steps_text(jb)))
    assert jb["state"] == "succeeded", "the first job failed: %s" % jb.get("error")
    assert (jb.get("result") or {}).get("new_master") == r1, jb.get("result")
    assert [j.get("id") for j in hp.jobs()] == [first], hp.jobs()
    rows = hp.failovers()
    assert len(rows) == 1 and rows[0].get("reason") == "first", rows


if __name__ == "__main__":
    run_test(test)
