#!/usr/bin/env python3
"""it_backup_restore: the backups' key figures (the RDB walker) and the
restore check (POST /api/v1/backups/{id}/verify-restore), issue 14 item 7.

1 master + 1 replica + 1 Sentinel. The master gets 6,000 keys of every kind
by real pipelined writes (harness.fill_varied: strings, hashes, lists, sets,
sorted sets, some with an hour's TTL), plus a stream with a consumer group
and a pending entry, an intset, a 3,000-item list (several quicklist nodes),
a 200-member sorted set (skiplist encoding), keys in db 3, and 20 keys with
a 5 s TTL. Then:
  - a backup: GET backups shows keys and expires equal to the master's INFO
    keyspace (summed over its databases) at that quiet moment;
  - verify-restore -> 202, the job succeeds once the 5 s keys have expired
    (so the scratch server drops them at load: dbsize == keys minus the 5 s
    keys the backup holds, inside [keys - expires, keys]); GET backups: restore.ok true, checked_at,
    detail; the dashboard's backup row says "restorable, checked"; the
    events have backup-restore-verified; no redis-server runs with the
    job's scratch dir and its port refuses connections; the dir is gone;
  - a backup older than the figures (keys, expires, sample set to NULL in
    hapanel.db while hapanel is stopped): verify-restore walks it first
    (its step says "key figures") and passes; the figures are back;
  - a tampered catalogue (keys + 1000 in hapanel.db while stopped): failed,
    the reason names the keys loaded; restore.ok false; the dashboard says
    "restore check failed:"; backup-restore-failed in the events;
  - a second backup whose file is replaced by another valid RDB (10 keys,
    written by a standalone redis-server): failed with the reason;
  - the scratch server's port taken by another Redis (the source master,
    HAPANEL_FAILPOINT=restore-port=N for the first attempt): the server
    answering there is recognised as not the scratch server (INFO
    process_id), another port is tried, and the replaced file is what gets
    checked (failed: 10 keys), not the master;
  - a backup whose file uses 20 databases (of 32; the sample names 16):
    the scratch server gets enough databases and the check passes;
  - a crash of hapanel once the scratch server loaded the file
    (HAPANEL_FAILPOINT=restore-loaded): no scratch server survives it (it
    dies with hapanel; found by its working directory, since redis-server
    rewrites its command line); a real redis-server working in the same dir
    and a process naming the dir (as survivors would) are killed by the
    recovery at the restart; the job is failed "interrupted by a restart"
    and the scratch dir is gone;
  - a scratch server that answers LOADING for ever and ignores SIGTERM (a
    stand-in script as [restore] redis_server, load_timeout_s 2): failed at
    the timeout, SIGKILLed, dir gone; it inherited no descriptor but 0-2;
  - refusals, nothing started: unknown id, id 0, id "abc" -> 404; a bad
    body ({"reason": 5}, unknown field) -> 400; viewer -> 403; with
    HAPANEL_RESTORE_REDIS_SERVER naming no installed program -> 412 with a
    message saying redis-server is not installed."""

import os
import socket
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (REDIS_SERVER, VIEWER_TOKEN, Hapanel, Redis, backup_list, fill_varied,  # noqa: E402
                     free_port, log, run_test, spawn, wait_for)

NAME = "mymaster"
KEYS = 6000
SHORT = 20  # keys with a 5 s TTL: in the backup, expired by the time it is loaded
ENV = {"HAPANEL_BACKUP_DAILY_AT": "", "HAPANEL_BACKUP_INTERVAL_MINUTES": "0",
       "HAPANEL_BACKUP_KEEP_LAST": "0"}


# Answers -LOADING to every command on --port, ignores SIGTERM.
FAKE_LOADING_SERVER = """#!%s
import os, signal, socket, sys, threading
fds = []  # what hapanel let it inherit (the listing's own descriptor is gone by the readlink)
for fd in sorted(int(f) for f in os.listdir("/proc/self/fd")):
    try:
        fds.append("%%d:%%s" %% (fd, os.readlink("/proc/self/fd/%%d" %% fd)))
    except OSError:
        pass
with open(os.path.join(os.path.dirname(sys.argv[0]), "fake-fds"), "w") as f:
    f.write(" ".join(fds))
signal.signal(signal.SIGTERM, signal.SIG_IGN)
port = int(sys.argv[sys.argv.index("--port") + 1])
os.chdir(sys.argv[sys.argv.index("--dir") + 1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(8)
def serve(c):
    while c.recv(4096):
        c.sendall(b"-LOADING Redis is loading the dataset in memory\\r\\n")
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
"""


