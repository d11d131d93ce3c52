#!/usr/bin/env python3
"""it_failover_scheduled: a graceful switchover scheduled with POST
.../failover {at} (epoch seconds) on a real topology (1 master + 2
replicas + 3 Sentinels, down-after 1000 ms).

- Bad `at` values (past, now, more than 30 days ahead, not a number, with
  mode force) are 400 and store no job.
- A scheduled job is listed by GET /api/v1/jobs as queued with run_at (ms),
  shown on the dashboard as "scheduled for HH:MM UTC" with a cancel button,
  and does not block: the plan shows no running job. DELETE by a viewer is
  403; by the operator 200, the job ends "cancelled" naming the operator and
  never runs; a second DELETE is 409, an unknown id 404.
- Scheduled 4 s ahead, with hapanel restarted (SIGTERM) in between, and
  again with hapanel SIGKILLed and restarted: each runs once at its time
  (started within poll interval + margin of `at`), the failover is recorded
  once, graceful, with the operator as actor; a DELETE while it runs or
  after it ended is 409.
- A job whose time passed while hapanel was down, more than the 10 min
  grace ago (run_at moved back in the database while hapanel is stopped),
  fails as "missed" after the start and changes nothing.
- A scheduled switchover whose target replica is killed before its time
  fails with the plan's reason, changes nothing, and its job-failed
  notification reaches a local webhook receiver."""

import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, VIEWER_TOKEN, log, run_test, start_receiver, wait_for  # noqa: E402

NAME = "mymaster"
POLL_MS = 250          # the harness's HAPANEL_POLL_INTERVAL_MS
MARGIN_MS = 750        # a second in all: the scheduler's own tick is shorter
AHEAD_S = 4
ACTOR = {}             # the operator token's name as hapanel records it


def post_failover(hp, body, token=OPERATOR_TOKEN):
    return hp.post("/api/v1/clusters/%s/failover" % NAME, body, token=token)


def delete_job(hp, job_id, token=OPERATOR_TOKEN):
    return hp.request("DELETE", "/api/v1/jobs/%s" % job_id, token=token)


def graceful_failovers(hp):
    return [f for f in hp.failovers(cluster=NAME) if f.get("kind") == "graceful"]


def check_bad_at(hp):
    now = time.time()
    cases = [
        ({"mode": "graceful", "at": now - 10}, "in the past"),
        ({"mode": "graceful", "at": int(now)}, "now"),
        ({"mode": "graceful", "at": now + 31 * 86400}, "31 days ahead"),
        ({"mode": "graceful", "at": "tomorrow"}, "a string"),
        ({"mode": "graceful", "at": True}, "a boolean"),
        ({"mode": "force", "at": now + 60}, "mode force"),
    ]
    for body, what in cases:
        r = post_failover(hp, body)
        assert r.status == 400, "POST failover with at %s -> %r (want 400)" % (what, r)
        assert "error" in (r.body or {}), "400 without an error object: %r" % (r,)
    assert hp.jobs() == [], "a refused request stored a job: %s" % hp.jobs()
    log("bad at values: 400 each, no job stored")


