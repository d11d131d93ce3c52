#!/usr/bin/env python3
"""it_failover_hung: whatever hangs during a graceful switchover — the
Sentinel running it, the target, or the old master — writes are never
blocked longer than max_pause_ms plus one poll interval, no acknowledged
write is lost, and the job reports what actually happened.

1 master + 2 replicas + 3 Sentinels (down-after 5000 ms, longer than any hang
here, so Sentinel never fails over by itself; failover-timeout
3000 ms). hapanel runs with a failpoint that stalls the job 300 ms while
writes are paused, and the test, watching the job's steps, SIGSTOPs the peer
meanwhile. max_pause_ms 800.
  - target and master: stopped during the stall after the catch-up; the
    job's last check before SENTINEL FAILOVER finds them silent, unpauses
    and fails, nothing changed;
  - Sentinel: stopped during the stall right before SENTINEL FAILOVER (after
    that check), so the request goes unanswered; at the pause limit the job
    disarms it (every replica's priority 0), the Sentinel resumes with the
    request and aborts it (no good replica), the job fails saying the
    disarmed failover did not happen, and the priorities are put back.
For each peer:
  - the writer's longest gap from the POST until the peer is resumed is
    under 800 + 1000 ms (the pause limit plus one poll) + 300 ms margin (but
    for the master itself, whose hang blocks writes on its own), and the
    job's writes_paused_ms is at most 800;
  - the peer is resumed (SIGCONT) 2.5 s after it was stopped (a Sentinel
    1.5 s: 2 s or more put it in TILT, and it would act only 30 s later);
  - the job ends; afterwards exactly one node says role:master and every
    Sentinel names it; if the job succeeded, its result's new_master and
    promoted are that node; if it failed, the master is the old one;
  - replica-priority and min-replicas settings are back as before;
  - 0 acknowledged writes lost."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hapanel, log, run_test  # noqa: E402

NAME = "mymaster"
FO = "/api/v1/clusters/%s/failover" % NAME
MAX_PAUSE_MS = 800
POLL_MS = 1000
MARGIN_MS = 300


def settings(topo):
    return {a: (topo.config_get(a, "min-replicas-to-write"), topo.config_get(a, "min-replicas-max-lag"))
            for a in topo.node_addrs}


def one_master(topo):
    masters = [a for a, r in topo.roles().items() if r == "master"]
    return masters[0] if len(masters) == 1 else None


def scenario(env, topo, hp, w, which):
    hp.stop()
    hp.env_extra["HAPANEL_FAILPOINT"] = ("before-request" if which == "sentinel"
                                         else "after-catch-up") + ":delay=300"
    hp.start()
    old = topo.agreed_master(20)
    topo.wait_in_sync(old, 20)
    hp.wait_for(lambda: (hp.cluster(NAME).get("master") or {}).get("addr") == old
                and not hp.cluster(NAME)["failover_in_progress"]
                and all(n["up"] for n in hp.cluster(NAME)["replicas"]), 20,
                msg="hapanel sees %s as master, every replica up" % old)
    prio0, set0 = topo.priorities(), settings(topo)
    body = {"mode": "graceful", "max_pause_ms": MAX_PAUSE_MS, "reason": "hung " + which}
    replicas = [a for a in topo.node_addrs if a != old]
    if which == "target":
        body["target"] = replicas[0]
    t_post = time.monotonic()
    r = hp.post(FO, body)
    assert r.status == 202, r
    job_id = r.body["job_id"]
    seen = {}

    def caught_up():
        seen["j"] = jb = hp.job(job_id)
        return "stalling" in hp.log_since_start() or jb["state"] in ("succeeded", "failed")
    hp.wait_for(caught_up, 30, 0.01, msg=lambda: "job %s reaches the catch-up (%s)" % (job_id, seen.get("j")))
    jb = seen["j"]
    assert jb["state"] == "running", "the job ended before the peer could be stopped: %s" % jb
    if which == "sentinel":
        peer = jb["result"]["sentinel"]
    elif which == "target":
        peer = body["target"]
    else:
        peer = old
    topo.stop(peer)
    t_stop = time.monotonic()
    log("%s %s stopped %.0f ms after the POST" % (which, peer, (t_stop - t_post) * 1000))
    # A Sentinel stopped for 2 s or more goes into TILT on resuming and acts
    # 30 s later only: 1.5 s keeps the test short (and still outlasts the pause).
    time.sleep(1.5 if which == "sentinel" else 2.5)
    t_cont = time.monotonic()
    gap = w.max_gap(t_post, t_cont)
    topo.cont(peer)
    log("%s resumed; the longest write gap while it hung: %.0f ms" % (which, gap * 1000))
    jb = hp.wait_job(job_id, 90)
    steps = Hapanel.steps_text(jb)
    log("job %s %s: %s\n%s" % (job_id, jb["state"], jb.get("error"), steps))
    # A stopped master blocks its writes by itself; the others must not.
    if which != "master":
        assert gap * 1000 < MAX_PAUSE_MS + POLL_MS + MARGIN_MS, \
            "%s hung: writes blocked %.0f ms (limit %d + %d ms): %s" % (
                which, gap * 1000, MAX_PAUSE_MS, POLL_MS, w.summary())
    paused = (jb.get("result") or {}).get("writes_paused_ms")
    assert paused is None or paused <= MAX_PAUSE_MS, "writes_paused_ms %s" % paused
    master = topo.agreed_master(30)
    hp.wait_for(lambda: one_master(topo) == master, 30,
                msg=lambda: "%s: exactly one master (roles %s)" % (which, topo.roles()))
    if jb["state"] == "succeeded":
        assert jb["result"]["new_master"] == master and jb["result"]["promoted"] == master, \
            (jb["result"], master)
    else:
        assert master == old, "the job failed but the master moved %s -> %s" % (old, master)
    want = {"sentinel": "disarmed failover did not happen", "target": "nothing changed",
            "master": "nothing changed"}[which]
    assert jb["state"] == "failed" and want in (jb.get("error") or ""), \
        "%s hung: want a failed job saying %r: %s" % (which, want, jb.get("error"))
    hp.wait_for(lambda: topo.priorities() == prio0, 15,
                msg=lambda: "priorities back to %s (now %s)" % (prio0, topo.priorities()))
    hp.wait_for(lambda: settings(topo) == set0, 15,
                msg=lambda: "min-replicas settings back to %s (now %s)" % (set0, settings(topo)))
    return which, jb["state"], old, master, gap


def test(env):
    topo = env.topology(down_after_ms=5000, failover_timeout_ms=3000)
    hp = env.hapanel(topo)
    hp.wait_nodes_up([topo.initial_master()] + topo.initial_replicas(), NAME, 10)
    w = env.writer(topo)
    results = [scenario(env, topo, hp, w, which) for which in ("target", "master", "sentinel")]
    w.stop()
    lost = w.lost(topo)
    for r in results:
        log("  %-8s job %-9s %s -> %s, longest gap while hung %.0f ms" % (r[0], r[1], r[2], r[3],
                                                                        r[4] * 1000))
    log("writer: %s; lost %d" % (w.summary(), lost))
    assert lost == 0, "%d of %d acknowledged writes lost, e.g. %s" % (lost, w.acked, w.missing)


if __name__ == "__main__":
    run_test(test, limit=280)
