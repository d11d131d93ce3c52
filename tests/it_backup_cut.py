#!/usr/bin/env python3
"""it_backup_cut: a truncated or corrupted transfer fails the backup job and
leaves no file that looks complete; the job shows its progress while it runs.

For each transfer form — repl-diskless-sync no ("$<len>") and yes with
repl-diskless-sync-delay 0 ("$EOF:<mark>") — a topology of 1 master, a plain
replica and a "proxied" replica, 1 Sentinel. The proxied replica announces
(replica-announce-port) the port of a TCP proxy run by this test, so the
Sentinel, hapanel's monitor and hapanel's backup connection all reach it
through the proxy, which can flip one byte of, or cut, the stream that
follows a SYNC. 128 MB of random (incompressible) values are written by
pipelined SETs on the master; the replicas catch up. Then:
  - through the proxy, untouched: the backup succeeds (the proxy itself is
    sound);
  - one byte flipped 8 MB into the snapshot -> the job fails ("not valid",
    CRC64), no file is left in the backup dir, no row in the catalogue;
  - the stream cut 8 MB in -> the job fails ("transfer cut after ...", and
    "end mark not seen" for the diskless form), no file, no row;
  - the plain replica as source: once the job says "streaming", the replica
    is SIGSTOPped: the job is running, its result shows bytes_received > 0
    (and bytes_total == the length for the disk form, with bytes_received
    below it), the backup dir has one *.partial and no *.rdb; then the
    replica is SIGKILLed -> the job fails within 10 s ("transfer cut"), the
    backup dir is empty, the catalogue has no row;
  - then a backup from the master succeeds: nothing of the failures is left
    behind (no busy job, one file, one row)."""

import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Hapanel, backup_list, fill_random, free_port, log, run_test,  # noqa: E402
                     wait_for)
from harness.tcpproxy import Proxy  # noqa: E402

NAME = "mymaster"
DATA = 128 << 20
AT = 8 << 20  # where the proxy flips or cuts, in bytes after the SYNC
DISKLESS_CONF = "repl-diskless-sync yes\nrepl-diskless-sync-delay 0"


class SyncProxy(Proxy):
    """127.0.0.1:listen_port -> 127.0.0.1:target_port, every connection
    forwarded both ways by two threads. On a connection whose client sent
    "SYNC\\r\\n", the mode set at that moment applies to what the server sends
    after it: ("flip", n) xors byte n with 0x01, ("cut", n) closes both sides
    after n bytes; None forwards untouched. done lists (mode, bytes) of
    every SYNC connection when it ends."""

    def __init__(self, listen_port, target_port):
        self.mode = None
        self.done = []
        Proxy.__init__(self, "127.0.0.1:%d" % target_port, port=listen_port)

    def close(self):
        self.stop()

    def serve(self, c, s):
        st = {"sync": False, "mode": None, "n": 0, "tail": b""}
        threading.Thread(target=self._up, args=(c, s, st), daemon=True).start()
        threading.Thread(target=self._down, args=(c, s, st), daemon=True).start()

    def _up(self, c, s, st):
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                if not st["sync"] and b"SYNC\r\n" in st["tail"] + data:
                    st["mode"] = self.mode
                    st["sync"] = True
                st["tail"] = data[-8:]
                s.sendall(data)
        except OSError:
            pass
        self.shut(c, s)

    def _down(self, c, s, st):
        try:
            while True:
                data = s.recv(262144)
                if not data:
                    break
                if st["sync"] and st["mode"]:
                    kind, at = st["mode"]
                    n0, n1 = st["n"], st["n"] + len(data)
                    if kind == "flip" and n0 <= at < n1:
                        data = bytearray(data)
                        data[at - n0] ^= 0x01
                    elif kind == "cut" and n1 >= at:
                        c.sendall(data[:at - n0])
                        st["n"] = at
                        break
                    st["n"] = n1
                elif st["sync"]:
                    st["n"] += len(data)
                c.sendall(data)
        except OSError:
            pass
        if st["sync"]:
            self.done.append((st["mode"], st["n"]))
        self.shut(c, s)


