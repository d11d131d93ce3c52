#!/usr/bin/env python3
"""it_maintenance: POST/DELETE /api/v1/clusters/{name}/maintenance.

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms, failover-timeout
3000 ms); one replica has replica-priority 50 before anything starts, so the
originals are seen to be kept (50 and 100, not a default).
  - refusals: an unknown field, no until, until in the past, until more than
    24 h ahead, a reason too long -> 400; an unknown cluster -> 404; the
    viewer -> 403; DELETE with no window open -> 404; none creates a job;
  - start (until in 10 min) -> 202 -> succeeded; every replica has
    replica-priority 0 (CONFIG GET) and in its config file (CONFIG REWRITE);
    every Sentinel reports slave-priority 0 in SENTINEL REPLICAS; GET shows
    the window with the originals; the dashboard card shows the badge with
    the time left and the "end maintenance" button; a second start -> 409;
  - the master is stopped (SIGSTOP) for 5 s, well past down-after: the
    Sentinels flag it +sdown/+odown and try a failover, which aborts
    (-failover-abort-no-good-slave: the proof a failover would have
    happened); every Sentinel still reports the same master throughout and
    after, the node is still master, no +switch-master, and the only
    failover recorded is that aborted attempt;
  - DELETE -> 202 -> succeeded: priorities back to 50 and 100 on the nodes,
    in their config files and in every Sentinel's view; the history has
    maintenance-started and maintenance-ended;
  - expiry: a window with until ~8 s ahead ends by itself (a maintenance-end
    job by "scheduler"), priorities restored;
  - crash: a window is opened, hapanel is SIGKILLed inside it and restarted
    only after its end: at start the window is ended and the priorities put
    back;
  - crash mid-start (HAPANEL_FAILPOINT=maintenance-after-hold: hapanel dies
    right after setting the priorities to 0): after the restart, with the
    window still open, the start job is recovered and holds the window
    again (succeeded), then DELETE ends it."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (OPERATOR_TOKEN, VIEWER_TOKEN, Hapanel, log, parse_kv, run_test,  # noqa: E402
                     start_receiver, wait_for)

NAME = "mymaster"
PATH = "/api/v1/clusters/%s/maintenance" % NAME


def sentinel_priorities(topo, s):
    """{replica addr: slave-priority} as Sentinel s reports them."""
    with topo.client(s, timeout=1) as c:
        reps = c.cmd("SENTINEL", "REPLICAS", NAME)
    out = {}
    for r in reps:
        kv = parse_kv(r)
        out["%s:%s" % (kv["ip"], kv["port"])] = int(kv["slave-priority"])
    return out


def all_sentinels_see(topo, want):
    for s in topo.sentinel_addrs:
        got = sentinel_priorities(topo, s)
        if any(got.get(a) != p for a, p in want.items()):
            return False
    return True


def conf_priority(topo, addr):
    """The replica-priority line in the node's config file, or None."""
    with open(topo.proc(addr).conf) as f:
        for line in f:
            w = line.split()
            if len(w) == 2 and w[0] in ("replica-priority", "slave-priority"):
                return int(w[1])
    return None


def start(hp, until_in, reason="test"):
    r = hp.post(PATH, {"until": int(time.time()) + until_in, "reason": reason})
    assert r.status == 202, "start -> %r" % r
    jb = hp.wait_job(r.body["job_id"], 40)
    assert jb["state"] == "succeeded", "start failed: %s\n%s" % (jb.get("error"), Hapanel.steps_text(jb))
    return jb


def wait_end_job(hp, after_id, timeout):
    """The first maintenance-end job with an id above after_id, once ended."""
    def found():
        for j in hp.jobs(cluster=NAME):
            if j["kind"] == "maintenance-end" and j["id"] > after_id and \
                    j["state"] in ("succeeded", "failed"):
                return j
        return None
    return wait_for(found, timeout, 0.25, msg="a maintenance-end job after %s" % after_id)


