#!/usr/bin/env python3
"""it_ha_job_deposed: a job running on the leader of an HA fleet (issue 15)
stops when that instance loses the lead, as it would on a stop of hapanel,
and nothing stays stuck. Two panels on a 3-member etcd cluster (lease TTL
3 s); 1 master + 1 replica + 1 Sentinel with 32 MB of random values.
  deposed   a backup streams from the replica on the leader; the replica is
            SIGSTOPped (the transfer stalls) and 2 of the 3 etcd members are
            paused (no quorum): the leader steps down on its own clock and
            the backup job fails within TTL + 4 s, its error saying the
            instance lost the lead; no *.partial is left and the catalogue
            has no row
  mirror    while etcd is down the job's mirror
            <prefix>/jobs/mymaster/backup still names the deposed instance
            (it was not deleted as if the job had ended normally)
  after     etcd resumed: one leader within TTL + 4 s; the mirror is gone
            within 10 s (the regaining instance drops its own stale one, or
            the other imports it and ends it); a new backup on the leader
            succeeds (the group is not left busy)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import backup_list, fill_random, log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.etcd import ha_of, require_etcd, wait_one_leader  # noqa: E402

TTL = 3
PREFIX = "hapanel"
NAME = "mymaster"
ENV = {"HAPANEL_BACKUP_DAILY_AT": "", "HAPANEL_BACKUP_INTERVAL_MINUTES": "0",
       "HAPANEL_BACKUP_KEEP_LAST": "0"}
check = Checks()


def test(env):
    require_etcd()
    etcd = env.etcd(3)
    topo = env.topology(replicas=1, sentinels=1, quorum=1)
    master = topo.initial_master()
    (replica,) = topo.initial_replicas()
    with topo.client(master, timeout=60) as c:
        fill_random(c, 32 << 20)
    topo.wait_in_sync(master, 60)
    panels = env.ha_panels(topo, etcd, n=2, ttl=TTL, env_extra=ENV)
    leader = wait_one_leader(panels, 5 + TTL)
    leader.wait_nodes_up([master, replica], NAME, 15)
    bdir = os.path.join(leader.data_dir, "backups")

    # --- deposed -----------------------------------------------------------
    r = leader.post("/api/v1/clusters/%s/backups" % NAME, {})
    assert r.status == 202, "POST backups to the leader -> %r" % r
    jid = r.body["job_id"]
    seen = {}

    def streaming():
        j = seen["j"] = leader.job(jid)
        assert j["state"] in ("queued", "running"), "job ended too early: %s" % j
        return any(s["message"].startswith("streaming") for s in j.get("steps") or [])
    wait_for(streaming, 60, 0.01, msg=lambda: "job %s streaming: %s" % (jid, seen.get("j")))
    topo.stop(replica)
    time.sleep(0.3)
    etcd.pause(1)
    etcd.pause(2)
    t0 = time.monotonic()
    log("backup job %s stalled on %s; etcd quorum lost" % (jid, leader.ha_name))

    def ended():
        j = seen["j"] = leader.job(jid)
        return j if j["state"] in ("succeeded", "failed") else None
    jb = wait_for(ended, TTL + 4, 0.1, msg=lambda: "job %s ends once %s no longer leads (%s; ha %s)"
                  % (jid, leader.ha_name, seen.get("j"), ha_of(leader)))
    dt = time.monotonic() - t0
    log("job %s ended %.2f s after the quorum loss: %s %s" % (jid, dt, jb["state"], jb.get("error")))
    check(jb["state"] == "failed", "the deposed job failed (%s)" % jb["state"])
    check("lost the lead" in (jb.get("error") or ""),
          "its error says the instance lost the lead (%r)" % jb.get("error"))
    check((ha_of(leader) or {}).get("role") == "follower",
          "%s says follower meanwhile (%s)" % (leader.ha_name, ha_of(leader)))
    time.sleep(0.5)
    left = [f for f in os.listdir(bdir) if f.endswith(".partial")] if os.path.isdir(bdir) else []
    check(not left, "no *.partial left in %s (%s)" % (bdir, left))
    check(backup_list(leader, NAME) == [], "no catalogue row (%s)" % backup_list(leader, NAME))
    key = "%s/jobs/%s/backup" % (PREFIX, NAME)

    # --- mirror (read from the member that is not paused: serializable) ------
    kvs = etcd.range(key, serializable=True)
    check(len(kvs) == 1 and leader.ha_name in kvs[0][1].decode("utf-8", "replace"),
          "the mirror %s still names %s (%s)" % (key, leader.ha_name, kvs))

    # --- after ---------------------------------------------------------------
    etcd.resume(1)
    etcd.resume(2)
    topo.cont(replica)
    new = wait_one_leader(panels, TTL + 4)
    log("after the quorum came back: %s leads" % new.ha_name)
    wait_for(lambda: etcd.get_json(key) is None, 10, 0.2,
             msg=lambda: "the mirror %s is gone (%r)" % (key, etcd.get_json(key)))
    if new is not leader:
        took = [j for j in new.jobs(limit=20) if j.get("kind") == "backup"]
        log("%s's backup jobs: %s" % (new.ha_name, [(j["id"], j["state"]) for j in took]))
    new.wait_nodes_up([master, replica], NAME, 15)
    r = new.post("/api/v1/clusters/%s/backups" % NAME, {})
    if check(r.status == 202, "a new backup on the leader %s is accepted (%r)" % (new.ha_name, r)):
        j = new.wait_job(r.body["job_id"], 60)
        check(j["state"] == "succeeded", "the new backup succeeds (%s)" % j.get("error"))
    check.done()


if __name__ == "__main__":
    run_test(test, limit=240)
