#!/usr/bin/env python3
"""it_resync: POST /clusters/{name}/nodes/{addr}/resync.

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms, failover-timeout
3000 ms), 20,000 keys made on the master by DEBUG POPULATE, which is not
replicated: only a full sync copies them to a replica.
  - full: {"full": true} on a replica -> 202 -> succeeded; the master's
    sync_full (INFO stats) grew by at least 1; the replica is back in sync
    (link up, following the master) and now has the 20,000 keys it did not
    have before; it was never seen as a master meanwhile (INFO polled every
    5 ms);
  - plain: a replica pointed at the other replica (REPLICAOF <other>: chained
    replication) -> {} -> succeeded, and it replicates from the master again
    (master_host:master_port == the master, link up);
  - the master -> 412; an unknown node, an unknown cluster -> 404; an unknown
    field -> 400; the viewer token -> 403; none of them creates a job."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import VIEWER_TOKEN, Hapanel, RoleWatcher, log, redis_info, run_test, wait_for  # noqa: E402

NAME = "mymaster"
KEYS = 20000


def path(node, cluster=NAME):
    return "/api/v1/clusters/%s/nodes/%s/resync" % (cluster, node)


def follows(topo, node, master):
    i = redis_info(node, topo.password, "replication")
    return (i.get("role") == "slave" and "%s:%s" % (i.get("master_host"), i.get("master_port")) == master
            and i.get("master_link_status") == "up" and i.get("master_sync_in_progress") == 0)


def test(env):
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    hp = env.hapanel(topo)
    master = topo.current_master()
    r1, r2 = topo.initial_replicas()
    with topo.client(master) as c:
        c.cmd("DEBUG", "POPULATE", KEYS, "rs")
    hp.wait_nodes_up([master, r1, r2], NAME, 10)

    # refusals first: no job may come of them
    r = hp.post(path(master), {"full": True})
    assert r.status == 412, "resync of the master -> %r" % r
    assert master in r.body["error"]["message"], r.body
    for node in ("127.0.0.1:1", "nosuchhost:6379"):
        r = hp.post(path(node), {})
        assert r.status == 404, "resync of unknown node %s -> %r" % (node, r)
    r = hp.post(path(r1, "nosuchcluster"), {})
    assert r.status == 404, "resync in an unknown cluster -> %r" % r
    r = hp.post(path(r1), {"full": True, "bogus": 1})
    assert r.status == 400, "unknown field -> %r" % r
    r = hp.post(path(r1), {"full": "yes"})
    assert r.status == 400, "full: \"yes\" -> %r" % r
    r = hp.post(path(r1), {"full": True}, token=VIEWER_TOKEN)
    assert r.status == 403, "viewer -> %r" % r
    assert hp.jobs() == [], "a refused resync created a job: %s" % hp.jobs()
    log("412 / 404 / 400 / 403 refusals created no job")

    # full resync of r1
    with topo.client(r1) as c:
        n0 = c.cmd("DBSIZE")
    assert n0 == 0, "%s has %d keys before the full resync (DEBUG POPULATE replicated?)" % (r1, n0)
    full0 = redis_info(master, topo.password, "stats")["sync_full"]
    watch = RoleWatcher(topo, [r1], interval=0.005).start()
    env.on_cleanup(watch.stop)
    r = hp.post(path(r1), {"full": True, "reason": "test full"})
    assert r.status == 202, "full resync -> %r" % r
    jb = hp.wait_job(r.body["job_id"], 60)
    watch.stop()
    steps = Hapanel.steps_text(jb)
    log("full resync job: %s\n%s" % (jb["state"], steps))
    assert jb["state"] == "succeeded", "full resync failed: %s\n%s" % (jb.get("error"), steps)
    assert jb.get("kind") == "resync", jb
    res = jb.get("result") or {}
    assert res.get("node") == r1 and res.get("master") == master and res.get("full") is True, res
    full1 = redis_info(master, topo.password, "stats")["sync_full"]
    log("master sync_full %d -> %d" % (full0, full1))
    assert full1 >= full0 + 1, "sync_full of the master did not grow: %d -> %d" % (full0, full1)
    wait_for(lambda: follows(topo, r1, master), 10, 0.1, msg="%s follows %s, link up" % (r1, master))
    roles = [x[2] for x in watch.changes]
    assert "master" not in roles, "%s was seen as a master during the full resync: %s" % (
        r1, watch.changes)
    assert watch.polls > 5, watch.polls
    with topo.client(r1) as c:
        n = c.cmd("DBSIZE")
    assert n == KEYS, "%s has %d keys after the full resync, want %d" % (r1, n, KEYS)

    # plain resync of r2 after pointing it at r1 (chained replication)
    with topo.client(r2) as c:
        h, p = r1.rsplit(":", 1)
        c.cmd("REPLICAOF", h, p)
    wait_for(lambda: follows(topo, r2, r1), 10, 0.05, msg="%s replicates from %s" % (r2, r1))
    wait_for(lambda: (hp.node(hp.cluster(NAME), r2) or {}).get("master_addr") == r1, 10, 0.1,
             msg="API shows %s following %s" % (r2, r1))
    still = follows(topo, r2, r1)
    r = hp.post(path(r2), {"reason": "test plain"})
    assert r.status == 202, "plain resync -> %r" % r
    jb = hp.wait_job(r.body["job_id"], 60)
    steps = Hapanel.steps_text(jb)
    log("plain resync job (%s pointed at %s when posted: %s): %s\n%s" % (
        r2, r1, still, jb["state"], steps))
    assert jb["state"] == "succeeded", "plain resync failed: %s\n%s" % (jb.get("error"), steps)
    res = jb.get("result") or {}
    assert res.get("node") == r2 and res.get("master") == master and res.get("full") is False, res
    assert "REPLICAOF %s" % master in steps, steps
    assert follows(topo, r2, master), "%s does not replicate from the master %s: %s" % (
        r2, master, redis_info(r2, topo.password, "replication"))
    topo.wait_in_sync(master, 10)
    assert topo.agreed_master(5) == master
    assert len(hp.jobs()) == 2, hp.jobs()
    assert hp.failovers() == [], hp.failovers()


if __name__ == "__main__":
    run_test(test)
