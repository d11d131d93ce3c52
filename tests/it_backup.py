#!/usr/bin/env python3
"""it_backup: POST /api/v1/clusters/{name}/backups end to end, in both
transfer forms, and what a backup file is worth.

For each form — repl-diskless-sync no (the harness default: the source sends
"$<len>" and the file) and repl-diskless-sync yes + repl-diskless-sync-delay 0
("$EOF:<mark>", length unknown) — a 1 master + 2 replicas + 3 Sentinels
topology gets 300,000 keys by real pipelined writes on the master (strings of
varied length, hashes, lists, sets, sorted sets, 10% with a TTL; see
harness.fill_varied), the replicas catch up (offsets equal), then:
  - POST backups {} -> 202; the job succeeds from a replica (the default
    source); its steps say "streaming <size> bytes" (disk) or "streaming
    (diskless, length unknown)"; its result has backup_id, node, size_bytes,
    sha256, verified true, and bytes_total (disk only);
  - GET backups lists it first, verified true, with the same size and sha256;
  - the download (viewer token) has status 200, the catalogue's size and
    sha256; without a token 401; the file in the backup dir is the same and
    no *.partial is left;
  - redis-check-rdb on it exits 0 and says OK; `hapanel --verify-rdb` exits 0;
  - a fresh redis-server loading it has the master's DBSIZE, and 200 random
    keys (plus one of each type) have the same type, value and PEXPIRETIME;
  - one byte flipped in the middle of a copy: `hapanel --verify-rdb` exits 1
    and redis-check-rdb fails too; a truncated copy: --verify-rdb exits 1.
On the disk-form topology also:
  - a second POST backups, and a POST bgsave, while the first backup runs ->
    409 (one backup-group job per cluster at a time);
  - {"node": <the master>} -> succeeds from the master; an unknown node ->
    404; an unknown cluster -> 404; a killed replica -> 412 once shown down,
    and then the default source is the other replica;
  - DELETE by the viewer -> 403; by the operator -> 200 {deleted: id}, the
    file is gone from disk and the row from the list; download and DELETE of
    it again -> 404.
Last (so that everything above is checked first): a finished job's result
must not keep a stale bytes_received (the progress counter is only refreshed
once a second while streaming) — it must equal size_bytes."""

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (OPERATOR_TOKEN, VIEWER_TOKEN, Hapanel, Redis, backup_download,  # noqa: E402
                     backup_list, file_sha256, fill_varied, hapanel_verify_rdb, key_state, log,
                     redis_check_rdb, run_test, start_redis_from_rdb, wait_for)

NAME = "mymaster"
KEYS = 300000
SAMPLE = 200
ENV = {"HAPANEL_BACKUP_DAILY_AT": "", "HAPANEL_BACKUP_INTERVAL_MINUTES": "0",
       "HAPANEL_BACKUP_KEEP_LAST": "0"}
DISKLESS_CONF = "repl-diskless-sync yes\nrepl-diskless-sync-delay 0"


def backups_path(cluster=NAME):
    return "/api/v1/clusters/%s/backups" % cluster


def rdb_files(d):
    try:
        return sorted(os.listdir(d))
    except FileNotFoundError:
        return []


def prepare(env, diskless):
    topo = env.topology(replicas=2, sentinels=3, extra_conf=DISKLESS_CONF if diskless else "")
    master = topo.initial_master()
    t0 = time.monotonic()
    with topo.client(master, timeout=30) as c:
        fill_varied(c, KEYS)
        dbsize = c.cmd("DBSIZE")
    off = topo.wait_in_sync(master, 60)
    log("%d keys written in %.1f s, replicas at offset %s" % (dbsize, time.monotonic() - t0, off))
    assert dbsize == KEYS, "master DBSIZE %s after writing %d keys" % (dbsize, KEYS)
    hp = env.hapanel(topo, env_extra=ENV)
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 15)
    return topo, hp