def test(env):
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    master = topo.current_master()
    r1, r2 = topo.initial_replicas()
    with topo.client(r1) as c:
        c.cmd("CONFIG", "SET", "replica-priority", "50")
        c.cmd("CONFIG", "REWRITE")
    orig = {r1: 50, r2: 100}
    wh = start_receiver(env)
    hp = env.hapanel(topo, env_extra={"HAPANEL_WEBHOOK_URLS": wh.url + "/hook",
                                      "HAPANEL_ALERT_MASTER_DOWN_S": "2"})
    hp.wait_nodes_up([master, r1, r2], NAME, 10)
    assert topo.priorities([r1, r2]) == orig

    # --- refusals: none may create a job
    now = int(time.time())
    for body, what in (({"until": now + 600, "bogus": 1}, "unknown field"),
                       ({"reason": "x"}, "no until"),
                       ({"until": now - 10}, "until in the past"),
                       ({"until": now + 25 * 3600}, "until more than 24 h ahead"),
                       ({"until": "soon"}, "until not a number"),
                       ({"until": 1e20}, "until far beyond range"),
                       ({"until": now + 600.5}, "until not whole"),
                       ([now + 600], "not an object"),
                       ({"until": now + 600, "reason": "x" * 300}, "reason too long")):
        r = hp.post(PATH, body)
        assert r.status == 400, "%s -> %r" % (what, r)
        assert "error" in r.body, r.body
    r = hp.post("/api/v1/clusters/nosuch/maintenance", {"until": now + 600})
    assert r.status == 404, "unknown cluster -> %r" % r
    r = hp.post(PATH, {"until": now + 600}, token=VIEWER_TOKEN)
    assert r.status == 403, "viewer -> %r" % r
    r = hp.request("DELETE", PATH, token=OPERATOR_TOKEN)
    assert r.status == 404, "DELETE with no window -> %r" % r
    assert hp.jobs() == [], "a refused request created a job: %s" % hp.jobs()
    assert topo.priorities([r1, r2]) == orig
    assert hp.json_ok(PATH)["active"] is False
    log("400 / 404 / 403 refusals created no job and changed nothing")

    # --- start
    t0 = time.monotonic()
    jb = start(hp, 600, "upgrade of the master")
    log("start took %.1f s:\n%s" % (time.monotonic() - t0, Hapanel.steps_text(jb)))
    assert topo.priorities([r1, r2]) == {r1: 0, r2: 0}, topo.priorities([r1, r2])
    assert conf_priority(topo, r1) == 0 and conf_priority(topo, r2) == 0, "not rewritten"
    for s in topo.sentinel_addrs:
        got = sentinel_priorities(topo, s)
        assert got.get(r1) == 0 and got.get(r2) == 0, "Sentinel %s sees %s" % (s, got)
    w = hp.json_ok(PATH)
    assert w["active"] is True and w["window"]["priorities"] == orig, w
    assert w["window"]["reason"] == "upgrade of the master", w
    assert 500 < w["window"]["seconds_left"] <= 600, w
    page = hp.get("/ui/clusters").text
    assert 'data-act="end-maintenance"' in page and "left" in page, "no badge on the card"
    assert 'data-act="maintenance"' not in page
    i = page.find('class="fact maint"')
    log("card: %s" % page[i:page.find("</span></span>", i) + 14] if i >= 0 else "card: ?")
    r = hp.post(PATH, {"until": int(time.time()) + 900})
    assert r.status == 409, "second start -> %r" % r
    log("maintenance on: priorities 0 everywhere, Sentinels read it, 409 on a second start")

    # --- the master is stopped well past down-after: no failover
    ev0 = max([e["id"] for e in hp.events(cluster=NAME, limit=1)["events"]] or [0])
    topo.stop(master)
    seen = []
    try:
        end = time.monotonic() + 5.0
        while time.monotonic() < end:
            seen.append(topo.sentinel_masters())
            time.sleep(0.25)
    finally:
        topo.cont(master)
    time.sleep(4.0)  # a failover started at the last moment would show by now
    seen.append(topo.sentinel_masters())
    for view in seen:
        assert all(m in (master, None) for m in view.values()), "a Sentinel moved: %s" % view
    assert topo.role(master) == "master"
    evs = [e for e in hp.events(cluster=NAME, limit=500)["events"] if e["id"] > ev0]
    types = [e["type"] for e in evs]
    log("Sentinel events while the master was stopped: %s" % sorted(set(types)))
    assert "+sdown" in types or "+odown" in types, \
        "the master was never seen down: the stop proves nothing (%s)" % types
    assert "+switch-master" not in types, "a failover happened: %s" % types
    # Sentinel did try, and gave up for want of a promotable replica: the
    # proof that without the window this stop would have been a failover.
    assert "-failover-abort-no-good-slave" in types, types
    for f in hp.failovers():
        assert f["status"] == "aborted" and not f["new_master"], "a failover happened: %s" % f
    log("master stopped 5 s (down-after 1 s): no failover, %s is still master" % master)
    fired = wh.wait(lambda q: (q.json() or {}).get("type") == "alert-fired" and
                    ((q.json() or {}).get("details") or {}).get("rule") == "master_down", 1, 10)
    fb = fired[0].json()
    assert "(maintenance until " in fb.get("text", ""), fb
    assert (fb.get("maintenance") or {}).get("until") == w["window"]["until"], fb
    log("the master_down alert says so: %s" % fb["text"])

    # --- DELETE
    r = hp.request("DELETE", PATH, token=OPERATOR_TOKEN)
    assert r.status == 202, "DELETE -> %r" % r
    jb = hp.wait_job(r.body["job_id"], 60)
    log("end:\n%s" % Hapanel.steps_text(jb))
    assert jb["state"] == "succeeded", jb
    assert topo.priorities([r1, r2]) == orig, topo.priorities([r1, r2])
    assert conf_priority(topo, r1) == 50, "r1's config file: %s" % conf_priority(topo, r1)
    wait_for(lambda: all_sentinels_see(topo, orig), 15, 0.25, msg="Sentinels see the originals")
    assert hp.json_ok(PATH)["active"] is False
    types = [e["type"] for e in hp.events(cluster=NAME, limit=500)["events"]]
    assert "maintenance-started" in types and "maintenance-ended" in types, types
    r = hp.request("DELETE", PATH, token=OPERATOR_TOKEN)
    assert r.status == 404, "second DELETE -> %r" % r
    log("DELETE: priorities back to %s on the nodes, in the config and in every Sentinel" % orig)

    # --- expiry
    last = max(j["id"] for j in hp.jobs())
    jb = start(hp, 8, "short")
    ended = wait_end_job(hp, jb["id"], 40)
    assert ended["state"] == "succeeded" and ended["actor"] == "scheduler", ended
    assert topo.priorities([r1, r2]) == orig, topo.priorities([r1, r2])
    assert hp.json_ok(PATH)["active"] is False
    log("a window of 8 s ended by itself (job %s by the scheduler)" % ended["id"])
    assert last < ended["id"]

    # --- crash inside the window, restart after its end
    jb = start(hp, 15, "crash")
    until = hp.json_ok(PATH)["window"]["until"]
    hp.kill()
    assert topo.priorities([r1, r2]) == {r1: 0, r2: 0}
    while time.time() < until + 1:
        time.sleep(0.2)
    assert topo.priorities([r1, r2]) == {r1: 0, r2: 0}, "put back without hapanel?"
    hp.start()
    ended = wait_end_job(hp, jb["id"], 40)
    assert ended["state"] == "succeeded", ended
    assert topo.priorities([r1, r2]) == orig, topo.priorities([r1, r2])
    assert hp.json_ok(PATH)["active"] is False
    log("killed inside the window, restarted after it: priorities put back at start")

    # --- crash in the middle of the start job
    hp.stop()
    hp.env_extra["HAPANEL_FAILPOINT"] = "maintenance-after-hold"
    hp.start()
    hp.wait_nodes_up([master, r1, r2], NAME, 10)
    r = hp.post(PATH, {"until": int(time.time()) + 600})
    assert r.status == 202, r
    job_id = r.body["job_id"]
    rc = hp.wait_exit(30)
    assert rc == 70, "hapanel did not die at the failpoint (rc %s)" % rc
    assert topo.priorities([r1, r2]) == {r1: 0, r2: 0}
    del hp.env_extra["HAPANEL_FAILPOINT"]
    hp.start()
    jb = hp.wait_job(job_id, 40)
    assert jb["state"] == "succeeded", "recovered start: %s\n%s" % (jb.get("error"), Hapanel.steps_text(jb))
    assert hp.json_ok(PATH)["active"] is True
    assert all_sentinels_see(topo, {r1: 0, r2: 0})
    r = hp.request("DELETE", PATH, token=OPERATOR_TOKEN)
    assert r.status == 202, r
    assert hp.wait_job(r.body["job_id"], 60)["state"] == "succeeded"
    assert topo.priorities([r1, r2]) == orig, topo.priorities([r1, r2])
    log("killed mid-start: the recovered job held the window; DELETE put everything back")


if __name__ == "__main__":
    run_test(test)
