#!/usr/bin/env python3
"""it_sentinel_groups: one panel, two separate Sentinel deployments on
loopback (issue 15, item 1). Group "default" ([sentinel], from the
environment) is a topology with one master, east1, and no password; group
"west" ([sentinel west] in the INI file) is another topology, with its own
three Sentinels, masters west1 and west2, and password wpass on its
Sentinels and nodes (password and redis_password of the section).

GET /api/v1/clusters lists the 3 clusters, each with its group;
?group=west gives west1 and west2 only, ?group=default east1 only, and a
group the config does not have is a 400 unknown_group (not an empty list).
GET /api/v1/clusters/west1 has west's three Sentinels and none of east's.
/metrics has hapanel_cluster_info{cluster,group} per cluster and
hapanel_sentinel_group_clusters per group (2 and 1). A graceful failover of
west2 (POST) succeeds: it connects with west's password (east's, none,
would be refused), its job records group west, its events name west2, and
west1's master stays. SIGKILL of east1's master: Sentinel fails over, an
automatic failover of east1 is recorded, and west's masters stay where they
were. A webhook receives both failovers with "group" (default for east1,
west for west2) and a text that names group/cluster. hapanel killed (a
failpoint) after sending SENTINEL FAILOVER for west1 and restarted: the
job completes after the restart (fenced with west's password). Killed again
after steering a replica-priority, with west's Sentinels stopped while
hapanel restarts (so its snapshot has no west1): the recovery still puts the
priority back, with the group recorded in the job's params (west's
password). wpass appears in no
API answer, no webhook body and not in hapanel's log."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, start_receiver, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402

WPASS = "wpass"
check = Checks()


def _bounded(fn, timeout, interval=0.25):
    """True once fn() is, within timeout seconds; False after."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return True
        time.sleep(interval)
    return bool(fn())


