"""harness.backup — what the backup tests (it_backup*.py) and
bench/backup_bench.py need around hapanel's backups: data sets written on a
master with pipelined commands (fill_varied, fill_random) and keys read back
in a form comparable across servers (key_state); a standalone redis-server
that loads an RDB file (start_redis_from_rdb); RDB checks by
redis-check-rdb and by `hapanel --verify-rdb`; file_sha256; and the backup
list and download routes of the API (backup_list, backup_download).

It makes no backups itself (hapanel does) and judges none: the tests do."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from .panel import DEFAULT_BIN, VIEWER_TOKEN, _opener
from .procs import free_port, spawn, tail
from .resp import Redis, RedisError
from .topology import REDIS_SERVER, Proc


BACKUP_TTL_MS = 3600 * 1000  # long enough that no key expires during a test


def _check_replies(replies, what):
    bad = [r for r in replies if isinstance(r, RedisError)]
    if bad:
        raise RedisError("%s: %d error replies, first: %s" % (what, len(bad), bad[0]))


def fill_varied(client, n, prefix="k:", batch=1000):
    """Writes keys prefix0 .. prefix<n-1> on client (a master) with real
    pipelined commands, `batch` per round trip (DEBUG POPULATE is not
    replicated, this is). Key i's type follows i % 100: 0 a hash (2-8
    fields), 1 a list (1-9 items), 2 a set, 3 a sorted set, else a string of
    2 .. ~210 bytes; every i % 1000 == 7 a 12 KB string; strings with i % 10 ==
    5 and hashes with i % 300 == 0 get a TTL of an hour. Values are ASCII
    (the harness client decodes replies as text) and depend on i only, so
    expected_value(i) can be recomputed. Returns n."""
    for lo in range(0, n, batch):
        cmds = []
        for i in range(lo, min(n, lo + batch)):
            k = "%s%d" % (prefix, i)
            r = i % 100
            if r == 0:
                args = ["HSET", k]
                for f in range(2 + i % 7):
                    args += ["f%d" % f, "h%d-%d" % (i, f)]
                cmds.append(args)
                if i % 300 == 0:
                    cmds.append(["PEXPIRE", k, BACKUP_TTL_MS])
            elif r == 1:
                cmds.append(["RPUSH", k] + ["l%d-%d" % (i, j) for j in range(1 + i % 9)])
            elif r == 2:
                cmds.append(["SADD", k] + ["s%d-%d" % (i, j) for j in range(1 + i % 5)])
            elif r == 3:
                args = ["ZADD", k]
                for j in range(1 + i % 6):
                    args += ["%d.5" % (j * 3 - i % 4), "z%d-%d" % (i, j)]
                cmds.append(args)
            else:
                v = ("v%d-" % i) + ("x" * 12000 if i % 1000 == 7 else "abcdefghij" * (i % 21))
                if i % 10 == 5:
                    cmds.append(["SET", k, v, "PX", BACKUP_TTL_MS])
                else:
                    cmds.append(["SET", k, v])
        _check_replies(client.pipeline(cmds), "fill_varied")
    return n


def fill_random(client, total_bytes, value_size=1 << 20, prefix="blob:", batch=16):
    """Writes ceil(total_bytes / value_size) string keys of value_size random
    (incompressible: rdbcompression gains nothing) bytes with pipelined SETs
    on client (a master). Returns the number of keys."""
    n = (total_bytes + value_size - 1) // value_size
    for lo in range(0, n, batch):
        cmds = [["SET", "%s%d" % (prefix, i), os.urandom(value_size)]
                for i in range(lo, min(n, lo + batch))]
        _check_replies(client.pipeline(cmds), "fill_random")
    return n


def key_state(client, key):
    """(type, value, PEXPIRETIME) of a key in a form comparable across servers:
    GET / HGETALL / LRANGE / SMEMBERS / ZRANGE WITHSCORES by type, sorted where
    the order is not part of the value."""
    t = client.cmd("TYPE", key)
    if t == "string":
        v = client.cmd("GET", key)
    elif t == "hash":
        flat = client.cmd("HGETALL", key)
        v = sorted(zip(flat[0::2], flat[1::2]))
    elif t == "list":
        v = client.cmd("LRANGE", key, 0, -1)
    elif t == "set":
        v = sorted(client.cmd("SMEMBERS", key))
    elif t == "zset":
        v = client.cmd("ZRANGE", key, 0, -1, "WITHSCORES")
    elif t == "none":
        v = None
    else:
        v = client.cmd("DUMP", key)
    return (t, v, client.cmd("PEXPIRETIME", key))


def start_redis_from_rdb(env, rdb_path, tries=3, timeout=60):
    """A fresh standalone redis-server (free loopback port, no persistence)
    that loads a copy of rdb_path at start; killed by env's cleanup. Waits
    until it has loaded (DBSIZE answers). Returns its Proc."""
    last = None
    for attempt in range(tries):
        port = free_port()
        d = tempfile.mkdtemp(prefix="restore-", dir=env.tmpdir)
        shutil.copyfile(rdb_path, os.path.join(d, "restore.rdb"))
        logpath = os.path.join(d, "redis.log")
        p = Proc("redis", "restore-%d" % port, port, None, logpath)
        p.popen = spawn([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                         "--dbfilename", "restore.rdb", "--save", "", "--appendonly", "no",
                         "--logfile", logpath, "--daemonize", "no"],
                        os.path.join(d, "stdout.log"))

        def halt(p=p):
            p.signal(signal.SIGKILL)
            p.popen.wait()
        env.on_cleanup(halt)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and p.alive():
            try:
                with Redis("127.0.0.1", port, timeout=2) as r:
                    r.cmd("DBSIZE")
                    return p
            except (OSError, RedisError) as e:
                last = e
            time.sleep(0.05)
        last = "redis-server loading %s on port %d did not answer DBSIZE (%s):\n%s" % (
            rdb_path, port, last, tail(logpath, 15))
        halt()
        if "Address already in use" not in last:
            break
    raise AssertionError(last)


def redis_check_rdb(path, timeout=120):
    """Runs redis-check-rdb on path: (exit status, output)."""
    exe = shutil.which("redis-check-rdb") or "/usr/bin/redis-check-rdb"
    r = subprocess.run([exe, path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def hapanel_verify_rdb(path, binary=None, timeout=120):
    """Runs `hapanel --verify-rdb path`: (exit status, stdout + stderr)."""
    exe = binary or os.environ.get("HAPANEL_BIN") or DEFAULT_BIN
    r = subprocess.run([exe, "--verify-rdb", path], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def file_sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def backup_list(hp, name="mymaster", token=VIEWER_TOKEN):
    """The rows of GET /api/v1/clusters/{name}/backups (newest first)."""
    r = hp.get("/api/v1/clusters/%s/backups" % urllib.parse.quote(name, safe=""), token=token)
    assert r.status == 200 and isinstance(r.body, dict), "GET backups -> %r" % (r,)
    return r.body.get("backups") or []


def backup_download(hp, path, dest, token=VIEWER_TOKEN, timeout=120):
    """GET path (a backup's "download" URL) streamed into the file dest.
    Returns (status, headers, size, sha256 hex); on a non-200 status the body
    is in dest as well."""
    import hashlib
    h = hashlib.sha256()
    size = 0
    req = urllib.request.Request(hp.base + path, headers={"Authorization": "Bearer %s" % token}
                                 if token else {})
    try:
        resp = _opener.open(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        resp = e
    with resp, open(dest, "wb") as f:
        while True:
            b = resp.read(1 << 20)
            if not b:
                break
            h.update(b)
            f.write(b)
            size += len(b)
        status = resp.status if hasattr(resp, "status") else resp.code
        return status, resp.headers, size, h.hexdigest()
