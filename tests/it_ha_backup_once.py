#!/usr/bin/env python3
"""it_ha_backup_once: a scheduled backup is taken once per slot by an HA
fleet (issue 15), also across a change of leader. Two panels of one fleet on
a 3-member etcd cluster (lease TTL 3 s), one topology, both with
HAPANEL_BACKUP_INTERVAL_MINUTES=1 (a slot per minute).
  slot 1    the leader takes the first slot's backup; the follower takes
            none (no backup job, no backup row); the slot's claim
            <prefix>/claims/sched/backup/mymaster/<slot ms> is in etcd
  kill      SIGKILL of the leader as soon as its backup is catalogued (a
            few seconds into the slot); the follower leads within TTL + 2 s
            and, although its own catalogue lacks slot 1's backup, does not
            take it again: its log says another instance took it, and it
            has no backup job for slot 1
  slot 2    the new leader takes the next slot's backup
  count     the killed panel started again (a follower) has its slot 1
            backup in its catalogue; across both catalogues every slot has
            exactly one backup, and the restarted follower takes none of
            slot 2 or 3 while the other leads."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import backup_list, log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.etcd import ha_of, require_etcd, wait_one_leader  # noqa: E402

TTL = 3
PREFIX = "hapanel"
NAME = "mymaster"
SLOT_MS = 60000
ENV = {"HAPANEL_BACKUP_INTERVAL_MINUTES": "1", "HAPANEL_BACKUP_DAILY_AT": "",
       "HAPANEL_BACKUP_KEEP_LAST": "0"}
check = Checks()


def slot_of(ms):
    return int(ms) // SLOT_MS * SLOT_MS


def backups_in(p, slot):
    return [b for b in backup_list(p, NAME) if slot_of(b.get("created_at") or 0) == slot]


def sched_backup_jobs(p, since_ms):
    return [j for j in p.jobs(limit=200) if j.get("kind") == "backup" and
            j.get("actor") == "scheduler" and (j.get("created_at") or 0) >= since_ms]


def test(env):
    require_etcd()
    etcd = env.etcd(3)
    topo = env.topology()
    panels = env.ha_panels(topo, etcd, n=2, ttl=TTL, env_extra=ENV)
    leader = wait_one_leader(panels, 5 + TTL)
    follower = [p for p in panels if p is not leader][0]
    log("leader %s, follower %s" % (leader.ha_name, follower.ha_name))

    # --- slot 1 ------------------------------------------------------------
    now = time.time() * 1000
    slot1 = slot_of(now) + SLOT_MS
    if slot1 - now < 8000:  # too close: the panels may have started inside it
        slot1 += SLOT_MS
    slot2 = slot1 + SLOT_MS
    log("waiting for slot 1 at %d (%.1f s)" % (slot1, (slot1 - now) / 1000))
    b1 = wait_for(lambda: backups_in(leader, slot1), (slot1 - now) / 1000 + 25, 0.2,
                  msg=lambda: "the leader %s catalogues a backup in slot 1 (it has %s)" % (
                      leader.ha_name, backup_list(leader, NAME)))
    t_kill = time.time() * 1000
    # --- kill --------------------------------------------------------------
    leader.kill()
    log("SIGKILLed the leader %s %.1f s into slot 1" % (leader.ha_name, (t_kill - slot1) / 1000))
    check(len(b1) == 1, "the leader took one backup in slot 1 (%s)" % b1)
    check(not backups_in(follower, slot1), "the follower took no backup in slot 1")
    check(not sched_backup_jobs(follower, slot1),
          "the follower submitted no scheduled backup job in slot 1 (%s)"
          % sched_backup_jobs(follower, slot1))
    claims = etcd.claims(PREFIX)
    key1 = "%s/claims/sched/backup/%s/%d" % (PREFIX, NAME, slot1)
    check(key1 in claims, "slot 1's claim %s is in etcd (claims: %s)" % (key1, sorted(claims)))
    check(leader.ha_name in claims.get(key1, ""),
          "slot 1's claim names %s (%r)" % (leader.ha_name, claims.get(key1)))

    t0 = time.monotonic()
    wait_one_leader([follower], TTL + 2 + 1)
    dt = time.monotonic() - t0
    log("the follower %s leads %.2f s after the kill" % (follower.ha_name, dt))
    check(dt <= TTL + 2, "takeover within TTL + 2 s (%.2f s)" % dt)
    check(time.time() * 1000 < slot2 - 10000, "the new leader leads well inside slot 1 (test "
          "timing: %.1f s before slot 2)" % ((slot2 - time.time() * 1000) / 1000))
    text = "the scheduled backup of %s due at %d was taken by instance %s" % (
        NAME, slot1, leader.ha_name)
    wait_for(lambda: text in follower.log_since_start(), 12, 0.2,
             msg=lambda: "the new leader's log says %r; log tail:\n%s" % (text, follower.log_tail(30)))
    check(not backups_in(follower, slot1), "the new leader did not take slot 1 again")
    check(not sched_backup_jobs(follower, slot1),
          "the new leader submitted no scheduled backup job for slot 1 (%s)"
          % sched_backup_jobs(follower, slot1))

    # --- slot 2 ------------------------------------------------------------
    now = time.time() * 1000
    b2 = wait_for(lambda: backups_in(follower, slot2), (slot2 - now) / 1000 + 25, 0.2,
                  msg=lambda: "the new leader %s catalogues a backup in slot 2 (it has %s)" % (
                      follower.ha_name, backup_list(follower, NAME)))
    check(len(b2) == 1, "the new leader took one backup in slot 2 (%s)" % b2)
    key2 = "%s/claims/sched/backup/%s/%d" % (PREFIX, NAME, slot2)
    claims = etcd.claims(PREFIX)
    check(follower.ha_name in claims.get(key2, ""),
          "slot 2's claim names %s (%r)" % (follower.ha_name, claims.get(key2)))

    # --- count ---------------------------------------------------------------
    leader.start()
    wait_for(lambda: (ha_of(leader) or {}).get("role") == "follower", TTL + 3,
             msg=lambda: "the restarted %s is a follower (%s)" % (leader.ha_name, ha_of(leader)))
    slot3 = slot2 + SLOT_MS
    now = time.time() * 1000
    b3 = wait_for(lambda: backups_in(follower, slot3), (slot3 - now) / 1000 + 25, 0.2,
                  msg=lambda: "the leader %s catalogues a backup in slot 3 (it has %s)" % (
                      follower.ha_name, backup_list(follower, NAME)))
    time.sleep(6)  # a tick of the restarted follower's scheduler, had it one to take
    for slot, what in ((slot1, "slot 1"), (slot2, "slot 2"), (slot3, "slot 3")):
        a = backups_in(leader, slot)
        b = backups_in(follower, slot)
        check(len(a) + len(b) == 1, "%s: exactly one backup across both instances (%s: %d, %s: %d)"
              % (what, leader.ha_name, len(a), follower.ha_name, len(b)))
    check(len(b3) == 1, "slot 3 on the leader %s (%s)" % (follower.ha_name, b3))
    check(not sched_backup_jobs(leader, slot2),
          "the restarted follower %s submitted no scheduled backup since slot 2 (%s)" % (
              leader.ha_name, sched_backup_jobs(leader, slot2)))
    check.done()


if __name__ == "__main__":
    run_test(test, limit=300)