def test(env):
    east = env.topology(masters=("east1",))
    west = env.topology(masters=("west1", "west2"), password=WPASS)
    wh = start_receiver(env)
    hp = env.hapanel(east, config_text=west.group_section("west"), env_extra={"HAPANEL_WEBHOOK_URLS": wh.url + "/hook"})

    responses = []
    orig_request = hp.request

    def recording_request(*a, **kw):
        r = orig_request(*a, **kw)
        responses.append(("%s %s" % (a[0], a[1]), r.text))
        return r
    hp.request = recording_request

    # --- the list, by group -------------------------------------------------
    want = {"east1": "default", "west1": "west", "west2": "west"}
    seen = {}

    def listed():
        cl = hp.clusters().get("clusters") or []
        seen["l"] = {c.get("name"): c.get("group") for c in cl}
        return seen["l"] == want
    wait_for(listed, 20, 0.2, msg=lambda: "clusters %s with groups, got %s" % (want, seen.get("l")))
    log("clusters: %s" % seen["l"])

    r = hp.get("/api/v1/clusters?group=west")
    names = sorted(c["name"] for c in (r.body or {}).get("clusters", [])) if r.status == 200 else r
    check(names == ["west1", "west2"], "?group=west -> %s (want west1, west2)" % (names,))
    r = hp.get("/api/v1/clusters?group=default")
    names = sorted(c["name"] for c in (r.body or {}).get("clusters", [])) if r.status == 200 else r
    check(names == ["east1"], "?group=default -> %s (want east1)" % (names,))
    r = hp.get("/api/v1/clusters?group=nowhere")
    err = ((r.body or {}).get("error") or {}) if isinstance(r.body, dict) else {}
    check(r.status == 400 and err.get("code") == "unknown_group",
          "?group=nowhere -> %s %s (want 400 unknown_group)" % (r.status, r.text[:200]))

    # --- each cluster has its own group's Sentinels -------------------------
    def sentinels_of(name):
        return sorted(s.get("addr") for s in hp.cluster(name).get("sentinels") or [])
    wait_for(lambda: sentinels_of("west1") == sorted(west.sentinel_addrs), 10, 0.2,
             msg=lambda: "west1's Sentinels %s, got %s" % (west.sentinel_addrs,
                                                          sentinels_of("west1")))
    wait_for(lambda: sentinels_of("east1") == sorted(east.sentinel_addrs), 10, 0.2,
             msg=lambda: "east1's Sentinels %s, got %s" % (east.sentinel_addrs,
                                                          sentinels_of("east1")))
    check(hp.cluster("west1").get("group") == "west", "GET /clusters/west1 group is not west")
    hp.wait_nodes_up([west.initial_master("west2")] + west.initial_replicas("west2"), "west2", 10)
    hp.wait_nodes_up([east.initial_master("east1")] + east.initial_replicas("east1"), "east1", 10)

    # --- metrics --------------------------------------------------------------
    text = hp.get("/metrics").text
    for name, group in want.items():
        check('hapanel_cluster_info{cluster="%s",group="%s"} 1' % (name, group) in text,
              "/metrics has no hapanel_cluster_info for %s in %s" % (name, group))
    check('hapanel_sentinel_group_clusters{group="west"} 2' in text,
          "/metrics: hapanel_sentinel_group_clusters of west is not 2")
    check('hapanel_sentinel_group_clusters{group="default"} 1' in text,
          "/metrics: hapanel_sentinel_group_clusters of default is not 1")
    check("# TYPE hapanel_cluster_info gauge" in text, "hapanel_cluster_info has no TYPE line")

    # --- a job on west: west's password --------------------------------------
    w1 = west.current_master("west1")
    old2 = west.current_master("west2")
    target = west.initial_replicas("west2")[0]
    r = hp.post("/api/v1/clusters/west2/failover",
                {"mode": "graceful", "target": target, "reason": "groups test"})
    assert r.status == 202, "POST west2 failover -> %r" % (r,)
    job_id = r.body["job_id"]
    jb = hp.wait_job(job_id, 60)
    steps = hp.steps_text(jb)
    log("west2 failover job %s %s:\n%s" % (job_id, jb["state"], steps))
    check(jb["state"] == "succeeded", "west2 failover failed: %s" % jb.get("error"))
    check((jb.get("params") or {}).get("group") == "west",
          "the job's params do not record group west: %s" % jb.get("params"))
    if jb["state"] == "succeeded":
        check(west.agreed_master(10, name="west2") == target,
              "west's Sentinels do not report %s for west2" % target)
    check(west.current_master("west1") == w1, "west1's master moved with west2's failover")
    evs = hp.events(cluster="west2", limit=200).get("events") or []
    types = [e.get("type") for e in evs]
    check("job-started" in types and "job-succeeded" in types,
          "the events of west2 do not name the job (types %s)" % types)
    check(all(e.get("cluster") == "west2" for e in evs), "events of ?cluster=west2 name others")

    # --- an automatic failover on east ---------------------------------------
    e_old = east.current_master("east1")
    w2 = west.current_master("west2")
    east.kill(e_old)
    log("killed east1's master %s" % e_old)
    got = {}

    def east_failover():
        rows = hp.failovers(cluster="east1")
        got["rows"] = rows
        return [x for x in rows if x.get("kind") == "automatic" and x.get("old_master") == e_old
                and x.get("new_master")]
    rows = wait_for(east_failover, 30, 0.25,
                    msg=lambda: "an automatic failover row of east1 (rows %s)" % got.get("rows"))
    log("east1 failover: %s" % rows[0])
    check(west.current_master("west1") == w1 and west.current_master("west2") == w2,
          "west's masters moved when east1's master died")
    fo_west = hp.failovers(cluster="west1")
    check(fo_west == [], "west1 has failover rows: %s" % fo_west)

    # --- the webhook: "group" and group/cluster ------------------------------
    def failover_for(cluster):
        def pred(q):
            try:
                b = q.json()
            except ValueError:
                return False
            return q.path == "/hook" and b.get("type") == "failover" and b.get("cluster") == cluster
        return pred
    q_east = wh.wait(failover_for("east1"), 1, 15, msg=lambda: "a failover webhook for east1: %s"
                     % [q.body[:200] for q in wh.got()])[0].json()
    q_west = wh.wait(failover_for("west2"), 1, 15, msg=lambda: "a failover webhook for west2: %s"
                     % [q.body[:200] for q in wh.got()])[0].json()
    log("webhook for east1: %s" % json.dumps(q_east)[:400])
    check(q_east.get("group") == "default", "east1's failover webhook group %r" % q_east.get("group"))
    check(q_west.get("group") == "west", "west2's failover webhook group %r" % q_west.get("group"))
    check((q_east.get("text") or "").startswith("hapanel: default/east1:"),
          "east1's text does not name default/east1: %r" % q_east.get("text"))
    check((q_west.get("text") or "").startswith("hapanel: west/west2:"),
          "west2's text does not name west/west2: %r" % q_west.get("text"))

    # --- a west job interrupted by a crash, recovered after the restart -------
    # hapanel dies (failpoint, _exit 70) once SENTINEL FAILOVER is sent for
    # west1; the restarted one recovers the job before its monitor has seen
    # west1 again, so the group comes from the job's params: asking west's
    # Sentinels and putting back the replica-priority need west's password.
    w1 = west.agreed_master(10, name="west1")
    prio0 = west.priorities()
    hp.stop()
    hp.env_extra["HAPANEL_FAILPOINT"] = "after-failover-sent"
    hp.start()
    hp.wait_nodes_up([w1] + west.initial_replicas("west1"), "west1", 10)
    r = hp.post("/api/v1/clusters/west1/failover", {"mode": "graceful", "reason": "crash test"})
    assert r.status == 202, "POST west1 failover -> %r" % (r,)
    job_id = r.body["job_id"]
    rc = hp.wait_exit(40)
    assert rc == 70, "hapanel exited with %s, want 70 (the failpoint)" % rc
    del hp.env_extra["HAPANEL_FAILPOINT"]
    time.sleep(1.0)
    hp.start()
    jb = hp.wait_job(job_id, 60)
    steps = hp.steps_text(jb)
    log("west1 job %s after the restart: %s\n%s" % (job_id, jb["state"], steps))
    check(jb["state"] == "succeeded" and (jb.get("result") or {}).get("completed_after_restart"),
          "the interrupted west1 failover did not complete after the restart: %s" % jb.get("error"))
    new1 = west.agreed_master(20, name="west1")
    check(new1 != w1, "west1's master did not change")
    check((jb.get("result") or {}).get("new_master") == new1,
          "job result new_master %r, Sentinels say %s" % ((jb.get("result") or {}).get("new_master"),
                                                           new1))
    prio = {}

    def priorities_back():
        prio["p"] = west.priorities()
        return prio["p"] == prio0
    check(_bounded(priorities_back, 15),
          "west's replica-priorities not put back: %s, want %s" % (prio.get("p"), prio0))
    # Not "east1's master is where it was": east's own Sentinels may fail
    # east1 over again by themselves (seen once on a loaded host, 2 s after
    # the first). What west1's job must not do is act on east: no failover
    # of east1 but the Sentinels' own, and no east address in its steps.
    fo_east = hp.failovers(cluster="east1")
    check(all(x.get("kind") == "automatic" for x in fo_east),
          "east1 has a failover that is not the Sentinels' own: %s" % fo_east)
    east_addrs = list(east.sentinel_addrs) + [p.addr for p in east.groups["east1"]]
    check(not [a for a in east_addrs if a in steps],
          "west1's job names an east address: %s" % [a for a in east_addrs if a in steps])

    # --- the same with west's Sentinels frozen: the group from the params -----
    # Killed after steering the target's replica-priority; while hapanel is
    # down west's Sentinels are stopped (SIGSTOP), so after the restart the
    # monitor cannot find west1 and the snapshot has no cluster west1. The
    # recovery puts the priority back on the node all the same: the group
    # recorded in the job's params gives west's password (group 0's, none,
    # would be refused).
    m1 = west.agreed_master(20, name="west1")
    reps1 = [p.addr for p in west.groups["west1"] if p.addr != m1]
    hp.wait_nodes_up([m1] + reps1, "west1", 10)
    plan = {}

    def plan_ok():
        plan["p"] = hp.get("/api/v1/clusters/west1/failover/plan").body
        return isinstance(plan["p"], dict) and plan["p"].get("choice") in reps1
    wait_for(plan_ok, 20, 0.25, msg=lambda: "a failover plan of west1 with a choice: %s"
             % json.dumps(plan.get("p"))[:600])
    target = [a for a in reps1 if a != plan["p"]["choice"]][0]
    prio0 = west.priorities()
    hp.stop()
    hp.env_extra["HAPANEL_FAILPOINT"] = "after-steer"
    hp.start()
    hp.wait_nodes_up([m1] + reps1, "west1", 10)
    r = hp.post("/api/v1/clusters/west1/failover",
                {"mode": "graceful", "target": target, "reason": "crash test 2"})
    assert r.status == 202, "POST west1 failover -> %r" % (r,)
    job_id = r.body["job_id"]
    rc = hp.wait_exit(40)
    assert rc == 70, "hapanel exited with %s, want 70 (the failpoint)" % rc
    del hp.env_extra["HAPANEL_FAILPOINT"]
    steered = west.priorities()
    log("priorities before %s, steered %s (target %s)" % (prio0, steered, target))
    check(steered[target] != prio0[target], "the target's priority was not steered: %s" % steered)
    frozen = list(west.sentinel_addrs)
    env.on_cleanup(lambda: [west.cont(a) for a in frozen])
    for a in frozen:
        west.stop(a)
    hp.start()
    jb = hp.wait_job(job_id, 60)
    steps = hp.steps_text(jb)
    log("west1 job %s after the restart, west's Sentinels stopped: %s\n%s" % (job_id, jb["state"],
                                                                               steps))
    check("west1" not in [c.get("name") for c in hp.clusters().get("clusters") or []],
          "west1 in the snapshot although its Sentinels are stopped (the fallback is not tested)")
    check(jb["state"] == "failed" and "restart" in (jb.get("error") or ""),
          "the interrupted job did not fail naming the restart: %s %s" % (jb["state"],
                                                                          jb.get("error")))
    check(west.priorities() == prio0, "west's priorities not put back after the restart: %s, "
          "want %s" % (west.priorities(), prio0))
    for a in frozen:
        west.cont(a)

    # --- no password anywhere -------------------------------------------------
    for what, body in responses:
        check(WPASS not in (body or ""), "%s shows the west password" % what)
    for q in wh.got():
        check(WPASS.encode() not in q.body, "a webhook body shows the west password")
    time.sleep(0.5)
    check(WPASS not in hp.log_text(), "hapanel's log shows the west password")
    check.done()


if __name__ == "__main__":
    run_test(test, limit=180)
