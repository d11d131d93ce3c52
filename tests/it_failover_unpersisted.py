#!/usr/bin/env python3
"""it_failover_unpersisted: where a role change cannot be persisted, the
job, its result, the plan and the dashboard say so.

Two topologies of 1 master + 2 replicas + 3 Sentinels (down-after 1000 ms):
  1. nodes started with their settings as arguments, no config file
     (INFO config_file is empty): the cluster lists a no_config_file
     problem per node; the plan's fence check warns that the master would
     come back as a master after a restart (fence_persists false); a
     graceful switchover succeeds with 0 writes lost, its result says
     persisted: false with the reason, a step says "warning", and the
     dashboard's job view shows "not persisted";
  2. CONFIG renamed on every node (and for the Sentinels, with sentinel
     rename-command, as such a deployment must): the write fence cannot be
     set and the job says so, the fence's transaction is refused
     (EXECABORT) and sent again without CONFIG, so the old master is still
     fenced, but the result says persisted: false because CONFIG is
     renamed; 0 writes lost."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hapanel, log, run_test  # noqa: E402

NAME = "mymaster"
FO = "/api/v1/clusters/%s/failover" % NAME
PLAN = "/api/v1/clusters/%s/failover/plan" % NAME


def switchover(env, topo, hp):
    old = topo.current_master()
    hp.wait_nodes_up([old] + topo.initial_replicas(), NAME, 10)
    w = env.writer(topo)
    r = hp.post(FO, {"mode": "graceful", "reason": "unpersisted"})
    assert r.status == 202, r
    jb = hp.wait_job(r.body["job_id"], 60)
    steps = Hapanel.steps_text(jb)
    log("job %s: %s\n%s" % (jb["id"], jb["state"], steps))
    assert jb["state"] == "succeeded", jb.get("error")
    new = topo.agreed_master(15)
    assert new != old and topo.role(old) == "slave", (old, new)
    w.stop()
    lost = w.lost(topo)
    assert lost == 0, "%d acknowledged writes lost" % lost
    return jb, steps, old


def test(env):
    # --- 1. no config file ------------------------------------------------
    topo = env.topology(no_config_file=True)
    hp = env.hapanel(topo)
    hp.wait_for(lambda: len([p for p in hp.cluster(NAME)["problems"]
                             if p["code"] == "no_config_file"]) == 3, 10,
                msg="a no_config_file problem for each of the 3 nodes")
    p = hp.get(PLAN).body
    fence = [c for c in p["checks"] if c["name"] == "fence"][0]
    assert p["ok"] and p["fence_persists"] is False and fence["state"] == "warn", p
    assert "come back as a master" in fence["message"], fence
    jb, steps, old = switchover(env, topo, hp)
    res = jb["result"]
    assert res.get("persisted") is False and res.get("persisted_note"), res
    assert "warning: the fence of %s is not persisted" % old in steps, steps
    html = hp.get("/ui/jobs/%d" % jb["id"]).text
    assert "not persisted" in html and "come back as a master" in html, html[:2000]
    hp.stop()
    topo.close()

    # --- 2. CONFIG renamed --------------------------------------------------
    topo = env.topology(extra_conf='rename-command CONFIG "HPCONF-SECRET"',
                        extra_sentinel_conf="sentinel rename-command {name} CONFIG HPCONF-SECRET")
    hp = env.hapanel(topo)
    jb, steps, old = switchover(env, topo, hp)
    res = jb["result"]
    assert res.get("persisted") is False, res
    assert "CONFIG is renamed or disabled" in (res.get("persisted_note") or ""), res
    assert "warning: no write fence" in steps, steps
    assert "old master %s fenced" % old in steps, steps


if __name__ == "__main__":
    run_test(test, limit=150)
