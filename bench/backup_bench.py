#!/usr/bin/env python3
"""backup_bench.py — hapanel's backup job against `redis-cli --rdb`, from the
same replica, in the same run, and hapanel's memory while it backs up.

Starts 1 master + 1 replica + 1 Sentinel with tests/harness/ (disk-based
replication, the harness default; --diskless for repl-diskless-sync yes),
writes --mb MB of random (incompressible) 1 MB values on the master by
pipelined SETs, waits until the replica has the master's offset, starts
hapanel (HAPANEL_BIN, default build-bench/hapanel), then alternately, --rounds
times each:
  - `redis-cli -h 127.0.0.1 -p <replica> --rdb <file>`, timed from spawn to
    exit (SYNC, the replica's snapshot, the transfer, fsync);
  - POST /api/v1/clusters/mymaster/backups {"node": <replica>}, timed by the
    job's own started_at .. ended_at (the same steps plus the header, CRC64
    and SHA-256 checks, rename, catalogue), while hapanel's VmRSS is sampled
    every 20 ms from /proc.
Each file is deleted after its run (the backup through DELETE /api/v1/backups),
and dirty pages are written back (sync) before each run.
Prints the best MB/s of each, their ratio (goal >= 0.9), the transfer phase
alone (after the replica's snapshot is ready: redis-cli's "SYNC sent" line,
hapanel's "streaming" step), and hapanel's peak RSS during the backups (goal
< 64 MB: it streams, it does not buffer). The last backup is also downloaded
once (GET /api/v1/backups/{id}/download): MB/s, sha256 checked, peak RSS.

usage: python3 bench/backup_bench.py [--mb 1100] [--rounds 2] [--diskless]
                                     [--no-rdbcompression]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402

NAME = "mymaster"
GOAL_RATIO = 0.9
GOAL_RSS_MB = 64
MB = 1 << 20


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mb", type=int, default=1100, help="MB of data written on the master (1100)")
    p.add_argument("--rounds", type=int, default=2, help="runs of each, alternating (2)")
    p.add_argument("--diskless", action="store_true",
                   help="repl-diskless-sync yes (+ delay 0) on the nodes: the $EOF form")
    p.add_argument("--no-rdbcompression", action="store_true",
                   help="rdbcompression no on the nodes: the replica no longer spends its time "
                        "trying LZF on every value, so the transfer itself is what is measured")
    a = p.parse_args()
    if not (16 <= a.mb <= 8192 and 1 <= a.rounds <= 5):
        p.error("out of range: mb 16-8192, rounds 1-5")
    return a


class RssSampler:
    """VmRSS of pid every `interval` s from a thread; peak_kb and samples."""

    def __init__(self, pid, interval=0.02):
        self.pid, self.interval = pid, interval
        self.peak_kb = 0
        self.samples = 0
        self._halt = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._halt.is_set():
            v = harness.proc_status_kb(self.pid, "VmRSS")
            if v > 0:
                self.peak_kb = max(self.peak_kb, v)
                self.samples += 1
            self._halt.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._halt.set()
        self._t.join(5)


def run_cli(addr, dest, timeout=600):
    """redis-cli --rdb from addr into dest: wall seconds, transfer-phase
    seconds (from its "SYNC sent" line to its exit), size."""
    host, port = harness.split_addr(addr)
    argv = [shutil.which("redis-cli") or "/usr/bin/redis-cli", "-h", host, "-p", str(port), "--rdb", dest]
    stamps = []
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         preexec_fn=harness._die_with_parent)

    def reader():
        for line in p.stdout:
            stamps.append((time.monotonic(), line.decode("utf-8", "replace").rstrip()))
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    try:
        rc = p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise AssertionError("redis-cli --rdb did not finish within %d s" % timeout)
    t1 = time.monotonic()
    th.join(5)
    out = "\n".join(s for _, s in stamps)
    assert rc == 0, "redis-cli --rdb exited %d:\n%s" % (rc, out)
    sync = [t for t, s in stamps if "SYNC sent" in s]
    return {"wall": t1 - t0, "xfer": (t1 - sync[0]) if sync else float("nan"),
            "size": os.path.getsize(dest), "out": out}


def run_hapanel(hp, addr, timeout=600):
    """One backup job from addr: wall (job started_at .. ended_at), transfer
    phase ("streaming" step .. the "backup N:" step), size, peak VmRSS."""
    base_kb = harness.proc_status_kb(hp.popen.pid, "VmRSS")
    with RssSampler(hp.popen.pid) as rss:
        r = hp.post("/api/v1/clusters/%s/backups" % NAME, {"node": addr, "reason": "backup_bench"})
        assert r.status == 202, "POST backups -> %r" % r
        jb = hp.wait_job(r.body["job_id"], timeout, 0.05)
    assert jb["state"] == "succeeded", "backup job failed: %s\n%s" % (jb.get("error"), hp.steps_text(jb))
    steps = jb.get("steps") or []
    t_stream = [s["ts"] for s in steps if s["message"].startswith("streaming")]
    t_done = [s["ts"] for s in steps if re.match(r"backup \d+: ", s["message"])]
    res = jb["result"]
    return {"wall": (jb["ended_at"] - jb["started_at"]) / 1000.0,
            "xfer": (t_done[0] - t_stream[0]) / 1000.0 if t_stream and t_done else float("nan"),
            "size": res["size_bytes"], "backup_id": res["backup_id"], "verified": res["verified"],
            "sha256": res["sha256"],
            "peak_kb": rss.peak_kb, "base_kb": base_kb, "samples": rss.samples,
            "hwm_kb": harness.proc_status_kb(hp.popen.pid, "VmHWM"), "steps": hp.steps_text(jb)}


def machine_busy_s():
    """CPU seconds the whole machine spent busy (user, nice, system, irq,
    softirq, steal), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / benchlib.CLK_TCK