def check_cancel(topo, hp):
    at = int(time.time()) + 120
    r = post_failover(hp, {"mode": "graceful", "at": at, "reason": "to be cancelled"})
    assert r.status == 202, "POST scheduled failover -> %r" % (r,)
    jid = r.body["job_id"]
    assert r.body.get("run_at") == at * 1000, r.body
    actor = hp.job(jid)["actor"]
    assert actor.startswith("operator") and OPERATOR_TOKEN not in actor, actor
    ACTOR["name"] = actor
    listed = [j for j in hp.jobs() if j["id"] == jid]
    assert listed and listed[0]["state"] == "queued" and listed[0]["run_at"] == at * 1000, \
        "GET /api/v1/jobs does not list job %s queued with run_at %d: %s" % (jid, at * 1000, listed)
    # not busy: the plan names no running job, and the dashboard shows it with a cancel button
    plan = hp.json_ok("/api/v1/clusters/%s/failover/plan" % NAME)
    assert plan.get("running_job") is None, "a scheduled job counts as running: %s" % plan
    replica = [a for a in topo.node_addrs if a != topo.current_master()][0]
    r = hp.post("/api/v1/clusters/%s/nodes/%s/resync" % (NAME, replica), {})
    assert r.status == 202, "a resync while a switchover is scheduled -> %r (want 202)" % (r,)
    rj = hp.wait_job(r.body["job_id"], 30)
    assert rj["state"] == "succeeded", rj
    hp.wait_nodes_up([topo.current_master()] + [a for a in topo.node_addrs
                                                 if a != topo.current_master()], NAME, 15)
    page = hp.get("/ui/clusters").text
    hm = time.strftime("%H:%M UTC", time.gmtime(at))
    assert "scheduled for %s" % hm in page, \
        "the dashboard does not say 'scheduled for %s'" % hm
    assert 'data-act="cancel-job"' in page and 'data-job="%d"' % jid in page, \
        "the dashboard has no cancel button for job %s" % jid
    r = delete_job(hp, jid, token=VIEWER_TOKEN)
    assert r.status == 403, "DELETE by a viewer -> %r (want 403)" % (r,)
    r = delete_job(hp, jid)
    assert r.status in (200, 204), "DELETE of a scheduled job -> %r" % (r,)
    jb = hp.job(jid)
    assert jb["state"] == "cancelled", "job %s is %s after DELETE" % (jid, jb["state"])
    assert actor in (jb.get("error") or ""), "the cancel does not name who: %s" % jb.get("error")
    assert (jb.get("result") or {}).get("cancelled_by") == actor, jb.get("result")
    r = delete_job(hp, jid)
    assert r.status == 409, "DELETE of a cancelled job -> %r (want 409)" % (r,)
    r = delete_job(hp, 987654321)
    assert r.status == 404, "DELETE of an unknown job -> %r (want 404)" % (r,)
    page = hp.get("/ui/clusters").text
    assert 'data-act="cancel-job"' not in page, "the cancelled job still has a cancel button"
    assert not [f for f in hp.failovers(cluster=NAME) if f.get("job_id") == jid]
    log("job %s scheduled, listed with run_at, shown, cancelled by %s; DELETE again 409, "
        "unknown 404" % (jid, actor))
    return jid


def run_across_restart(env, topo, hp, how):
    """Schedules a switchover AHEAD_S ahead and restarts hapanel before it
    (how: "stop" SIGTERM, "kill" SIGKILL), or keeps it stopped until 1.5 s
    past its time ("down-past": within the grace, so it runs at once); checks
    it ran once at its time (or at once after the start)."""
    before = len(graceful_failovers(hp))
    old = topo.current_master()
    at = int(time.time()) + AHEAD_S
    r = post_failover(hp, {"mode": "graceful", "at": at, "reason": "scheduled, %s" % how})
    assert r.status == 202, "POST scheduled failover -> %r" % (r,)
    jid = r.body["job_id"]
    if how == "kill":
        hp.kill()
    else:
        hp.stop()
    if how == "down-past":
        time.sleep(max(0.0, at + 1.5 - time.time()))
    t_start = time.time()
    hp.start()
    log("hapanel %s and started again %.1f s before job %s's time" % (
        how, at - time.time(), jid))
    if how != "down-past":
        assert hp.job(jid)["state"] == "queued", hp.job(jid)
    # DELETE while it runs (or, if the run was quicker than the polls, after): 409
    seen = {}

    def started():
        jb = seen["j"] = hp.job(jid)
        return jb["state"] != "queued"
    wait_for(started, AHEAD_S + 5, 0.05, msg=lambda: "job %s starts (%s)" % (jid, seen.get("j")))
    r = delete_job(hp, jid)
    assert r.status == 409, "DELETE of a %s job -> %r (want 409)" % (seen["j"]["state"], r)
    log("DELETE while job %s was %s: 409" % (jid, seen["j"]["state"]))
    jb = hp.wait_job(jid, 60)
    steps = "\n".join(s["message"] for s in jb.get("steps") or [])
    assert jb["state"] == "succeeded", "job %s %s: %s\n%s" % (jid, jb["state"], jb.get("error"), steps)
    late = jb["started_at"] - at * 1000
    log("job %s started %d ms after its time" % (jid, late))
    if how == "down-past":
        # at once after the start: within the start-up (until health answered) + the margin
        up_ms = (time.time() - t_start) * 1000
        assert 1500 <= late, "job %s started %d ms after its time, while hapanel was down" % (
            jid, late)
        assert jb["started_at"] - t_start * 1000 <= POLL_MS + MARGIN_MS + up_ms, \
            "job %s, due while hapanel was down, started %d ms after the start" % (
                jid, jb["started_at"] - t_start * 1000)
    else:
        assert -50 <= late <= POLL_MS + MARGIN_MS, \
            "job %s started %d ms after its time (want 0..%d)" % (jid, late, POLL_MS + MARGIN_MS)
    assert "read back after a restart" in steps and "plan check at its time" in steps, steps
    assert jb["actor"] == ACTOR["name"], jb
    r = delete_job(hp, jid)
    assert r.status == 409, "DELETE of a finished job -> %r (want 409)" % (r,)
    # recorded once, with the actor; never again
    time.sleep(1.5)
    rows = [f for f in graceful_failovers(hp) if f.get("job_id") == jid]
    assert len(rows) == 1, "job %s recorded %d failovers: %s" % (jid, len(rows), rows)
    assert rows[0].get("actor") == ACTOR["name"], rows[0]
    assert len(graceful_failovers(hp)) == before + 1, hp.failovers(cluster=NAME)
    new = topo.agreed_master(15)
    assert new != old, "the master is still %s" % old
    started_n = [j for j in hp.jobs() if j["id"] == jid]
    assert len(started_n) == 1 and started_n[0]["state"] == "succeeded", started_n
    topo.wait_in_sync(new, 15)
    hp.wait_nodes_up([new] + [a for a in topo.node_addrs if a != new], NAME, 15)
    return jid


