#!/usr/bin/env python3
"""it_ha_sched_takeover: a job scheduled for later on the leader of an HA
fleet (issue 15) runs once at its time, on whichever instance leads then.
Two panels on a 3-member etcd cluster (lease TTL 3 s), one topology
(down-after 1000 ms).
  mirror    a graceful failover scheduled on the leader (p_old) 25 s ahead
            is mirrored at <prefix>/sched/jobs/<p_old>/<id>
  takeover  SIGKILL of p_old: the other panel (p_new) leads and lists a
            queued failover job with the same run_at, its steps naming p_old
            and its job id; the mirror is now under p_new's name and
            p_old's key is gone
  runs      at its time the job runs on p_new and succeeds: the master
            changed
  once      p_old started again is a follower and leaves its own copy of
            the job queued; p_new stopped (lease revoked): p_old leads, and
            its copy ends "cancelled" as taken over, without running (the
            master stays the one p_new's job made)."""

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
AHEAD_S = 25
check = Checks()


def test(env):
    require_etcd()
    etcd = env.etcd(3)
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    panels = env.ha_panels(topo, etcd, n=2, ttl=TTL)
    old_leader = wait_one_leader(panels, 5 + TTL)
    new_leader = [p for p in panels if p is not old_leader][0]
    master0 = topo.current_master()
    r1, r2 = topo.initial_replicas()
    old_leader.wait_nodes_up([master0, r1, r2], NAME, 10)
    new_leader.wait_nodes_up([master0, r1, r2], NAME, 10)

    # --- mirror ------------------------------------------------------------
    at = int(time.time()) + AHEAD_S
    r = old_leader.post("/api/v1/clusters/%s/failover" % NAME,
                        {"mode": "graceful", "at": at, "reason": "scheduled across a takeover"})
    assert r.status == 202, "POST a scheduled failover to the leader -> %r" % r
    jid = r.body["job_id"]
    key_old = "%s/sched/jobs/%s/%s" % (PREFIX, old_leader.ha_name, jid)
    m = etcd.get_json(key_old)
    check(isinstance(m, dict) and m.get("run_at") == at * 1000 and m.get("kind") == "failover",
          "the scheduled job is mirrored at %s (%r)" % (key_old, m))

    # --- takeover ------------------------------------------------------------
    old_leader.kill()
    log("SIGKILLed the leader %s; job %s is due in %.1f s" % (old_leader.ha_name, jid,
                                                            at - time.time()))
    wait_one_leader([new_leader], TTL + 3)
    seen = {}

    def imported():
        for jb in new_leader.jobs(limit=20):
            if jb.get("kind") == "failover" and jb.get("run_at") == at * 1000:
                seen["j"] = new_leader.job(jb["id"])
                return seen["j"]
        return None
    jb = wait_for(imported, 5, 0.2, msg=lambda: "%s lists the taken-over scheduled job (%s)" % (
        new_leader.ha_name, new_leader.jobs(limit=5)))
    new_id = jb["id"]
    check(jb.get("state") == "queued", "it is queued on %s (%s)" % (new_leader.ha_name, jb.get("state")))
    check("taken over from instance %s (its scheduled job %s)" % (old_leader.ha_name, jid)
          in Hapanel.steps_text(jb), "its steps name %s and job %s:\n%s" % (
              old_leader.ha_name, jid, Hapanel.steps_text(jb)))
    check(etcd.get_json(key_old) is None, "%s's mirror key is gone" % old_leader.ha_name)
    key_new = "%s/sched/jobs/%s/%s" % (PREFIX, new_leader.ha_name, new_id)
    check(isinstance(etcd.get_json(key_new), dict), "the mirror is now %s" % key_new)

    # --- runs ------------------------------------------------------------------
    jb = new_leader.wait_job(new_id, AHEAD_S + 60)
    log("job %s on %s: %s %s" % (new_id, new_leader.ha_name, jb.get("state"), jb.get("error")))
    check(jb.get("state") == "succeeded", "the taken-over job succeeds at its time (%s)\n%s" % (
        jb.get("error"), Hapanel.steps_text(jb)))
    master1 = topo.agreed_master(15)
    check(master1 != master0, "the master changed (%s -> %s)" % (master0, master1))
    check(etcd.get_json(key_new) is None, "the mirror %s is gone once it started" % key_new)

    # --- once ------------------------------------------------------------------
    old_leader.start()
    wait_for(lambda: (ha_of(old_leader) or {}).get("role") == "follower", TTL + 3,
             msg=lambda: "the restarted %s is a follower (%s)" % (old_leader.ha_name,
                                                                  ha_of(old_leader)))
    time.sleep(1.5)
    check(old_leader.job(jid).get("state") == "queued",
          "the follower %s leaves its copy (job %s) queued (%s)" % (
              old_leader.ha_name, jid, old_leader.job(jid).get("state")))
    new_leader.stop()
    wait_one_leader([old_leader], TTL + 2)

    def ended():
        seen["o"] = old_leader.job(jid)
        return seen["o"] if seen["o"].get("state") not in ("queued", "running") else None
    jo = wait_for(ended, 10, 0.2, msg=lambda: "%s ends its copy of job %s (%s)" % (
        old_leader.ha_name, jid, seen.get("o")))
    log("%s's copy of job %s: %s %s" % (old_leader.ha_name, jid, jo.get("state"), jo.get("error")))
    check(jo.get("state") == "cancelled" and "took it over" in (jo.get("error") or ""),
          "it is cancelled as taken over (%s: %s)" % (jo.get("state"), jo.get("error")))
    check(not jo.get("started_at"), "it never started (%s)" % jo.get("started_at"))
    time.sleep(3)
    check(topo.agreed_master(10) == master1, "no second failover: the master is still %s (%s)" % (
        master1, topo.sentinel_masters()))
    check.done()


if __name__ == "__main__":
    run_test(test, limit=240)
