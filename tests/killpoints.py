"""killpoints.py — the body of it_failover_killpoints*.py: hapanel is killed
(HAPANEL_FAILPOINT, _exit 70) after each step of a failover recipe that
changes something, stays dead for longer than the pause, and is started
again on the same data dir. At every kill point, with a writer counting
acknowledged writes throughout:
  - the restarted hapanel ends the job by itself: killed before SENTINEL
    FAILOVER was requested, the job fails naming the restart and the master
    is unchanged; killed after, the job succeeds ("completed after a
    restart"), the master is the replica Sentinel promoted, and exactly one
    failover row with status completed_after_restart is recorded;
  - exactly one node says role:master and every Sentinel names it;
  - every replica-priority and every node's min-replicas-to-write and
    min-replicas-max-lag are what they were before;
  - no acknowledged write is lost (checked once at the end, over every
    kill point)."""

import os
import time

from harness import Hapanel, log

NAME = "mymaster"
FO = "/api/v1/clusters/%s/failover" % NAME
DEAD_S = 2.5  # how long hapanel stays dead: longer than the pause


def settings(topo):
    return {a: (topo.config_get(a, "min-replicas-to-write"), topo.config_get(a, "min-replicas-max-lag"))
            for a in topo.node_addrs}


def one_master(topo):
    roles = topo.roles()
    masters = [a for a, r in roles.items() if r == "master"]
    return masters[0] if len(masters) == 1 else None


def run(env, mode, points, requested, target_points=()):
    # down-after 3000 lets the pause (2000 ms) outlast even a slow promotion
    # on a loaded machine: a promotion after the pause can lose the writes in
    # flight at that instant (the job then says so), with or without a crash.
    topo = env.topology(down_after_ms=3000, failover_timeout_ms=3000)
    hp = env.hapanel(topo)
    hp.wait_nodes_up(topo.node_addrs, NAME, 10)
    hp.stop()
    w = env.writer(topo)
    summary = []
    only = os.environ.get("KILLPOINTS_ONLY")  # a comma list, to run some points by hand
    if only:
        points = [p for p in points if p in only.split(",")]
    points = points * int(os.environ.get("KILLPOINTS_REPEAT", "1"))  # by hand, to chase a flake
    for point in points:
        old = topo.agreed_master(20)
        topo.wait_in_sync(old, 20)
        hp.wait_for(lambda: one_master(topo) == old, 20, msg="one master before %s" % point)
        prio0, set0 = topo.priorities(), settings(topo)
        hp.env_extra["HAPANEL_FAILPOINT"] = point
        hp.start()
        hp.wait_nodes_up([old] + [a for a in topo.node_addrs if a != old], NAME, 10)
        hp.wait_for(lambda: (hp.cluster(NAME).get("master") or {}).get("addr") == old
                    and not hp.cluster(NAME)["failover_in_progress"], 10,
                    msg="hapanel sees %s as master, no failover in progress" % old)
        body = {"mode": mode, "reason": "kill at " + point}
        body["max_pause_ms"] = 2000
        if point in target_points:
            body["target"] = [a for a in topo.node_addrs if a != old][0]
        r = hp.post(FO, body)
        assert r.status == 202, "%s: POST -> %r" % (point, r)
        job_id = r.body["job_id"]
        rc = hp.wait_exit(40)
        assert rc == 70, "%s: hapanel exited with %s, want 70 (the failpoint)" % (point, rc)
        time.sleep(DEAD_S)
        del hp.env_extra["HAPANEL_FAILPOINT"]
        hp.start()
        jb = hp.wait_job(job_id, 60)
        steps = Hapanel.steps_text(jb)
        master = topo.agreed_master(20)
        hp.wait_for(lambda: one_master(topo) == master, 20,
                    msg=lambda: "%s: exactly one master (roles %s)" % (point, topo.roles()))
        rows = [f for f in hp.failovers() if f.get("job_id") == job_id]
        log("%s: job %s %s, master %s -> %s, rows %s" % (point, job_id, jb["state"], old, master,
                                                         [(f["status"], f["new_master"]) for f in rows]))
        if point in requested:
            assert jb["state"] == "succeeded", "%s: job %s: %s\n%s" % (point, jb["state"], jb.get("error"), steps)
            assert master != old, "%s: the master did not change" % point
            assert (jb.get("result") or {}).get("new_master") == master, (point, jb.get("result"))
            assert (jb.get("result") or {}).get("completed_after_restart") is True, (point, jb.get("result"))
            assert [f["status"] for f in rows] == ["completed_after_restart"], (point, rows)
            assert rows[0]["new_master"] == master and rows[0]["old_master"] == old, (point, rows)
        else:
            assert jb["state"] == "failed" and "restart" in (jb.get("error") or ""), \
                "%s: job %s: %s\n%s" % (point, jb["state"], jb.get("error"), steps)
            assert master == old, "%s: the master moved to %s" % (point, master)
            assert rows == [], (point, rows)
        hp.wait_for(lambda: topo.priorities() == prio0, 10,
                    msg=lambda: "%s: priorities back to %s (now %s)" % (point, prio0, topo.priorities()))
        assert settings(topo) == set0, "%s: min-replicas settings %s, want %s" % (point, settings(topo), set0)
        summary.append((point, jb["state"], old, master))
        hp.stop()
    w.stop()
    lost = w.lost(topo)
    log("writer over %d kill points: %s; lost %d" % (len(points), w.summary(), lost))
    for s in summary:
        log("  %-22s %-9s %s -> %s" % s)
    assert lost == 0, "%d of %d acknowledged writes lost, e.g. %s" % (lost, w.acked, w.missing)