def check_missed(env, topo, hp):
    at = int(time.time()) + 3600
    r = post_failover(hp, {"mode": "graceful", "at": at})
    assert r.status == 202, r
    jid = r.body["job_id"]
    master = topo.current_master()
    hp.stop()
    db = sqlite3.connect(os.path.join(hp.data_dir, "hapanel.db"))
    db.execute("UPDATE jobs SET run_at = ? WHERE id = ?", (int((time.time() - 11 * 60) * 1000), jid))
    db.commit()
    db.close()
    hp.start()
    jb = hp.wait_job(jid, 10)
    assert jb["state"] == "failed" and "missed" in (jb.get("error") or ""), jb
    assert jb.get("started_at") is None, "a missed job was started: %s" % jb
    assert topo.current_master() == master, "a missed job changed the master"
    hp.wait_nodes_up([master] + [a for a in topo.node_addrs if a != master], NAME, 15)
    log("job %s, 11 min late at the start: %s" % (jid, jb["error"]))


def check_plan_refused(env, topo, hp, wh):
    master = topo.current_master()
    target = [a for a in topo.node_addrs if a != master][0]
    at = int(time.time()) + AHEAD_S
    r = post_failover(hp, {"mode": "graceful", "target": target, "at": at})
    assert r.status == 202, r
    jid = r.body["job_id"]
    topo.kill(target)
    log("target %s killed before job %s's time" % (target, jid))
    jb = hp.wait_job(jid, AHEAD_S + 30)
    err = jb.get("error") or ""
    assert jb["state"] == "failed" and "refused at its scheduled time" in err, jb
    assert target in err or "down" in err, "the refusal does not give the plan's reason: %s" % err
    assert topo.current_master() == master, "a refused job changed the master"
    assert not [f for f in hp.failovers(cluster=NAME) if f.get("job_id") == jid]
    log("job %s refused: %s" % (jid, err))

    def notified():
        for q in wh.got():
            try:
                body = q.json()
            except Exception:
                continue
            if isinstance(body, dict) and body.get("type") == "job-failed" and \
                    (body.get("details") or {}).get("job_id") == jid:
                return body
        return None
    body = wait_for(notified, 10, 0.1, msg=lambda: "a job-failed notification for job %s (got %s)" % (
        jid, [q.body[:200] for q in wh.got()]))
    log("notification: %s" % json.dumps(body)[:300])


def test(env):
    wh = start_receiver(env)
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    hp = env.hapanel(topo, env_extra={"HAPANEL_WEBHOOK_URLS": wh.url + "/hook"})
    hp.wait_nodes_up(topo.node_addrs, NAME, 10)
    check_bad_at(hp)
    check_cancel(topo, hp)
    run_across_restart(env, topo, hp, "stop")
    run_across_restart(env, topo, hp, "kill")
    run_across_restart(env, topo, hp, "down-past")
    check_missed(env, topo, hp)
    check_plan_refused(env, topo, hp, wh)
    hp.stop()


if __name__ == "__main__":
    run_test(test)
