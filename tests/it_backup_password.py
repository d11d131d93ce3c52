#!/usr/bin/env python3
"""it_backup_password: backups of a password-protected cluster.

1 master + 1 replica + 3 Sentinels, all with requirepass / masterauth /
sentinel auth-pass (harness Topology(password=...)); hapanel gets
REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD from the harness, and
HAPANEL_BACKUP_DIR points at a directory of the test's own (not
DATA_DIR/backups). 50,000 keys by pipelined writes on the master, replica in
sync, then:
  - POST .../nodes/<replica>/bgsave -> succeeds (AUTH, then BGSAVE);
  - POST backups {} -> succeeded from the replica (AUTH on the replication
    connection), verified; the file is in HAPANEL_BACKUP_DIR and nothing is in
    DATA_DIR/backups; the download's sha256 and size match the catalogue;
    redis-check-rdb OK; loaded into a fresh redis-server it has the master's
    DBSIZE and 100 sampled keys are identical;
  - POST backups {"node": <the master>} -> succeeds;
  - a replica killed (node-down events) and a backup from a node that is then
    refused -> the failed paths have run too;
  - the password appears nowhere: not in hapanel's log, not in any job's JSON
    (GET /api/v1/jobs and /api/v1/jobs/{id}), not in GET /api/v1/events, not in
    the backup list, the cluster JSON or /metrics, and not in the backup file's
    name."""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Hapanel, Redis, backup_download, backup_list, fill_varied, key_state,  # noqa: E402
                     log, redis_check_rdb, run_test, start_redis_from_rdb, wait_for)

NAME = "mymaster"
KEYS = 50000
PASSWORD = "Pw-9d41c7e2-hunter2"