def keyspace(c):
    """(keys, expires) summed over the databases of INFO keyspace."""
    keys = expires = 0
    for line in c.cmd("INFO", "keyspace").splitlines():
        if line.startswith("db") and ":" in line:
            kv = dict(p.split("=") for p in line.split(":", 1)[1].split(","))
            keys += int(kv["keys"])
            expires += int(kv["expires"])
    return keys, expires


def fill_extra(c):
    c.cmd("XADD", "ev:stream", "*", "a", "1")
    c.cmd("XADD", "ev:stream", "*", "b", "2")
    c.cmd("XGROUP", "CREATE", "ev:stream", "grp", "0")
    c.cmd("XREADGROUP", "GROUP", "grp", "alice", "COUNT", "1", "STREAMS", "ev:stream", ">")
    c.cmd("SADD", "ints", *range(100))
    c.cmd("RPUSH", "biglist", *["item-%d-%s" % (i, "x" * 40) for i in range(3000)])
    args = []
    for i in range(200):
        args += [i, "member-%d" % i]
    c.cmd("ZADD", "bigzset", *args)
    c.cmd("SELECT", 3)
    for i in range(50):
        c.cmd("SET", "db3:%d" % i, "v%d" % i)
    c.cmd("HSET", "db3:hash", "f", "v")
    c.cmd("SELECT", 0)
    for i in range(SHORT):
        c.cmd("SET", "short:%d" % i, "v", "PX", 5000)


def take_backup(hp):
    r = hp.post("/api/v1/clusters/%s/backups" % NAME, {})
    assert r.status == 202, "POST backups -> %r" % r
    jb = hp.wait_job(r.body["job_id"], 60, 0.05)
    assert jb["state"] == "succeeded", "backup job failed: %s\n%s" % (jb.get("error"), Hapanel.steps_text(jb))
    return jb


def verify(hp, bid, want):
    r = hp.post("/api/v1/backups/%d/verify-restore" % bid, {"reason": "it_backup_restore"})
    assert r.status == 202, "verify-restore -> %r" % r
    jb = hp.wait_job(r.body["job_id"], 60, 0.05)
    assert jb["state"] == want, "verify-restore job %s is %s, not %s: %s\n%s" % (
        jb["id"], jb["state"], want, jb.get("error"), Hapanel.steps_text(jb))
    return jb


def row_of(hp, bid):
    rows = [b for b in backup_list(hp) if b["id"] == bid]
    assert rows, "backup %s not listed" % bid
    return rows[0]


def db_exec(hp, sql, args=()):
    assert not hp.running(), "hapanel must be stopped to edit its database"
    con = sqlite3.connect(os.path.join(hp.data_dir, "hapanel.db"), timeout=5)
    try:
        n = con.execute(sql, args).rowcount
        con.commit()
        return n
    finally:
        con.close()


def scratch_servers(data_dir):
    """pids of processes whose command line names a dir under data_dir, or
    whose working directory is one: a running redis-server rewrites its
    command line ("redis-server 127.0.0.1:port", no --dir left) but works
    in its --dir."""
    out = []
    real = os.path.realpath(data_dir)
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                args = f.read().split(b"\0")
            cwd = os.readlink("/proc/%s/cwd" % p)
        except OSError:
            continue
        if any(a.startswith(data_dir.encode() + b"/restore-") for a in args) or \
                cwd.startswith(real + "/restore-"):
            out.append(int(p))
    return out


def restore_dirs(data_dir):
    return [d for d in os.listdir(data_dir) if d.startswith("restore-")]


def port_of(jb):
    """The port of the last scratch server the job started."""
    port = None
    for s in jb.get("steps") or []:
        msg = s.get("message") or ""
        if "started on 127.0.0.1:" in msg:
            port = int(msg.split("127.0.0.1:")[1].split()[0])
    assert port, "no step names the scratch server's port:\n%s" % Hapanel.steps_text(jb)
    return port


def check_clean(hp, jb):
    assert not scratch_servers(hp.data_dir), "scratch redis-server left running: %s" % scratch_servers(hp.data_dir)
    assert not restore_dirs(hp.data_dir), "scratch dir left: %s" % restore_dirs(hp.data_dir)
    port = port_of(jb)
    s = socket.socket()
    try:
        s.settimeout(1)
        assert s.connect_ex(("127.0.0.1", port)) != 0, "something still listens on %d" % port
    finally:
        s.close()


def events_of(hp, typ):
    return [e for e in hp.events(cluster=NAME, limit=200).get("events") or [] if e.get("type") == typ]


