#!/usr/bin/env python3
"""it_failover_plan: the dry run GET /api/v1/clusters/{name}/failover/plan
names the replica that then becomes master, and explains each view.

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms), a writer running:
  - the plan needs a viewer token (401 without), 404 for an unknown
    cluster, 400 for a bad mode, and changes nothing;
  - on the healthy cluster it is ok, names the Sentinel that will run the
    failover and the replica it would choose with a reason, lists every
    replica in hapanel's view and in each of the 3 Sentinels' views
    (eligible, priority, offset, info age), and every check is ok;
  - three graceful switchovers without a target, each right after asking
    the plan: the replica the plan chose is the one promoted (the job's
    result and the Sentinels agree), 0 acknowledged writes lost;
  - with a target the plan chooses the target; with mode force it reports
    the master as fenced when promoted and no pause;
  - a plan for a target that is down fails, naming the target, and a POST
    with that target gets 412 with the same words."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test  # noqa: E402

NAME = "mymaster"
PLAN = "/api/v1/clusters/%s/failover/plan" % NAME
FO = "/api/v1/clusters/%s/failover" % NAME


def check_plan_shape(p, topo, master):
    assert p["ok"] is True and p["state"] in ("ok", "warn"), p
    assert p["blocker"] is None, p
    assert p["sentinel"] in topo.sentinel_addrs, p
    assert p["old_master"] == master, p
    assert p["choice"] and p["choice"] != master, p
    assert p["choice_why"], p
    names = [c["name"] for c in p["checks"]]
    for want in ("failover_idle", "sentinel", "quorum", "master", "replicas", "sentinel_view",
                 "pause", "fence"):
        assert want in names, "check %s missing from %s" % (want, names)
    assert all(c["state"] == "ok" for c in p["checks"]), p["checks"]
    assert p["fence_persists"] is True, p
    assert 0 < p["max_pause_ms"] < p["down_after_ms"], p
    reps = {r["addr"]: r for r in p["replicas"]}
    assert set(reps) == set(a for a in topo.node_addrs if a != master), reps.keys()
    for a, r in reps.items():
        assert r["panel"]["eligible"] is True and r["panel"]["why_not"] is None, r
        views = r["sentinels"]
        assert sorted(v["sentinel"] for v in views) == sorted(topo.sentinel_addrs), views
        for v in views:
            assert v["eligible"] is True and v["why_not"] is None, v
            assert v["priority"] == 100 and v["repl_offset"] is not None, v
            assert v["info_age_ms"] is not None and v["info_age_ms"] < 30000, v


def test(env):
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    hp = env.hapanel(topo)
    old = topo.current_master()
    hp.wait_nodes_up([old] + topo.initial_replicas(), NAME, 10)

    # refusals, and a plan changes nothing
    assert hp.get(PLAN, token=None).status == 401
    assert hp.get("/api/v1/clusters/nosuch/failover/plan").status == 404
    r = hp.get(PLAN + "?mode=sideways")
    assert r.status == 400 and r.body["error"]["code"] == "bad_request", r

    w = env.writer(topo)
    for i in range(3):
        master = topo.agreed_master(15)
        topo.wait_in_sync(master, 15)
        time.sleep(1.0)  # a poll or two: the plan reads the snapshot
        r = hp.get(PLAN)
        assert r.status == 200, r
        p = r.body
        check_plan_shape(p, topo, master)
        log("plan %d: Sentinel %s would promote %s (%s)" % (i + 1, p["sentinel"], p["choice"],
                                                            p["choice_why"]))
        assert hp.jobs() == [] or all(j["state"] != "running" for j in hp.jobs())
        r = hp.post(FO, {"mode": "graceful", "reason": "plan test %d" % (i + 1)})
        assert r.status == 202, r
        jb = hp.wait_job(r.body["job_id"], 60)
        assert jb["state"] == "succeeded", "%s\n%s" % (jb.get("error"), hp.steps_text(jb))
        res = jb["result"]
        log("switchover %d: promoted %s (plan said %s, job expected %s)" % (
            i + 1, res.get("promoted"), p["choice"], res.get("expected")))
        assert res["promoted"] == p["choice"], \
            "the plan named %s but %s was promoted; steps:\n%s" % (p["choice"], res["promoted"],
                                                                   hp.steps_text(jb))
        assert topo.agreed_master(15) == p["choice"]

    # with a target, and in force mode
    master = topo.agreed_master(15)
    topo.wait_in_sync(master, 15)
    time.sleep(1.0)
    target = [a for a in topo.node_addrs if a != master][0]
    p = hp.get(PLAN + "?target=" + target).body
    assert p["ok"] and p["choice"] == target and p["target"] == target, p
    p = hp.get(PLAN + "?mode=force").body
    assert p["ok"] and p["mode"] == "force" and 0 < p["max_pause_ms"] < p["down_after_ms"], p
    assert [c for c in p["checks"] if c["name"] == "master"][0]["message"].find("fenced") >= 0, p

    # a target that is down: the plan and the POST refuse in the same words
    topo.stop(target)
    try:
        hp.wait_for(lambda: [n for n in hp.cluster(NAME)["replicas"]
                             if n["addr"] == target and n["up"] is False], 10,
                    msg="hapanel sees %s down" % target)
        p = hp.get(PLAN + "?target=" + target).body
        assert p["ok"] is False and p["state"] == "fail" and target in p["blocker"], p
        r = hp.post(FO, {"mode": "graceful", "target": target})
        assert r.status == 412 and r.body["error"]["message"] == p["blocker"], (r, p["blocker"])
    finally:
        topo.cont(target)
    w.stop()
    lost = w.lost(topo)
    log("writer: %s; lost %d" % (w.summary(), lost))
    assert lost == 0, "%d acknowledged writes lost" % lost


if __name__ == "__main__":
    run_test(test, limit=150)