def check_backup_file(env, topo, hp, jb, form):
    """Catalogue, download, redis-check-rdb, --verify-rdb, load and compare,
    flipped byte. Returns the catalogue row."""
    res = jb.get("result") or {}
    bid = res.get("backup_id")
    rows = backup_list(hp)
    assert rows and rows[0].get("id") == bid, "GET backups: newest is not backup %s: %s" % (bid, rows)
    row = rows[0]
    assert row.get("verified") is True, "%s backup not verified: %s" % (form, row)
    assert row.get("size_bytes") == res.get("size_bytes") and row.get("sha256") == res.get("sha256"), \
        "catalogue %s vs job result %s" % (row, res)
    assert row.get("node") == res.get("node") and row.get("job_id") == jb["id"], (row, jb["id"])
    assert row.get("cluster") == NAME and row.get("download") == "/api/v1/backups/%s/download" % bid, row
    assert isinstance(row.get("created_at"), int) and row["created_at"] >= jb["started_at"], row

    # the file in the backup dir, and nothing half-written beside it
    bdir = os.path.join(hp.data_dir, "backups")
    files = rdb_files(bdir)
    assert not [f for f in files if f.endswith(".partial")], "partial files left: %s" % files
    mine = [f for f in files if f.endswith("-%d.rdb" % jb["id"])]
    assert len(mine) == 1, "backup dir %s has no single file for job %s: %s" % (bdir, jb["id"], files)
    on_disk = os.path.join(bdir, mine[0])
    assert mine[0].startswith(NAME + "-"), mine[0]
    assert os.path.getsize(on_disk) == row["size_bytes"], (os.path.getsize(on_disk), row)
    assert file_sha256(on_disk) == row["sha256"], "file on disk differs from the catalogue's sha256"

    # download with the viewer token
    dl = os.path.join(env.tmpdir, "dl-%s.rdb" % bid)
    st, hdrs, size, sha = backup_download(hp, row["download"], dl, token=VIEWER_TOKEN)
    assert st == 200, "download -> %s: %s" % (st, open(dl, "rb").read(300))
    assert "octet-stream" in (hdrs.get("Content-Type") or ""), dict(hdrs)
    assert size == row["size_bytes"], "downloaded %d bytes, catalogue says %d" % (size, row["size_bytes"])
    assert sha == row["sha256"], "download sha256 %s != catalogue %s" % (sha, row["sha256"])
    r = hp.get(row["download"], token=None)
    assert r.status == 401, "download without a token -> %r" % r
    log("%s: backup %s, %d bytes, sha256 %s... downloaded and matching" % (form, bid, size, sha[:16]))

    rc, out = redis_check_rdb(dl)
    assert rc == 0 and "RDB looks OK" in out, "redis-check-rdb on the backup: exit %d\n%s" % (rc, out[-2000:])
    rc, out = hapanel_verify_rdb(dl)
    assert rc == 0 and sha in out, "hapanel --verify-rdb on the backup: exit %d: %s" % (rc, out)
    assert "CRC64 good" in out, out

    # load it into a fresh redis-server and compare with the master
    p = start_redis_from_rdb(env, dl)
    rng = random.Random(jb["id"] * 7919 + KEYS)
    idx = sorted(set(rng.sample(range(KEYS), SAMPLE)) | {0, 1, 2, 3, 5, 7, 300, 1007})
    with topo.client(topo.initial_master(), timeout=10) as m, Redis("127.0.0.1", p.port, timeout=10) as c:
        want, got = m.cmd("DBSIZE"), c.cmd("DBSIZE")
        assert got == want, "the restored server has DBSIZE %s, the master %s" % (got, want)
        types = {}
        diffs = []
        for i in idx:
            k = "k:%d" % i
            a, b = key_state(m, k), key_state(c, k)
            types[a[0]] = types.get(a[0], 0) + 1
            if a != b:
                diffs.append((k, a, b))
        assert not diffs, "%d of %d sampled keys differ (key, master, restored), first: %s" % (
            len(diffs), len(idx), [(k, str(a)[:200], str(b)[:200]) for k, a, b in diffs[:3]])
        ttl = sum(1 for i in idx if m.cmd("PEXPIRETIME", "k:%d" % i) > 0)
        assert set(types) == {"string", "hash", "list", "set", "zset"} and ttl > 0, (types, ttl)
    p.signal(9)
    log("%s: restored server has DBSIZE %d; %d sampled keys identical (%s, %d with a TTL)" % (
        form, got, len(idx), types, ttl))

    # a flipped byte in the middle of a copy, and a truncated copy
    bad = os.path.join(env.tmpdir, "flipped-%s.rdb" % bid)
    with open(dl, "rb") as f:
        data = bytearray(f.read())
    mid = len(data) // 2
    data[mid] ^= 0x20
    with open(bad, "wb") as f:
        f.write(data)
    rc, out = hapanel_verify_rdb(bad)
    assert rc == 1, "--verify-rdb of a copy with byte %d flipped: exit %d (want 1): %s" % (mid, rc, out)
    rc2, out2 = redis_check_rdb(bad)
    assert rc2 != 0, "redis-check-rdb accepted a copy with byte %d flipped:\n%s" % (mid, out2[-1000:])
    log("%s: flipped byte %d: --verify-rdb exit 1 (%s); redis-check-rdb exit %d" % (
        form, mid, out.strip()[-120:], rc2))
    with open(bad, "wb") as f:
        f.write(data[:mid])
    rc, out = hapanel_verify_rdb(bad)
    assert rc == 1, "--verify-rdb of a copy cut at %d bytes: exit %d (want 1): %s" % (mid, rc, out)
    os.unlink(bad)
    os.unlink(dl)
    return row