def other_rdb(env, dbs=0):
    """A valid RDB written by a standalone redis-server: 10 keys, or with
    dbs, a key in each of databases 0 .. dbs-1 (a server with 32)."""
    d = os.path.join(env.tmpdir, "other%d" % dbs)
    os.makedirs(d)
    port = free_port()
    p = spawn([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--dbfilename",
               "other.rdb", "--save", "", "--appendonly", "no", "--daemonize", "no", "--databases", "32"],
              os.path.join(d, "out.log"))
    try:
        def up():
            try:
                with Redis("127.0.0.1", port, timeout=1) as c:
                    return c.cmd("PING") == "PONG"
            except OSError:
                return False
        wait_for(up, 10, msg="the standalone redis-server did not start")
        with Redis("127.0.0.1", port, timeout=5) as c:
            for i in range(10 if not dbs else 0):
                c.cmd("SET", "other:%d" % i, "v")
            for i in range(dbs):
                c.cmd("SELECT", i)
                c.cmd("SET", "in-db:%d" % i, "v")
            c.cmd("SAVE")
    finally:
        p.kill()
        p.wait()
    return os.path.join(d, "other.rdb")


def test(env):
    topo = env.topology(replicas=1, sentinels=1, quorum=1)
    master = topo.initial_master()
    with topo.client(master, timeout=30) as c:
        fill_varied(c, KEYS)
        fill_extra(c)
        t_short = time.monotonic()  # the 5 s keys were just written
        assert c.cmd("EXISTS", *["short:%d" % i for i in range(SHORT)]) == SHORT
    topo.wait_in_sync(master, 30)
    hp = env.hapanel(topo, env_extra=ENV)
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 15)

    # --- the key figures of a fresh backup, against the source
    jb = take_backup(hp)
    with topo.client(master) as c:
        src_keys, src_expires = keyspace(c)
        # still there after the backup: in it, and expired by the check
        present = c.cmd("EXISTS", *["short:%d" % i for i in range(SHORT)])
    bid = jb["result"]["backup_id"]
    row = row_of(hp, bid)
    log("backup %d: keys %s expires %s; master %d keys, %d expires" % (
        bid, row.get("keys"), row.get("expires"), src_keys, src_expires))
    assert row.get("keys") == src_keys and row.get("expires") == src_expires, \
        "catalogue figures %s/%s != master's INFO keyspace %d/%d" % (
            row.get("keys"), row.get("expires"), src_keys, src_expires)
    assert row.get("walk_error") is None and row.get("restore") is None, row
    assert "key figures of backup %d: %d keys" % (bid, src_keys) in Hapanel.steps_text(jb), Hapanel.steps_text(jb)

    # --- refusals: nothing started
    jobs_before = len(hp.jobs(limit=1000))
    for path, body, token, want in (
            ("/api/v1/backups/999999/verify-restore", {}, None, 404),
            ("/api/v1/backups/0/verify-restore", {}, None, 404),
            ("/api/v1/backups/abc/verify-restore", {}, None, 404),
            ("/api/v1/backups/%d/verify-restore" % bid, {"reason": 5}, None, 400),
            ("/api/v1/backups/%d/verify-restore" % bid, {"bogus": 1}, None, 400),
            ("/api/v1/backups/%d/verify-restore" % bid, {}, VIEWER_TOKEN, 403)):
        r = hp.post(path, body, token=token) if token else hp.post(path, body)
        assert r.status == want, "%s %s -> %r, want %d" % (path, body, r, want)
        assert "error" in (r.body or {}), r
    assert len(hp.jobs(limit=1000)) == jobs_before, "a refused request started a job"

    # --- the check: passes once the short-TTL keys are gone
    time.sleep(max(0.0, 5.5 - (time.monotonic() - t_short)))
    jb = verify(hp, bid, "succeeded")
    res = jb["result"]
    want = src_keys - present
    assert res.get("ok") is True and res.get("dbsize") == want, \
        "dbsize %s, want %d (the %d short keys dropped at load): %s" % (res.get("dbsize"), want, present, res)
    assert res.get("sample_checked", 0) >= 2, res
    row = row_of(hp, bid)
    rs = row.get("restore") or {}
    assert rs.get("ok") is True and rs.get("checked_at", 0) >= jb["started_at"] and rs.get("detail"), row
    page = hp.get("/ui/clusters").text
    assert "restorable, checked" in page, "dashboard lacks the restore check"
    assert 'data-act="verify-restore"' in page and 'data-needs="operator"' in page
    assert events_of(hp, "backup-restore-verified"), "no backup-restore-verified event"
    check_clean(hp, jb)
    log("restore check ok: %s" % res.get("detail"))

    # --- a backup older than the figures: walked at verify time
    hp.stop()
    assert db_exec(hp, "UPDATE backups SET keys = NULL, expires = NULL, sample = NULL, "
                       "restore_checked_at = NULL WHERE id = ?", (bid,)) == 1
    hp.start()
    assert row_of(hp, bid).get("keys") is None
    jb = verify(hp, bid, "succeeded")
    assert "key figures of backup %d" % bid in Hapanel.steps_text(jb), Hapanel.steps_text(jb)
    assert row_of(hp, bid).get("keys") == src_keys

    # --- a tampered catalogue
    hp.stop()
    assert db_exec(hp, "UPDATE backups SET keys = keys + 1000 WHERE id = ?", (bid,)) == 1
    hp.start()
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 15)  # a backup is taken below
    jb = verify(hp, bid, "failed")
    assert "the scratch server loaded %d keys" % want in (jb.get("error") or ""), jb.get("error")
    rs = row_of(hp, bid).get("restore") or {}
    assert rs.get("ok") is False and "loaded" in rs.get("detail", ""), rs
    page = hp.get("/ui/clusters").text
    assert "restore check failed: the scratch server loaded" in page, "dashboard lacks the failure"
    assert events_of(hp, "backup-restore-failed"), "no backup-restore-failed event"
    check_clean(hp, jb)

    # --- a backup whose file was replaced by another valid RDB
    jb2 = take_backup(hp)
    bid2 = jb2["result"]["backup_id"]
    path2 = [os.path.join(hp.data_dir, "backups", f) for f in os.listdir(os.path.join(hp.data_dir, "backups"))
             if f.endswith("-%d.rdb" % jb2["id"])][0]
    with open(other_rdb(env), "rb") as f:
        data = f.read()
    with open(path2, "wb") as f:
        f.write(data)
    jb = verify(hp, bid2, "failed")
    err = jb.get("error") or ""
    assert "the scratch server loaded 10 keys" in err, err
    check_clean(hp, jb)
    log("replaced file: %s" % err)

    # --- the scratch server's port taken between its choice and the bind
    # (HAPANEL_FAILPOINT=restore-port=N: the first attempt uses N, here the
    # source master's port): the server answering there is not the scratch
    # server and is not what gets checked (the master holds the 6,000 keys
    # the catalogue expects; the file holds 10)
    hp.stop()
    mport = int(master.rsplit(":", 1)[1])
    hp.env_extra["HAPANEL_FAILPOINT"] = "restore-port=%d" % mport
    hp.start()
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 15)
    jb = verify(hp, bid2, "failed")
    steps = Hapanel.steps_text(jb)
    assert "the scratch server loaded 10 keys" in (jb.get("error") or ""), (jb.get("error"), steps)
    assert "127.0.0.1:%d is another server's" % mport in steps, steps
    assert port_of(jb) != mport, steps
    check_clean(hp, jb)
    with topo.client(master) as c:
        assert c.cmd("PING") == "PONG", "the master was touched"
    log("port taken: %s" % [ln for ln in steps.splitlines() if "another server" in ln])

    # --- a backup of a server with more databases than the sample can name
    # (20 in use, of 32): the scratch server gets enough of them
    jb3 = take_backup(hp)
    bid3 = jb3["result"]["backup_id"]
    path3 = [os.path.join(hp.data_dir, "backups", f) for f in os.listdir(os.path.join(hp.data_dir, "backups"))
             if f.endswith("-%d.rdb" % jb3["id"])][0]
    hp.stop()
    del hp.env_extra["HAPANEL_FAILPOINT"]
    with open(other_rdb(env, dbs=20), "rb") as f:
        data = f.read()
    with open(path3, "wb") as f:
        f.write(data)
    assert db_exec(hp, "UPDATE backups SET keys = NULL, expires = NULL, sample = NULL WHERE id = ?", (bid3,)) == 1
    hp.start()
    jb = verify(hp, bid3, "succeeded")
    assert jb["result"].get("dbsize") == 20, jb["result"]
    check_clean(hp, jb)
    log("20 databases: %s" % jb["result"].get("detail"))

    # --- a crash once the scratch server loaded the file
    hp.stop()
    hp.env_extra["HAPANEL_FAILPOINT"] = "restore-loaded"
    hp.start()
    r = hp.post("/api/v1/backups/%d/verify-restore" % bid2, {})
    assert r.status == 202, r
    job_id = r.body["job_id"]
    rc = hp.wait_exit(60)
    assert rc == 70, "hapanel did not die at the failpoint (rc %s)" % rc
    assert restore_dirs(hp.data_dir), "the crash left no scratch dir (the failpoint came too early?)"
    wait_for(lambda: not scratch_servers(hp.data_dir), 5,
             msg="a scratch redis-server survived hapanel's crash")
    # The scratch server dies with hapanel (parent-death signal). One that
    # survived is killed by the recovery: a real redis-server working in the
    # same dir (its command line rewritten, as a scratch server's is), and a
    # process naming the dir as an argument.
    sdir = os.path.join(hp.data_dir, restore_dirs(hp.data_dir)[0])
    stand_in = spawn([sys.executable, "-c", "import time; time.sleep(60)", "--dir", sdir],
                     os.path.join(env.tmpdir, "stand-in.log"))
    sport = free_port()
    survivor = spawn([REDIS_SERVER, "--port", str(sport), "--bind", "127.0.0.1", "--dir", sdir,
                      "--dbfilename", "none.rdb", "--save", "", "--appendonly", "no", "--daemonize", "no"],
                     os.path.join(env.tmpdir, "survivor.log"))
    env.on_cleanup(lambda: survivor.poll() is None and (survivor.kill(), survivor.wait()))
    def survivor_up():
        try:
            with Redis("127.0.0.1", sport, timeout=1) as c:
                return c.cmd("PING") == "PONG"
        except OSError:
            return False
    wait_for(survivor_up, 10, msg="the stand-in redis-server did not start in %s" % sdir)
    assert survivor.pid in scratch_servers(hp.data_dir), "scratch_servers() does not see %d" % survivor.pid
    with open("/proc/%d/cmdline" % survivor.pid, "rb") as f:
        log("a surviving scratch server's command line: %r" % f.read().rstrip(b"\0"))
    del hp.env_extra["HAPANEL_FAILPOINT"]
    hp.start()
    jb = hp.wait_job(job_id, 30)
    assert jb["state"] == "failed" and "interrupted by a restart" in (jb.get("error") or ""), jb
    assert "(2 left running)" in jb["error"], jb["error"]
    wait_for(lambda: stand_in.poll() is not None, 5, msg="the recovery did not stop the stand-in")
    wait_for(lambda: survivor.poll() is not None, 5,
             msg="the recovery did not stop a redis-server left in the scratch dir")
    wait_for(lambda: not restore_dirs(hp.data_dir), 5, msg="the scratch dir outlived the recovery")

    # --- a scratch server that never finishes loading and ignores SIGTERM
    # (a stand-in for redis-server answering LOADING to everything): the
    # check fails at [restore] load_timeout_s, the server is SIGKILLed after
    # the SIGTERM grace, its dir removed
    fake = os.path.join(env.tmpdir, "fake-redis-server")
    with open(fake, "w") as f:
        f.write(FAKE_LOADING_SERVER % sys.executable)
    os.chmod(fake, 0o755)
    hp.stop()
    hp.env_extra.update({"HAPANEL_RESTORE_REDIS_SERVER": fake, "HAPANEL_RESTORE_LOAD_TIMEOUT_S": "2"})
    hp.start()
    t0 = time.monotonic()
    jb = verify(hp, bid, "failed")
    took = time.monotonic() - t0
    steps = Hapanel.steps_text(jb)
    assert "did not load the file within 2 s" in (jb.get("error") or ""), (jb.get("error"), steps)
    assert "still loading" in steps and "did not stop on SIGTERM: killed" in steps, steps
    fpid = int(steps.split("(pid ")[1].split(")")[0])
    assert not os.path.exists("/proc/%d" % fpid) or open("/proc/%d/stat" % fpid).read().split()[2] == "Z", \
        "the stand-in scratch server %d survived" % fpid
    assert not restore_dirs(hp.data_dir) and took < 20, (restore_dirs(hp.data_dir), took)
    with open(os.path.join(env.tmpdir, "fake-fds")) as f:
        fds = f.read().split()
    leaked = [x for x in fds if int(x.split(":")[0]) > 2]
    assert not leaked, "descriptors of hapanel inherited by the scratch server: %s" % fds
    log("never loading: failed after %.1f s, killed; descriptors: %s" % (took, " ".join(fds)))
    del hp.env_extra["HAPANEL_RESTORE_LOAD_TIMEOUT_S"]

    # --- no redis-server on the panel's host
    hp.stop()
    hp.env_extra["HAPANEL_RESTORE_REDIS_SERVER"] = "no-such-redis-server-here"
    hp.start()
    r = hp.post("/api/v1/backups/%d/verify-restore" % bid, {})
    assert r.status == 412 and "not installed" in r.text, r
    assert not scratch_servers(hp.data_dir) and not restore_dirs(hp.data_dir)


if __name__ == "__main__":
    run_test(test, limit=150)
