#!/usr/bin/env python3
"""it_ha_job_takeover: a job the leader of an HA fleet (issue 15) leaves
half done when it dies is finished or undone by the next leader. Two panels
on a 3-member etcd cluster (lease TTL 3 s), one topology (down-after
1000 ms), a Writer writing through Sentinel. p1 runs with
HAPANEL_FAILPOINT=after-pause: its failover job _exit(70)s right after
CLIENT PAUSE WRITE on the master, with the target's replica-priority
steered — a crash of the leader at the worst point.
  mirror    while p1 is dead, etcd holds its job at
            <prefix>/jobs/mymaster/topology (leader p1, the job's id, kind
            failover, the undo with the saved priorities)
  takeover  p2 leads within TTL + 2 s and its job list has an imported
            failover job whose steps say "taken over from instance p1 (its
            job N)"; it ends (failed, naming the change of leader, or
            succeeded) within 15 s
  undone    every replica-priority is back as before, writes go on (to one
            master: no failover happened, the target is still a replica),
            no acknowledged write is lost, and the mirror key is gone
  rejoin    p1 started again (without the failpoint) is a follower, does
            not lead while p2 does, and leaves its own copy of the job alone
  regain    p2 stopped (lease revoked): p1 leads again and ends its copy of
            the job as failed, "not recovered here" (the next leader took it
            over), without running its stale undo again."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hapanel, log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.etcd import ha_of, require_etcd, wait_one_leader  # noqa: E402

TTL = 3
PREFIX = "hapanel"
NAME = "mymaster"
MAX_PAUSE_MS = 500
check = Checks()


def taken_over(p, old_id):
    for jb in p.jobs(limit=50):
        if jb.get("kind") != "failover":
            continue
        full = p.job(jb["id"])
        if "taken over from instance p1 (its job %s)" % old_id in Hapanel.steps_text(full):
            return full
    return None


def test(env):
    require_etcd()
    etcd = env.etcd(3)
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    p1, p2 = env.ha_panels(topo, etcd, n=2, ttl=TTL, start=False,
                           env_extra=[{"HAPANEL_FAILPOINT": "after-pause"}, {}])
    p1.start()
    wait_one_leader([p1], 5 + TTL)
    p2.start()
    wait_one_leader([p1, p2], 5 + TTL)
    old = topo.current_master()
    r1, r2 = topo.initial_replicas()
    p1.wait_nodes_up([old, r1, r2], NAME, 10)
    prio0 = topo.priorities()
    log("leader p1; replica-priority before: %s" % prio0)

    w = env.writer(topo)
    time.sleep(1.0)
    r = p1.post("/api/v1/clusters/%s/failover" % NAME,
                {"mode": "graceful", "target": r1, "max_pause_ms": MAX_PAUSE_MS,
                 "reason": "takeover test"})
    assert r.status == 202, "POST failover to the leader -> %r" % r
    job_id = r.body["job_id"]
    rc = p1.wait_exit(40)
    t_exit = time.monotonic()
    assert rc == 70, "p1 exited with %s, want 70 (the failpoint); log:\n%s" % (rc, p1.log_tail(30))
    log("p1 died at the failpoint (job %s)" % job_id)

    # --- mirror ------------------------------------------------------------
    key = "%s/jobs/%s/topology" % (PREFIX, NAME)
    m = etcd.get_json(key)
    if check(isinstance(m, dict), "etcd holds the dead leader's job at %s (%r)" % (key, m)):
        check(m.get("leader") == "p1" and m.get("id") == job_id and m.get("kind") == "failover",
              "the mirror names p1, job %s, failover (%s)" % (job_id, m))
        check(isinstance(m.get("undo"), dict) and m["undo"],
              "the mirror carries the job's undo (%s)" % (m or {}).get("undo"))

    # --- takeover ------------------------------------------------------------
    wait_one_leader([p2], TTL + 3)
    dt = time.monotonic() - t_exit
    log("p2 leads %.2f s after p1 died" % dt)
    check(dt <= TTL + 2, "p2 leads within TTL + 2 s (%.2f s)" % dt)
    seen = {}

    def ended():
        seen["j"] = taken_over(p2, job_id)
        return seen["j"] if seen["j"] and seen["j"].get("state") in ("succeeded", "failed") else None
    jb = wait_for(ended, 15, 0.2, msg=lambda: "p2 has the taken-over job, ended (%s)" % seen.get("j"))
    log("taken-over job %s on p2: %s %s\n%s" % (jb["id"], jb.get("state"), jb.get("error"),
                                                Hapanel.steps_text(jb)))
    if jb.get("state") == "failed":
        check("change of leader" in (jb.get("error") or ""),
              "its error names the change of leader (%r)" % jb.get("error"))

    # --- undone ----------------------------------------------------------------
    seen = {}

    def restored():
        seen["p"] = topo.priorities()
        return seen["p"] == prio0
    wait_for(restored, 10, 0.1, msg=lambda: "replica-priority back to %s (now %s)" % (
        prio0, seen.get("p")))
    check(topo.agreed_master(5) == old, "the master is unchanged (%s)" % topo.sentinel_masters())
    check(topo.role(r1) == "slave", "the target %s is still a replica" % r1)
    wait_for(lambda: w.acked_since(time.monotonic() - 0.5), 5, 0.05,
             msg=lambda: "writes go on (%s)" % w.summary())
    w.stop()
    check(w.masters == [old], "the writer wrote only to %s (%s)" % (old, w.masters))
    lost = w.lost(topo)
    check(lost == 0, "no acknowledged write lost (%d of %d)" % (lost, w.acked))
    check(etcd.get_json(key) is None, "the mirror %s is gone once recovered (%r)" % (
        key, etcd.get_json(key)))

    # --- rejoin ------------------------------------------------------------------
    p1.env_extra.pop("HAPANEL_FAILPOINT")
    p1.start()
    wait_for(lambda: (ha_of(p1) or {}).get("role") == "follower", TTL + 3,
             msg=lambda: "the restarted p1 is a follower (%s)" % ha_of(p1))
    wait_one_leader([p1, p2], 5)
    check(topo.priorities() == prio0, "p1's restart as a follower changes no priority")
    check(p1.job(job_id).get("state") not in ("succeeded", "failed"),
          "p1 (a follower) leaves its interrupted job %s alone (%s)" % (job_id, p1.job(job_id)))

    # --- regain ------------------------------------------------------------------
    # p2 stops (its lease is revoked): p1 leads again and ends its own copy of
    # the job without running its undo again (p2 did that: the saved undo is
    # stale now)
    p2.stop()
    wait_one_leader([p1], 3)
    seen = {}

    def p1_ended():
        seen["j"] = p1.job(job_id)
        return seen["j"].get("state") in ("succeeded", "failed")
    wait_for(p1_ended, 10, 0.2, msg=lambda: "p1 ends its copy of job %s once it leads (%s)" % (
        job_id, seen.get("j")))
    jb = seen["j"]
    log("p1's job %s: %s %s" % (job_id, jb.get("state"), jb.get("error")))
    check(jb.get("state") == "failed" and "not recovered here" in (jb.get("error") or ""),
          "p1's copy fails as taken over, not recovered again (%s)" % jb.get("error"))
    undo_steps = [st.get("message") for st in jb.get("steps") or []
                  if any(w in (st.get("message") or "") for w in ("restored", "unpaused", "lifted"))]
    check(not undo_steps, "p1 ran no undo step for it (%s)" % undo_steps)
    check(topo.priorities() == prio0, "priorities still as before (%s)" % topo.priorities())
    check.done()


if __name__ == "__main__":
    run_test(test, limit=240)