def own_cpu_s(pids):
    """CPU seconds of this script (and the redis-cli it waited for) and of
    pids (hapanel, the Redis nodes, the Sentinel), each with its reaped
    children (a node's snapshot forks)."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                x = f.read()
        except OSError:
            continue
        fl = x[x.rindex(")") + 2:].split()
        total += sum(int(v) for v in fl[11:15]) / benchlib.CLK_TCK  # utime stime cutime cstime
    return total


def settle():
    """Before each measured run: write back every dirty page (the previous
    run's file, the replica's snapshot), so that no run pays for another's
    writeback."""
    os.sync()
    time.sleep(0.5)


def run_download(hp, h, dest):
    """GET /api/v1/backups/{id}/download of backup h into dest (then
    deleted): seconds, and hapanel's peak VmRSS meanwhile."""
    with RssSampler(hp.popen.pid) as rss:
        t0 = time.monotonic()
        st, _, size, sha = harness.backup_download(hp, "/api/v1/backups/%d/download" % h["backup_id"], dest,
                                                   timeout=600)
        t = time.monotonic() - t0
    os.unlink(dest)
    assert st == 200 and size == h["size"], "download -> %s, %d bytes (want %d)" % (st, size, h["size"])
    harness.log("download of backup %d: %d bytes in %.2f s (%.0f MB/s), sha256 %s, peak VmRSS %.1f MB" % (
        h["backup_id"], size, t, size / MB / t, "matches" if sha == h["sha256"] else "DIFFERS", rss.peak_kb / 1024))
    assert sha == h["sha256"], "downloaded sha256 %s, catalogue %s" % (sha, h["sha256"])
    return {"t": t, "size": size, "peak_kb": rss.peak_kb}


