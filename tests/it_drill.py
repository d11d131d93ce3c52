#!/usr/bin/env python3
"""it_drill: POST /api/v1/clusters/{name}/drills, the failover drill.

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms, failover-timeout
3000 ms, enable-debug-command local so DEBUG SLEEP can hang the master).
  - drills disabled (the default): 409 drills_disabled, no job (403 is
    kept for a role that may not: it_auth_matrix);
  - enabled, allow_kill off: kill-master -> 409 kill_not_allowed; an unknown mode, no mode, a
    mode that is not a string, an unknown field, a target that is no
    replica, a target with force -> 400; none creates a job;
  - graceful, force, then (allow_kill, kill_method sleep, 4 s)
    kill-master: without confirm and with a wrong one -> 400, with the
    cluster's name -> the drill; then kill-master with kill_method shutdown
    (SHUTDOWN NOSAVE), the master restarted by the test afterwards. During each, the test's own writer (SET
    every 10 ms through Sentinel discovery, 200 ms timeout, like the probe)
    runs; the report is checked against it: write_gap_ms within 300 ms of
    the writer's longest gap in the drill (both write every 10 ms with a
    200 ms timeout, so the gaps can differ by a timeout and a retry), no
    acknowledged write lost for graceful (the report's acked_lost and the
    writer's own read-back), the new master is the one every Sentinel
    names, the timeline's markers in time order and all there, the probe
    keys gone (SCAN), the drill listed by GET /api/v1/drills with state ok
    and by GET /api/v1/drills/{id}; the history has drill-started and
    drill-finished with the figures;
  - a crash mid-drill (HAPANEL_FAILPOINT=drill-probing: hapanel dies after
    the probe's baseline, before the failover): after the restart the job
    is failed, the drill row failed with "interrupted by a restart of
    hapanel", the probe keys deleted, the master unchanged;
  - a crash inside the drill's failover (HAPANEL_FAILPOINT=after-promotion):
    the restart completes the failover (recipe_failover_recover: the old
    master fenced, a replica now), deletes the probe keys from the new
    master and marks the drill failed;
  - hapanel stopped (SIGTERM) after the baseline: no failover is started,
    the drill fails and its probe keys are deleted;
  - a Sentinel hung (SIGSTOP) through a drill: the job ends (bounded by
    [drill] timeout_ms), failed, naming the Sentinel, probe keys deleted."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, Hapanel, log, run_test, wait_for  # noqa: E402,F401

NAME = "mymaster"
PATH = "/api/v1/clusters/%s/drills" % NAME
PREFIX = "hapanel:drill:"
MARKS_FAILOVER = ["probe-started", "failover-requested", "last-ack-old", "detection",
                  "promotion", "first-ack-new", "agreement", "probe-stopped", "cleanup"]
MARKS_KILL = ["probe-started", "kill-sent", "last-ack-old", "detection", "promotion",
              "first-ack-new", "agreement", "probe-stopped", "cleanup"]


def scan_all(topo, addr, pattern):
    keys, cursor = [], "0"
    with topo.client(addr, timeout=2) as c:
        while True:
            cursor, batch = c.cmd("SCAN", cursor, "MATCH", pattern, "COUNT", "1000")
            keys += batch
            if cursor == "0":
                return keys


def job_count(hp):
    return len(hp.jobs(cluster=NAME))


def refused(hp, body, status, words, token=OPERATOR_TOKEN):
    before = job_count(hp)
    r = hp.post(PATH, body, token=token)
    assert r.status == status, "%r -> %r (wanted %d)" % (body, r, status)
    msg = (r.body.get("error") or {}).get("message", "")
    assert words in msg, "%r: message %r lacks %r" % (body, msg, words)
    assert job_count(hp) == before, "%r created a job" % (body,)


def run_drill(env, hp, topo, body, marks, lossless):
    old = topo.agreed_master(20)
    w = env.writer(topo, prefix="itw:%s:" % body["mode"], timeout=0.2, rate=100)
    t0 = time.monotonic()
    r = hp.post(PATH, body)
    assert r.status == 202, "%r -> %r" % (body, r)
    jb = hp.wait_job(r.body["job_id"], 60)
    t1 = time.monotonic()
    assert jb["state"] == "succeeded", "%s drill failed: %s\n%s" % (
        body["mode"], jb.get("error"), Hapanel.steps_text(jb))
    w.stop()
    res = jb["result"]
    rep_id = res["drill_id"]
    dr = hp.json_ok("/api/v1/drills/%d" % rep_id)
    assert dr["state"] == "ok" and dr["mode"] == body["mode"] and dr["job_id"] == jb["id"], dr
    rep = dr["report"]
    assert isinstance(rep, dict), rep
    for k in ("write_gap_ms", "acked_lost", "writes_acked", "detection_ms", "promotion_ms",
              "agreement_ms", "new_master", "old_master", "probe_keys_deleted"):
        assert k in rep and rep[k] is not None, "report lacks %s: %s" % (k, rep)
        assert res.get(k) == rep[k], "the job's result differs from the report in %s" % k

    # the new master is the one every Sentinel names
    new = topo.agreed_master(20)
    assert rep["old_master"] == old, (rep["old_master"], old)
    assert rep["new_master"] == new and new != old, (rep["new_master"], new, old)

    # the write gap against the test's own writer
    mine = w.max_gap(t0, t1) * 1000
    log("%s: report gap %d ms, writer's %.0f ms; detection %s promotion %s agreement %s ms; "
        "acked %d failed %d lost %d; clients left %s; deleted %d" % (
            body["mode"], rep["write_gap_ms"], mine, rep["detection_ms"], rep["promotion_ms"],
            rep["agreement_ms"], rep["writes_acked"], rep["writes_failed"], rep["acked_lost"],
            rep.get("clients_left_on_old"), rep["probe_keys_deleted"]))
    log("  timeline: %s; promotion seen by %s, detection by %s" % (
        ", ".join("%s %d" % (m.get("kind"), m["t_ms"]) for m in rep["timeline"]),
        rep.get("promotion_seen_by"), rep.get("detection_event")))
    assert abs(rep["write_gap_ms"] - mine) <= 300, (rep["write_gap_ms"], mine, w.summary())
    assert rep["write_gap_ms"] > 0

    # figures that hold together
    assert rep["writes_acked"] > 50, rep["writes_acked"]  # 1 s baseline at 10 ms at least
    assert 0 <= rep["detection_ms"] <= rep["agreement_ms"], rep
    assert rep["detection_ms"] <= rep["promotion_ms"] <= rep["agreement_ms"] + 50, rep
    assert rep["probe_keys_deleted"] >= rep["writes_acked"] - rep["acked_lost"], rep
    if lossless:
        assert rep["acked_lost"] == 0, rep
        lost = w.lost(topo)
        assert lost == 0, "the writer lost %d acked writes (%s)" % (lost, w.missing)

    # the timeline: every marker, in time order
    tl = rep["timeline"]
    kinds = [m.get("kind") for m in tl]
    for k in marks:
        assert k in kinds, "timeline lacks %s: %s" % (k, tl)
    ts = [m["t_ms"] for m in tl]
    assert ts == sorted(ts), tl
    assert kinds.index("last-ack-old") < kinds.index("first-ack-new"), kinds
    assert kinds.index("probe-stopped") < kinds.index("cleanup"), kinds

    # the probe keys are gone
    left = scan_all(topo, new, "%s%d:*" % (PREFIX, rep_id))
    assert left == [], "probe keys left: %s" % left[:5]

    # listed, newest first
    lst = hp.json_ok("/api/v1/drills?cluster=%s&limit=5" % NAME)["drills"]
    assert lst and lst[0]["id"] == rep_id and isinstance(lst[0]["report"], dict), lst[:1]
    ev = hp.events(cluster=NAME, limit=200)["events"]  # newest first: this drill's
    started = [e for e in ev if e["type"] == "drill-started"]
    fin = [e for e in ev if e["type"] == "drill-finished"]
    assert started and "drill %d started" % rep_id in started[0]["message"], started[:1]
    assert fin and fin[0]["message"] == "%s drill: write gap %d ms, %d acked writes lost" % (
        body["mode"], rep["write_gap_ms"], rep["acked_lost"]), fin[:1]
    return rep


def test(env):
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000,
                        extra_conf="enable-debug-command local")
    master = topo.current_master()
    nodes = [master] + list(topo.initial_replicas())

    # --- disabled by default
    hp = env.hapanel(topo)
    hp.wait_nodes_up(nodes, NAME, 10)
    refused(hp, {"mode": "graceful"}, 409, "[drill] enabled")
    hp.stop()

    # --- enabled, kill not allowed: refusals
    hp.env_extra.update({"HAPANEL_DRILL_ENABLED": "1", "HAPANEL_DRILL_SETTLE_MS": "1000"})
    hp.start()
    hp.wait_nodes_up(nodes, NAME, 10)
    refused(hp, {"mode": "kill-master", "confirm": NAME}, 409, "allow_kill")
    refused(hp, {"mode": "sideways"}, 400, "mode must be")
    refused(hp, {}, 400, "mode is required")
    refused(hp, {"mode": 3}, 400, "mode must be a string")
    refused(hp, {"mode": "graceful", "when": "now"}, 400, "unknown field")
    refused(hp, {"mode": "graceful", "target": "127.0.0.1:1"}, 400, "is not a replica")
    refused(hp, {"mode": "force", "target": nodes[1]}, 400, "target goes with mode graceful")
    r = hp.post(PATH, {"mode": "graceful"}, token=None)
    assert r.status in (401, 403), r
    log("refusals: 409 disabled / kill not allowed, 400 for bad bodies, no job created")

    run_drill(env, hp, topo, {"mode": "graceful", "reason": "it_drill"}, MARKS_FAILOVER, True)
    run_drill(env, hp, topo, {"mode": "force"}, MARKS_FAILOVER, False)
    hp.stop()

    # --- kill-master by DEBUG SLEEP
    hp.env_extra.update({"HAPANEL_DRILL_ALLOW_KILL": "1", "HAPANEL_DRILL_KILL_METHOD": "sleep",
                         "HAPANEL_DRILL_KILL_SLEEP_S": "4"})
    hp.start()
    cur = topo.agreed_master(20)
    hp.wait_nodes_up([cur] + [n for n in nodes if n != cur], NAME, 15)
    refused(hp, {"mode": "kill-master"}, 400, '"confirm": "%s"' % NAME)
    refused(hp, {"mode": "kill-master", "confirm": "yes"}, 400, "the cluster's name")
    rep = run_drill(env, hp, topo, {"mode": "kill-master", "confirm": NAME}, MARKS_KILL, False)
    assert rep["kill_command"] == "DEBUG SLEEP 4", rep["kill_command"]
    assert rep.get("detection_event") in ("+sdown", "+odown"), rep.get("detection_event")
    assert rep["write_gap_ms"] >= 900, rep  # at least down-after
    assert rep["clients_left_on_old"] is not None, rep
    # awake again, the old master is a master until Sentinel converts it
    wait_for(lambda: topo.role(rep["old_master"]) == "slave", 20, 0.2,
             msg="%s converted to a replica" % rep["old_master"])

    # --- kill-master by SHUTDOWN NOSAVE: the old master stays down (its
    # clients cannot be counted) until the test starts it again from its own
    # config file, as a replica of the new master
    hp.stop()
    hp.env_extra["HAPANEL_DRILL_KILL_METHOD"] = "shutdown"
    hp.start()
    cur = topo.agreed_master(20)
    hp.wait_nodes_up([cur] + [n for n in nodes if n != cur], NAME, 15)
    rep = run_drill(env, hp, topo, {"mode": "kill-master", "confirm": NAME}, MARKS_KILL, False)
    assert rep["kill_command"] == "SHUTDOWN NOSAVE", rep["kill_command"]
    assert rep["clients_left_on_old"] is None, rep
    assert not topo.proc(cur).alive(), "the shut down master still runs"
    topo.restart(cur)
    wait_for(lambda: topo.role(cur) == "slave", 20, 0.2, msg="%s back as a replica" % cur)
    hp.stop()

    # --- a crash mid-drill
    cur = topo.agreed_master(30)
    topo.wait_in_sync(cur, 20)
    hp.env_extra["HAPANEL_FAILPOINT"] = "drill-probing"
    hp.start()
    hp.wait_nodes_up([cur] + [n for n in nodes if n != cur], NAME, 15)
    r = hp.post(PATH, {"mode": "graceful"})
    assert r.status == 202, r
    job_id = r.body["job_id"]
    rc = hp.wait_exit(30)
    assert rc == 70, "hapanel did not die at the failpoint (rc %s)" % rc
    rows = []

    del hp.env_extra["HAPANEL_FAILPOINT"]
    hp.start()
    jb = hp.wait_job(job_id, 40)
    assert jb["state"] == "failed", jb
    assert "interrupted by a restart of hapanel" in (jb.get("error") or ""), jb.get("error")
    rows = [d for d in hp.json_ok("/api/v1/drills?cluster=%s" % NAME)["drills"]
            if d["job_id"] == job_id]
    assert len(rows) == 1 and rows[0]["state"] == "failed", rows
    rep = rows[0]["report"]
    assert rep.get("error") == "interrupted by a restart of hapanel", rep
    assert rep.get("probe_keys_deleted", 0) > 0, rep
    assert scan_all(topo, cur, "%s%d:*" % (PREFIX, rows[0]["id"])) == []
    assert topo.agreed_master(10) == cur, "the interrupted drill switched the master"
    assert any(e["type"] == "drill-failed" and "drill %d failed" % rows[0]["id"] in e["message"]
               for e in hp.events(cluster=NAME, limit=100)["events"])
    log("crash mid-drill: job and drill failed after the restart, %d probe keys deleted"
        % rep["probe_keys_deleted"])

    # --- a crash inside the drill's failover, right after the promotion: the
    # restart finishes the failover (the old master fenced), then cleans up
    hp.stop()
    old = topo.agreed_master(10)
    topo.wait_in_sync(old, 20)
    hp.env_extra["HAPANEL_FAILPOINT"] = "after-promotion"
    hp.start()
    hp.wait_nodes_up([old] + [n for n in nodes if n != old], NAME, 15)
    r = hp.post(PATH, {"mode": "graceful"})
    assert r.status == 202, r
    job_id = r.body["job_id"]
    rc = hp.wait_exit(30)
    assert rc == 70, "hapanel did not die at the failpoint (rc %s)" % rc
    del hp.env_extra["HAPANEL_FAILPOINT"]
    hp.start()
    jb = hp.wait_job(job_id, 60)
    assert jb["state"] == "failed", jb
    steps = Hapanel.steps_text(jb)
    assert "completed after the restart" in steps, steps
    new = topo.agreed_master(20)
    assert new != old and topo.role(old) == "slave", (new, old, topo.role(old))
    rows = [d for d in hp.json_ok("/api/v1/drills?cluster=%s" % NAME)["drills"]
            if d["job_id"] == job_id]
    assert len(rows) == 1 and rows[0]["state"] == "failed" and rows[0]["ended_at"], rows
    assert rows[0]["report"].get("probe_keys_deleted", 0) > 0, rows[0]["report"]
    assert scan_all(topo, new, "%s%d:*" % (PREFIX, rows[0]["id"])) == []
    log("crash after the promotion: failover %s -> %s completed at the restart, the drill "
        "failed, %d probe keys deleted" % (old, new, rows[0]["report"]["probe_keys_deleted"]))

    # --- hapanel stopped (SIGTERM) mid-drill, after the baseline and before
    # the failover: the drill gives up without switching the master, and
    # still deletes its probe keys and ends its row failed
    hp.stop()
    cur = topo.agreed_master(20)
    topo.wait_in_sync(cur, 20)
    hp.env_extra["HAPANEL_FAILPOINT"] = "drill-probing:delay=2500"
    hp.start()
    hp.wait_nodes_up([cur] + [n for n in nodes if n != cur], NAME, 15)
    r = hp.post(PATH, {"mode": "graceful"})
    assert r.status == 202, r
    job_id = r.body["job_id"]
    wait_for(lambda: "baseline:" in Hapanel.steps_text(hp.job(job_id)), 10, 0.1,
             msg="the drill's baseline")
    hp.stop(timeout=30)
    time.sleep(2)  # a failover sent on the way out takes this long to show
    assert topo.agreed_master(10) == cur, "a drill cut by a stop of hapanel switched the master"
    del hp.env_extra["HAPANEL_FAILPOINT"]
    hp.env_extra["HAPANEL_DRILL_TIMEOUT_MS"] = "3000"
    hp.start()
    jb = hp.wait_job(job_id, 30)
    assert jb["state"] == "failed", jb
    assert "SENTINEL FAILOVER" not in Hapanel.steps_text(jb), Hapanel.steps_text(jb)
    assert "hapanel is stopping" in (jb.get("error") or ""), jb.get("error")
    rows = [d for d in hp.json_ok("/api/v1/drills?cluster=%s" % NAME)["drills"]
            if d["job_id"] == job_id]
    assert len(rows) == 1 and rows[0]["state"] == "failed", rows
    assert rows[0]["report"].get("probe_keys_deleted", 0) > 0, rows[0]["report"]
    assert scan_all(topo, cur, "%s%d:*" % (PREFIX, rows[0]["id"])) == []
    log("stop mid-drill: no failover, the drill failed (%s), probe keys gone" % jb.get("error"))

    # --- a Sentinel hung (SIGSTOP) through a drill: every wait is bounded
    # ([drill] timeout_ms 3000 here), the drill fails naming the Sentinel
    # that never agreed, and cleans up; the probe still finds the master
    # through the next Sentinel
    hp.wait_nodes_up([cur] + [n for n in nodes if n != cur], NAME, 15)
    hung = topo.sentinel_addrs[0]
    topo.stop(hung)
    try:
        time.sleep(1.5)  # the monitor sees it hang
        t0 = time.monotonic()
        r = hp.post(PATH, {"mode": "graceful"})
        assert r.status == 202, r
        jb = hp.wait_job(r.body["job_id"], 45)
        took = time.monotonic() - t0
        assert jb["state"] == "failed", jb
        rows = [d for d in hp.json_ok("/api/v1/drills?cluster=%s" % NAME)["drills"]
                if d["job_id"] == jb["id"]]
        assert len(rows) == 1 and rows[0]["state"] == "failed", rows
        rep = rows[0]["report"]
        assert rep.get("probe_keys_deleted") is not None, rep
        now = topo.agreed_master(20)
        assert scan_all(topo, now, "%s%d:*" % (PREFIX, rows[0]["id"])) == []
        if rep.get("new_master") and rep["new_master"] != rep["old_master"]:
            # the failover ran with the other two: the wait for all three
            # gave up and says who
            assert hung in (jb.get("error") or ""), jb.get("error")
        log("Sentinel %s hung: the drill failed in %.1f s (%s), probe keys gone"
            % (hung, took, jb.get("error")))
        assert took < 30, took
    finally:
        topo.cont(hung)


if __name__ == "__main__":
    run_test(test, limit=150)