def bdir_files(hp):
    d = os.path.join(hp.data_dir, "backups")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def post(hp, body):
    r = hp.post("/api/v1/clusters/%s/backups" % NAME, body)
    assert r.status == 202, "POST backups %s -> %r" % (body, r)
    return r.body["job_id"]


def check_failed_clean(hp, jb, what, want_err):
    steps = Hapanel.steps_text(jb)
    log("%s: job %s %s: %s\n%s" % (what, jb["id"], jb["state"], jb.get("error"), steps))
    assert jb["state"] == "failed", "%s: the job did not fail: %s\n%s" % (what, jb["state"], steps)
    assert any(w in (jb.get("error") or "") for w in want_err), \
        "%s: error %r does not say %s" % (what, jb.get("error"), " or ".join(want_err))
    assert "backup_id" not in (jb.get("result") or {}), jb.get("result")
    files = bdir_files(hp)
    assert not files, "%s: the failed job left files in the backup dir: %s" % (what, files)
    assert backup_list(hp) == [], "%s: the catalogue has rows: %s" % (what, backup_list(hp))


def run_form(env, diskless, deferred):
    form = "diskless" if diskless else "disk"
    conf = DISKLESS_CONF if diskless else ""
    topo = env.topology(replicas=1, sentinels=1, quorum=1, extra_conf=conf)
    master = topo.initial_master()
    (plain,) = topo.initial_replicas()

    # the proxied replica: announces the proxy's port, which forwards to it
    pport = free_port()
    topo.extra_conf = conf + "\nreplica-announce-ip 127.0.0.1\nreplica-announce-port %d" % pport
    try:
        real = topo.start_node(replicaof=master)
    finally:
        topo.extra_conf = conf
    proxy = SyncProxy(pport, real.port)
    env.on_cleanup(proxy.close)
    proxied = "127.0.0.1:%d" % pport

    t0 = time.monotonic()
    with topo.client(master, timeout=60) as c:
        nkeys = fill_random(c, DATA)
    topo.wait_in_sync(master, 60, replicas=2)
    log("%s: %d x 1 MB random values in %.1f s; replicas %s and %s (proxied, really :%d) in sync" % (
        form, nkeys, time.monotonic() - t0, plain, proxied, real.port))

    hp = env.hapanel(topo, env_extra={"HAPANEL_BACKUP_DAILY_AT": "", "HAPANEL_BACKUP_INTERVAL_MINUTES": "0",
                                      "HAPANEL_BACKUP_KEEP_LAST": "0"})
    # Sentinel learns of the proxied replica from the master's INFO (every 10 s)
    hp.wait_nodes_up([master, plain, proxied], NAME, 25)

    # through the proxy, untouched
    jb = hp.wait_job(post(hp, {"node": proxied}), 90, 0.05)
    assert jb["state"] == "succeeded", "%s: backup through the untouched proxy failed: %s\n%s" % (
        form, jb.get("error"), Hapanel.steps_text(jb))
    assert proxy.done and proxy.done[-1][0] is None, proxy.done
    size = jb["result"]["size_bytes"]
    assert size > DATA and size > 2 * AT, size
    r = hp.request("DELETE", "/api/v1/backups/%d" % jb["result"]["backup_id"])
    assert r.status == 403, r
    r = hp.request("DELETE", "/api/v1/backups/%d" % jb["result"]["backup_id"], token="optok")
    assert r.status == 200 and not bdir_files(hp), (r, bdir_files(hp))
    log("%s: through the proxy untouched: %d bytes, verified" % (form, size))

    # one byte flipped in flight
    proxy.mode = ("flip", AT)
    jb = hp.wait_job(post(hp, {"node": proxied}), 90, 0.05)
    proxy.mode = None
    assert proxy.done and proxy.done[-1][0] == ("flip", AT), proxy.done
    check_failed_clean(hp, jb, "%s, byte %d flipped" % (form, AT), ["not valid"])

    # the stream cut
    proxy.mode = ("cut", AT)
    jb = hp.wait_job(post(hp, {"node": proxied}), 90, 0.05)
    proxy.mode = None
    assert proxy.done and proxy.done[-1] == (("cut", AT), AT), proxy.done
    check_failed_clean(hp, jb, "%s, cut at %d" % (form, AT),
                       ["end mark not seen"] if diskless else ["transfer cut after"])

    # the plain replica stopped mid-transfer, then killed
    job_id = post(hp, {"node": plain})
    seen = {}

    def streaming():
        j = seen["j"] = hp.job(job_id)
        assert j["state"] in ("queued", "running"), "job ended before it could be cut: %s\n%s" % (
            j.get("error"), Hapanel.steps_text(j))
        return any(s["message"].startswith("streaming") for s in j.get("steps") or [])
    wait_for(streaming, 60, 0.01, msg=lambda: "job %s says streaming: %s" % (job_id, seen.get("j")))
    topo.stop(plain)
    t_stop = time.monotonic()

    def progress():
        j = seen["j"] = hp.job(job_id)
        return j if any(" bytes" in s["message"] and s["message"].startswith("received ")
                        for s in j.get("steps") or []) else None
    j = wait_for(progress, 5, 0.05, msg=lambda: "a 'received N bytes' step while the source is stopped: %s"
                 % seen.get("j"))
    assert j["state"] == "running", "job %s is %s while its source is stopped" % (job_id, j["state"])
    steps = Hapanel.steps_text(j)
    if diskless:
        assert "streaming (diskless, length unknown)" in steps, steps
    else:
        m = re.search(r"streaming (\d+) bytes", steps)
        assert m and int(m.group(1)) > DATA, steps
        size = int(m.group(1))
        assert "of %d bytes" % size in steps, steps
    # the API's contract (docs/openapi.yaml): "The job's result shows
    # bytes_received (and bytes_total when the server sends a length) while
    # it runs." Checked over 1.5 s; a miss is reported at the end of the test.
    time.sleep(1.5)
    j = hp.job(job_id)
    res = j.get("result") or {}
    problem = None
    if not isinstance(res.get("bytes_received"), int) or res["bytes_received"] <= 0:
        problem = "no bytes_received in the result"
    elif diskless and "bytes_total" in res:
        problem = "bytes_total %r although the length is unknown" % res["bytes_total"]
    elif not diskless and (res.get("bytes_total") != size or not res["bytes_received"] < size):
        problem = "bytes_total %r (want %d), bytes_received %r" % (res.get("bytes_total"), size,
                                                                  res["bytes_received"])
    if problem:
        deferred.append("%s: running job %s (source stopped mid-transfer): %s; its result is %r, its "
                        "steps:\n%s" % (form, job_id, problem, j.get("result"), Hapanel.steps_text(j)))
    files = bdir_files(hp)
    assert len(files) == 1 and files[0].endswith("-%d.rdb.partial" % job_id), \
        "while the transfer runs the backup dir should hold one *.partial: %s" % files
    log("%s: source stopped mid-transfer: job running, result %s, dir %s" % (form, j.get("result"), files))
    topo.kill(plain)
    jb = hp.wait_job(job_id, 10, 0.05)
    log("%s: job ended %.1f s after the SIGSTOP" % (form, time.monotonic() - t_stop))
    check_failed_clean(hp, jb, "%s, source killed" % form, ["transfer cut after"])

    # nothing left behind: the next backup works
    jb = hp.wait_job(post(hp, {"node": master}), 90, 0.05)
    assert jb["state"] == "succeeded", "%s: backup after the failures: %s\n%s" % (
        form, jb.get("error"), Hapanel.steps_text(jb))
    files = bdir_files(hp)
    assert len(files) == 1 and files[0].endswith("-%d.rdb" % jb["id"]), files
    assert [r["id"] for r in backup_list(hp)] == [jb["result"]["backup_id"]], backup_list(hp)
    log("%s: next backup from the master fine: %s" % (form, files))
    hp.stop()
    proxy.close()
    topo.close()


def test(env):
    deferred = []
    run_form(env, False, deferred)
    run_form(env, True, deferred)
    assert not deferred, "\n".join(deferred)


if __name__ == "__main__":
    os.environ.setdefault("HAPANEL_IT_LIMIT", "170")
    run_test(test)