def bench(env, lines):
    a = ARGS
    need = a.mb * MB * 4  # the replica's snapshot, one file at a time, headroom
    st = shutil.disk_usage(env.tmpdir)
    harness.log("free space in %s: %.1f GB (need about %.1f GB)" % (env.tmpdir, st.free / 1e9, need / 1e9))
    assert st.free > need, "not enough free space in %s: %.1f GB, want %.1f GB" % (
        env.tmpdir, st.free / 1e9, need / 1e9)
    conf = ["client-output-buffer-limit replica 0 0 0"]  # the fill must not force a resync
    if a.diskless:
        conf += ["repl-diskless-sync yes", "repl-diskless-sync-delay 0"]
    if a.no_rdbcompression:
        conf += ["rdbcompression no"]
    topo = env.topology(replicas=1, sentinels=1, quorum=1, extra_conf="\n".join(conf))
    master = topo.initial_master()
    (replica,) = topo.initial_replicas()

    t0 = time.monotonic()
    with topo.client(master, timeout=120) as c:
        nkeys = harness.fill_random(c, a.mb * MB, value_size=MB, prefix="bench:", batch=16)
        used = c.info("memory")["used_memory"]
    topo.wait_in_sync(master, 300)
    harness.log("%d x 1 MB random values written in %.1f s (used_memory %.0f MB); replica in sync" % (
        nkeys, time.monotonic() - t0, used / MB))

    hp = env.hapanel(topo, env_extra={"HAPANEL_BACKUP_DAILY_AT": "", "HAPANEL_BACKUP_INTERVAL_MINUTES": "0",
                                      "HAPANEL_BACKUP_KEEP_LAST": "0"})
    hp.wait_nodes_up([master, replica], NAME, 20)
    time.sleep(1)  # a few polls, so that the baseline RSS is the steady one

    cli_runs, hp_runs, dl_runs = [], [], []
    own_pids = [hp.popen.pid] + [x.popen.pid for x in topo.nodes + topo.sentinels]
    cpu0 = (time.monotonic(), machine_busy_s(), own_cpu_s(own_pids))
    for rnd in range(a.rounds):
        dest = os.path.join(env.tmpdir, "cli-%d.rdb" % rnd)
        settle()
        c = run_cli(replica, dest)
        os.unlink(dest)
        cli_runs.append(c)
        harness.log("round %d redis-cli --rdb: %d bytes in %.2f s (%.0f MB/s), transfer phase %.2f s" % (
            rnd + 1, c["size"], c["wall"], c["size"] / MB / c["wall"], c["xfer"]))
        settle()
        h = run_hapanel(hp, replica)
        if rnd == a.rounds - 1:
            dl_runs.append(run_download(hp, h, os.path.join(env.tmpdir, "download.rdb")))
        r = hp.request("DELETE", "/api/v1/backups/%d" % h["backup_id"], token=harness.OPERATOR_TOKEN)
        assert r.status == 200, "DELETE backup -> %r" % r
        hp_runs.append(h)
        harness.log("round %d hapanel backup:  %d bytes in %.2f s (%.0f MB/s), transfer phase %.2f s, "
                    "VmRSS %.1f MB before, peak %.1f MB (%d samples), VmHWM %.1f MB" % (
                        rnd + 1, h["size"], h["wall"], h["size"] / MB / h["wall"], h["xfer"],
                        h["base_kb"] / 1024, h["peak_kb"] / 1024, h["samples"], h["hwm_kb"] / 1024))
        harness.log("hapanel job steps:\n%s\nredis-cli output:\n  %s" % (
            h["steps"], c["out"].replace("\n", "\n  ")))
        assert h["verified"] is True, h
        assert abs(h["size"] - c["size"]) < MB, "sizes differ: hapanel %d, redis-cli %d" % (h["size"], c["size"])

    best_c = min(cli_runs, key=lambda x: x["wall"])
    best_h = min(hp_runs, key=lambda x: x["wall"])
    mbs_c = best_c["size"] / MB / best_c["wall"]
    mbs_h = best_h["size"] / MB / best_h["wall"]
    ratio = mbs_h / mbs_c
    xc = min(x["xfer"] for x in cli_runs)
    xh = min(x["xfer"] for x in hp_runs)
    peak = max(x["peak_kb"] for x in hp_runs) / 1024.0
    base = min(x["base_kb"] for x in hp_runs) / 1024.0
    lines.append("dataset: %d x 1 MB random values, RDB %.0f MB, %s sync from replica %s%s; hapanel %s" % (
        nkeys, best_h["size"] / MB, "diskless" if a.diskless else "disk-based", replica,
        ", rdbcompression no" if a.no_rdbcompression else "", os.environ["HAPANEL_BIN"]))
    lines.append("redis-cli --rdb: runs %s s; best %.2f s = %.0f MB/s" % (
        ", ".join("%.2f" % x["wall"] for x in cli_runs), best_c["wall"], mbs_c))
    lines.append("hapanel backup:  runs %s s; best %.2f s = %.0f MB/s" % (
        ", ".join("%.2f" % x["wall"] for x in hp_runs), best_h["wall"], mbs_h))
    lines.append("backup_ratio: %.2f (hapanel %.0f MB/s, redis-cli --rdb %.0f MB/s) goal >= %.1f: %s" % (
        ratio, mbs_h, mbs_c, GOAL_RATIO, "met" if ratio >= GOAL_RATIO else "NOT met"))
    lines.append("transfer phase only (snapshot ready -> file complete): hapanel %.2f s (%.0f MB/s), "
                 "redis-cli %.2f s (%.0f MB/s), ratio %.2f" % (
                     xh, best_h["size"] / MB / xh, xc, best_c["size"] / MB / xc, xc / xh))
    lines.append("hapanel_peak_rss: %.1f MB during the backups (%.1f MB before; VmRSS every 20 ms, "
                 "%d samples) goal < %d MB: %s" % (peak, base, sum(x["samples"] for x in hp_runs),
                                                   GOAL_RSS_MB, "met" if peak < GOAL_RSS_MB else "NOT met"))
    wall = time.monotonic() - cpu0[0]
    other = (machine_busy_s() - cpu0[1]) - (own_cpu_s(own_pids) - cpu0[2])
    share = max(0.0, other) / (wall * (os.cpu_count() or 1))
    lines.append("machine: %d CPUs; processes outside this benchmark used %.0f%% of them during the runs%s" % (
        os.cpu_count() or 1, 100 * share, " — the figures are disturbed, run it again on a quiet machine"
        if share > 0.15 else ""))
    d = dl_runs[0]
    lines.append("download (GET /api/v1/backups/{id}/download, same machine): %.0f MB/s, hapanel peak RSS "
                 "%.1f MB meanwhile; sha256 matches the catalogue" % (d["size"] / MB / d["t"], d["peak_kb"] / 1024))


def report(lines):
    print("\n".join(lines))


if __name__ == "__main__":
    ARGS = parse_args()
    benchlib.setup(limit_s=240 + ARGS.mb * 0.25 * ARGS.rounds)
    benchlib.run(bench, "backup_bench", report)