def take_backup(hp, body, timeout=90):
    r = hp.post(backups_path(), body)
    assert r.status == 202 and isinstance(r.body.get("job_id"), int), "POST backups %s -> %r" % (body, r)
    jb = hp.wait_job(r.body["job_id"], timeout, 0.05)
    assert jb["state"] == "succeeded", "backup job %s %s: %s\n%s" % (
        jb["id"], jb["state"], jb.get("error"), Hapanel.steps_text(jb))
    assert jb["kind"] == "backup" and jb["cluster"] == NAME, jb
    return jb


def check_form(env, diskless, stale):
    form = "diskless" if diskless else "disk"
    topo, hp = prepare(env, diskless)
    replicas = topo.initial_replicas()
    master = topo.initial_master()

    r = hp.post(backups_path(), {"reason": "it_backup %s" % form})
    assert r.status == 202, "POST backups -> %r" % r
    job_id = r.body["job_id"]
    if not diskless:
        # the first job is queued or running (its source is still forking a
        # snapshot of 300,000 keys): one backup-group job per cluster at a time
        r2 = hp.post(backups_path(), {})
        r3 = hp.post("/api/v1/clusters/%s/nodes/%s/bgsave" % (NAME, master), {})
        j = hp.job(job_id)
        assert j["state"] in ("queued", "running"), \
            "the first backup ended before the second POST; cannot check 409: %s" % j
        assert r2.status == 409 and r2.body["error"]["code"] == "conflict", "second POST backups -> %r" % r2
        assert str(job_id) in r2.body["error"]["message"], r2.body
        assert r3.status == 409, "POST bgsave while a backup runs -> %r" % r3
        log("a second backup and a bgsave while job %s %s -> 409" % (job_id, j["state"]))
    jb = hp.wait_job(job_id, 90, 0.05)
    steps = Hapanel.steps_text(jb)
    log("%s backup job %s %s:\n%s" % (form, job_id, jb["state"], steps))
    assert jb["state"] == "succeeded", "backup job failed: %s\n%s" % (jb.get("error"), steps)
    assert jb["reason"] == "it_backup %s" % form and jb["actor"], jb
    res = jb.get("result") or {}
    assert res.get("node") in replicas, "default source %s is not a replica %s" % (res.get("node"), replicas)
    assert "source: %s (a replica)" % res["node"] in steps, steps
    assert res.get("verified") is True and isinstance(res.get("backup_id"), int), res
    size = res.get("size_bytes")
    assert isinstance(size, int) and size > KEYS * 20, "size_bytes %r for %d keys" % (size, KEYS)
    if diskless:
        assert "streaming (diskless, length unknown)" in steps, steps
        assert "bytes_total" not in res, "diskless: bytes_total %r where no length is known" % res
    else:
        assert "streaming %d bytes" % size in steps, steps
        assert res.get("bytes_total") == size, res
        assert "diskless" not in steps, steps
    assert "header and CRC64 verified" in steps, steps
    if res.get("bytes_received") != size:
        stale.append("%s job %s: result bytes_received %r, size_bytes %r, bytes_total %r" % (
            form, job_id, res.get("bytes_received"), size, res.get("bytes_total")))

    row = check_backup_file(env, topo, hp, jb, form)
    if diskless:
        return topo, hp

    # ---- node choice: the master by name; unknown; down
    jm = take_backup(hp, {"node": master})
    sm = Hapanel.steps_text(jm)
    assert jm["result"]["node"] == master and "source: %s (the master)" % master in sm, sm
    assert jm["params"].get("node") == master, jm["params"]
    rows = backup_list(hp)
    assert [x["id"] for x in rows] == [jm["result"]["backup_id"], row["id"]], rows
    assert rows[0]["node"] == master and rows[0]["verified"] is True, rows[0]
    log("named node = the master: backup %s from %s" % (rows[0]["id"], master))

    for body in ({"node": "127.0.0.1:1"}, {"node": "nosuchhost:6379"}):
        r = hp.post(backups_path(), body)
        assert r.status == 404, "POST backups %s -> %r" % (body, r)
    r = hp.post(backups_path("nosuchcluster"), {})
    assert r.status == 404, "POST backups of an unknown cluster -> %r" % r
    r = hp.get(backups_path("nosuchcluster"))
    assert r.status == 404, "GET backups of an unknown cluster -> %r" % r
    r = hp.post(backups_path(), {"node": master}, token=VIEWER_TOKEN)
    assert r.status == 403, "POST backups with the viewer token -> %r" % r
    r = hp.post(backups_path(), {"bogus": 1})
    assert r.status == 400, "POST backups with an unknown field -> %r" % r

    victim, other = replicas
    topo.kill(victim)

    def shown_down():
        n = Hapanel.node(hp.cluster(NAME), victim)
        return n is not None and n.get("up") is False
    wait_for(shown_down, 10, 0.1, msg="killed replica %s shown down" % victim)
    r = hp.post(backups_path(), {"node": victim})
    assert r.status == 412 and r.body["error"]["code"] == "precondition_failed", \
        "POST backups from down node %s -> %r" % (victim, r)
    jo = take_backup(hp, {})
    assert jo["result"]["node"] == other, "with %s down the default source is %s, not %s" % (
        victim, jo["result"]["node"], other)
    log("unknown node -> 404, down node -> 412; default source now %s" % other)
    njobs = len(hp.jobs(cluster=NAME))
    assert njobs == 3, "refused requests created jobs: %d jobs" % njobs

    # ---- DELETE
    rows = backup_list(hp)
    assert len(rows) == 3, rows
    target = rows[-1]  # the first backup
    bdir = os.path.join(hp.data_dir, "backups")
    fname = [f for f in rdb_files(bdir) if f.endswith("-%d.rdb" % target["job_id"])]
    assert len(fname) == 1, (target, rdb_files(bdir))
    r = hp.request("DELETE", "/api/v1/backups/%d" % target["id"], token=VIEWER_TOKEN)
    assert r.status == 403, "DELETE by the viewer -> %r" % r
    assert os.path.exists(os.path.join(bdir, fname[0])), "the viewer's DELETE removed the file"
    r = hp.request("DELETE", "/api/v1/backups/%d" % target["id"], token=OPERATOR_TOKEN)
    assert r.status == 200 and r.body.get("deleted") == target["id"], "DELETE by the operator -> %r" % r
    assert not os.path.exists(os.path.join(bdir, fname[0])), "file %s still on disk after DELETE" % fname[0]
    ids = [x["id"] for x in backup_list(hp)]
    assert target["id"] not in ids and len(ids) == 2, "after DELETE the list is %s" % ids
    assert len([f for f in rdb_files(bdir) if f.endswith(".rdb")]) == 2, rdb_files(bdir)
    r = hp.get(target["download"])
    assert r.status == 404, "download of a deleted backup -> %r" % r
    r = hp.request("DELETE", "/api/v1/backups/%d" % target["id"], token=OPERATOR_TOKEN)
    assert r.status == 404, "second DELETE -> %r" % r
    for bad in ("0", "-1", "abc", "99999"):
        r = hp.request("DELETE", "/api/v1/backups/%s" % bad, token=OPERATOR_TOKEN)
        assert r.status == 404, "DELETE /api/v1/backups/%s -> %r" % (bad, r)
    log("DELETE: viewer 403, operator 200, file and row gone, then 404")
    for j in (jm, jo):
        if j["result"].get("bytes_received") != j["result"].get("size_bytes"):
            stale.append("job %s: result bytes_received %r, size_bytes %r" % (
                j["id"], j["result"].get("bytes_received"), j["result"].get("size_bytes")))
    return topo, hp


def test(env):
    stale = []
    topo, hp = check_form(env, False, stale)
    hp.stop()
    topo.close()
    check_form(env, True, stale)
    assert not stale, ("finished backup jobs keep a stale progress counter in their result "
                       "(bytes_received != size_bytes):\n  " + "\n  ".join(stale))


if __name__ == "__main__":
    os.environ.setdefault("HAPANEL_IT_LIMIT", "170")
    run_test(test)
