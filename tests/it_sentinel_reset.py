#!/usr/bin/env python3
"""it_sentinel_reset: POST /clusters/{name}/sentinels/reset runs SENTINEL
RESET on each Sentinel in turn; the job succeeds (bounded 90 s), afterwards
every Sentinel sees 2 replicas and 2 other Sentinels again and still reports
the same master, every Sentinel is named in the job's steps, and the viewer
token, an unknown cluster and an unknown field are refused without a job."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import VIEWER_TOKEN, Hapanel, log, parse_kv, run_test  # noqa: E402

NAME = "mymaster"
PATH = "/api/v1/clusters/%s/sentinels/reset" % NAME


def test(env):
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    hp = env.hapanel(topo)
    master = topo.current_master()
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 10)

    r = hp.post(PATH, None, token=VIEWER_TOKEN)
    assert r.status == 403, "viewer -> %r" % r
    r = hp.post("/api/v1/clusters/nosuchcluster/sentinels/reset", None)
    assert r.status == 404, "unknown cluster -> %r" % r
    r = hp.post(PATH, {"bogus": 1})
    assert r.status == 400, "unknown field -> %r" % r
    assert hp.jobs() == [], hp.jobs()

    t0 = time.monotonic()
    r = hp.post(PATH, {"reason": "test reset"})
    assert r.status == 202, "POST sentinels/reset -> %r" % r
    jb = hp.wait_job(r.body["job_id"], 90, 0.5)
    steps = Hapanel.steps_text(jb)
    log("reset job %s after %.1f s:\n%s" % (jb["state"], time.monotonic() - t0, steps))
    assert jb["state"] == "succeeded", "reset failed: %s\n%s" % (jb.get("error"), steps)
    assert jb.get("kind") == "sentinel-reset", jb
    for s in topo.sentinel_addrs:
        assert s in steps, "the steps do not mention Sentinel %s:\n%s" % (s, steps)
        with topo.client(s) as c:
            mm = parse_kv(c.cmd("SENTINEL", "MASTER", NAME))
            got = c.cmd("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME)
        log("Sentinel %s: num-slaves %s num-other-sentinels %s master %s" % (
            s, mm.get("num-slaves"), mm.get("num-other-sentinels"), got))
        assert int(mm["num-slaves"]) == 2, "Sentinel %s num-slaves %s" % (s, mm["num-slaves"])
        assert int(mm["num-other-sentinels"]) == 2, \
            "Sentinel %s num-other-sentinels %s" % (s, mm["num-other-sentinels"])
        assert "%s:%s" % (got[0], got[1]) == master, (s, got)
    assert len(hp.jobs()) == 1, hp.jobs()
    assert hp.failovers() == [], hp.failovers()


if __name__ == "__main__":
    run_test(test)
