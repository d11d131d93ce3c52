#!/usr/bin/env python3
"""it_failover_crash: hapanel dies between pausing writes and SENTINEL
FAILOVER; nothing stays broken.

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms, failover-timeout
3000 ms), a Writer writing through Sentinel. hapanel runs with
HAPANEL_FAILPOINT=after-pause: the failover job _exit(70)s right after
CLIENT PAUSE WRITE on the master. POST a graceful failover with a target and
max_pause_ms 500:
  - hapanel exits with status 70, the target's replica-priority is 1 at that
    moment (steered, not yet restored);
  - writes resume by themselves (the pause has a timeout): the writer's
    longest gap is under max_pause_ms + 500 ms, and at least 300 ms (writes
    really were paused);
  - hapanel restarted without the failpoint on the same data dir marks the
    job failed within 10 s with an error that names the restart, and puts
    every replica-priority back;
  - the master is unchanged, no failover row exists, no acknowledged write is
    lost."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hapanel, log, run_test, wait_for  # noqa: E402

NAME = "mymaster"
MAX_PAUSE_MS = 500
MARGIN_MS = 500


def test(env):
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    hp = env.hapanel(topo, env_extra={"HAPANEL_FAILPOINT": "after-pause"})
    old = topo.current_master()
    r1, r2 = topo.initial_replicas()
    hp.wait_nodes_up([old, r1, r2], NAME, 10)
    prio0 = topo.priorities()
    log("replica-priority before: %s" % prio0)

    w = env.writer(topo)
    time.sleep(1.0)
    target = r1
    t_post = time.monotonic()
    r = hp.post("/api/v1/clusters/%s/failover" % NAME,
                {"mode": "graceful", "target": target, "max_pause_ms": MAX_PAUSE_MS,
                 "reason": "crash test"})
    assert r.status == 202, "POST failover -> %r" % r
    job_id = r.body["job_id"]

    rc = hp.wait_exit(40)  # steering the target's priority takes up to ~10 s first
    t_exit = time.monotonic()
    log("hapanel exited with status %s %.1f s after the POST" % (rc, t_exit - t_post))
    assert rc == 70, "hapanel exited with %s, want 70 (the failpoint)" % rc
    assert "failpoint after-pause" in hp.log_since_start(), hp.log_tail(20)
    prio_crash = topo.priorities()
    log("replica-priority while hapanel is down: %s" % prio_crash)
    assert prio_crash[target] == 1, "the target's priority is %s, want 1 (steered)" % prio_crash[target]

    # writes resume by themselves when the pause times out
    wait_for(lambda: w.acked_since(t_exit), (MAX_PAUSE_MS + MARGIN_MS) / 1000.0, 0.01,
             msg=lambda: "writes resume within %d ms of hapanel's exit (%s)" % (
                 MAX_PAUSE_MS + MARGIN_MS, w.summary()))
    time.sleep(0.5)
    gap = w.max_gap(t_post, time.monotonic())
    log("longest write gap around the crash: %.0f ms" % (gap * 1000))
    assert gap * 1000 < MAX_PAUSE_MS + MARGIN_MS, \
        "writes stopped for %.0f ms (pause limit %d ms + %d ms): %s" % (
            gap * 1000, MAX_PAUSE_MS, MARGIN_MS, w.summary())
    assert gap >= 0.3, "the longest gap is %.0f ms: were writes paused at all?" % (gap * 1000)
    assert topo.agreed_master(5) == old, topo.sentinel_masters()

    # restart without the failpoint: the job is repaired
    hp.env_extra.pop("HAPANEL_FAILPOINT")
    t_restart = time.monotonic()
    hp.start()
    log("hapanel restarted")
    seen = {}

    def failed():
        seen["j"] = hp.job(job_id)
        return seen["j"].get("state") == "failed"
    wait_for(failed, 10, 0.1, msg=lambda: "job %s failed after the restart (%s)" % (job_id, seen.get("j")))
    jb = seen["j"]
    steps = Hapanel.steps_text(jb)
    log("job %s after the restart (%.1f s): %s\n%s" % (job_id, time.monotonic() - t_restart,
                                                     jb.get("error"), steps))
    assert "restart" in (jb.get("error") or ""), "the error does not name the restart: %r" % jb.get("error")

    seen = {}

    def restored():
        seen["p"] = topo.priorities()
        return seen["p"] == prio0
    wait_for(restored, 10, 0.1, msg=lambda: "replica-priority back to %s (now %s)" % (prio0, seen.get("p")))
    log("replica-priority after the restart: %s" % seen["p"])

    # no failover happened
    assert topo.agreed_master(5) == old, topo.sentinel_masters()
    assert topo.role(target) == "slave", target
    time.sleep(1.0)
    w.stop()
    log("writer: %s" % w.summary())
    assert w.masters == [old], "the writer wrote to %s, want only %s" % (w.masters, old)
    lost = w.lost(topo)
    log("acknowledged writes lost: %d of %d" % (lost, w.acked))
    assert lost == 0, "%d of %d acknowledged writes lost, e.g. %s" % (lost, w.acked, w.missing)
    assert hp.failovers() == [], "failover rows: %s" % hp.failovers()
    assert (hp.cluster(NAME).get("master") or {}).get("addr") == old


if __name__ == "__main__":
    run_test(test)