def test(env):
    topo = env.topology(replicas=1, sentinels=3, password=PASSWORD)
    master = topo.initial_master()
    (replica,) = topo.initial_replicas()
    with topo.client(master, timeout=30) as c:
        fill_varied(c, KEYS, prefix="p:")
        assert c.cmd("DBSIZE") == KEYS
    topo.wait_in_sync(master, 60)

    bdir = os.path.join(env.tmpdir, "my-backups")
    hp = env.hapanel(topo, env_extra={"HAPANEL_BACKUP_DIR": bdir, "HAPANEL_BACKUP_DAILY_AT": "",
                                      "HAPANEL_BACKUP_INTERVAL_MINUTES": "0"})
    env_seen = hp.env()
    assert env_seen.get("REDIS_PASSWORD") == PASSWORD and env_seen.get("REDIS_SENTINEL_PASSWORD") == PASSWORD, \
        "the harness does not pass the topology's password to hapanel"
    hp.wait_nodes_up([master, replica], NAME, 15)

    # BGSAVE authenticates too. First thing, on a replica that has not saved
    # yet: a BGSAVE that ends in the same second as the node's previous save
    # is never seen to end (it_backup_bgsave.py), which is not this test's
    # subject.
    r = hp.post("/api/v1/clusters/%s/nodes/%s/bgsave" % (NAME, replica), {})
    assert r.status == 202, r
    jg = hp.wait_job(r.body["job_id"], 60, 0.05)
    assert jg["state"] == "succeeded", "bgsave: %s\n%s" % (jg.get("error"), Hapanel.steps_text(jg))

    r = hp.post("/api/v1/clusters/%s/backups" % NAME, {"reason": "password test"})
    assert r.status == 202, "POST backups -> %r" % r
    jb = hp.wait_job(r.body["job_id"], 90, 0.05)
    steps = Hapanel.steps_text(jb)
    log("backup job %s %s:\n%s" % (jb["id"], jb["state"], steps))
    assert jb["state"] == "succeeded", "backup of a password-protected cluster failed: %s\n%s" % (
        jb.get("error"), steps)
    res = jb["result"]
    assert res["node"] == replica and res["verified"] is True, res

    files = sorted(os.listdir(bdir))
    assert len(files) == 1 and files[0].endswith("-%d.rdb" % jb["id"]), "HAPANEL_BACKUP_DIR has %s" % files
    default_dir = os.path.join(hp.data_dir, "backups")
    assert not os.path.exists(default_dir) or not os.listdir(default_dir), \
        "DATA_DIR/backups used although HAPANEL_BACKUP_DIR is set: %s" % os.listdir(default_dir)

    row = backup_list(hp)[0]
    assert row["id"] == res["backup_id"] and row["verified"] is True, row
    dl = os.path.join(env.tmpdir, "dl.rdb")
    st, _, size, sha = backup_download(hp, row["download"], dl)
    assert st == 200 and size == row["size_bytes"] and sha == row["sha256"], (st, size, sha, row)
    rc, out = redis_check_rdb(dl)
    assert rc == 0 and "RDB looks OK" in out, "redis-check-rdb: exit %d\n%s" % (rc, out[-1500:])
    p = start_redis_from_rdb(env, dl)
    rng = random.Random(17)
    with topo.client(master, timeout=10) as m, Redis("127.0.0.1", p.port, timeout=10) as c:
        assert c.cmd("DBSIZE") == m.cmd("DBSIZE") == KEYS, (c.cmd("DBSIZE"), m.cmd("DBSIZE"))
        for i in sorted(rng.sample(range(KEYS), 100)) + [0, 1, 2, 3, 5]:
            k = "p:%d" % i
            a, b = key_state(m, k), key_state(c, k)
            assert a == b, "key %s: master %r, restored %r" % (k, str(a)[:200], str(b)[:200])
    p.signal(9)
    log("backup %s: %d bytes, downloaded, redis-check-rdb OK, restored DBSIZE %d, sample identical" % (
        row["id"], size, KEYS))

    # the master by name authenticates too
    r = hp.post("/api/v1/clusters/%s/backups" % NAME, {"node": master})
    assert r.status == 202, r
    jm = hp.wait_job(r.body["job_id"], 90, 0.05)
    assert jm["state"] == "succeeded" and jm["result"]["node"] == master, (jm.get("error"), Hapanel.steps_text(jm))

    # failure paths too: the replica dies; a backup from it is refused once down
    topo.kill(replica)
    wait_for(lambda: (Hapanel.node(hp.cluster(NAME), replica) or {}).get("up") is False, 10, 0.1,
             msg="killed replica shown down")
    r = hp.post("/api/v1/clusters/%s/backups" % NAME, {"node": replica})
    assert r.status == 412, r
    time.sleep(1.5)  # let the node-down / +sdown events be stored

    # the password appears nowhere
    where = {}
    where["hapanel log"] = hp.log_text()
    for j in hp.jobs(limit=100):
        where["GET /api/v1/jobs/%s" % j["id"]] = hp.get("/api/v1/jobs/%s" % j["id"]).text
    where["GET /api/v1/jobs"] = hp.get("/api/v1/jobs").text
    ev = hp.get("/api/v1/events?limit=1000")
    assert ev.status == 200 and ev.body.get("events"), "no events stored: %r" % ev
    where["GET /api/v1/events"] = ev.text
    where["GET backups"] = hp.get("/api/v1/clusters/%s/backups" % NAME).text
    where["GET cluster"] = hp.get("/api/v1/clusters/%s" % NAME).text
    where["GET /metrics"] = hp.get("/metrics").text
    where["backup file names"] = " ".join(os.listdir(bdir))
    leaks = [k for k, v in where.items() if PASSWORD in v]
    assert not leaks, "the Redis password appears in: %s" % leaks
    assert len(where) >= 8 and "node-down" in where["GET /api/v1/events"], sorted(where)
    log("password absent from the log, %d job bodies, %d events, backups, cluster, metrics" % (
        len([k for k in where if k.startswith("GET /api/v1/jobs/")]), len(ev.body["events"])))


if __name__ == "__main__":
    os.environ.setdefault("HAPANEL_IT_LIMIT", "150")
    run_test(test)
