#!/usr/bin/env python3
"""it_failover_persist: every role change hapanel makes survives a restart of
the node from its own config file.

A team switches the master away to patch and reboot its host: the old
master's redis-server is stopped with SIGTERM and started again from its own
config file. It must come back as a replica of the new master, not as a
writable master that takes writes until Sentinel converts it seconds later
(those writes are lost).

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms):
  - graceful switchover to r1: the job's result says persisted: true; the
    old master's config file names the new master (replicaof); restarted
    from it with SIGTERM, its first INFO says role:slave, a client writing
    straight into it from the moment it accepts connections gets only
    READONLY for 3 s, and the dashboard API shows no split brain meanwhile;
  - forced failover: the same for the master it replaced;
  - plain resync of a replica pointed elsewhere: persisted, the replica's
    config file names the master, and restarted it comes back replicating
    from the master;
  - no replica-priority hapanel set while steering is left in any config
    file (only the original values)."""

import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Redis, RedisError, log, redis_info, run_test, split_addr, wait_for  # noqa: E402

NAME = "mymaster"
FO = "/api/v1/clusters/%s/failover" % NAME


def conf_replicaof(proc):
    with open(proc.conf) as f:
        text = f.read()
    m = re.findall(r"^replicaof\s+(\S+)\s+(\d+)", text, re.M)
    return ("%s:%s" % m[-1]) if m else None, text


class DirectWriter:
    """Writes straight into one address (no Sentinel), as a client with a
    stale connection pool would, and counts what it accepts."""

    def __init__(self, addr):
        self.addr = addr
        self.accepted = 0
        self.readonly = 0
        self.other = []
        self.halt = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        n = 0
        while not self.halt.is_set():
            try:
                with Redis.at(self.addr, timeout=0.5) as c:
                    while not self.halt.is_set():
                        n += 1
                        try:
                            c.cmd("SET", "direct:%d" % n, "x")
                            self.accepted += 1
                        except RedisError as e:
                            if "READONLY" in str(e):
                                self.readonly += 1
                            else:
                                self.other.append(str(e))
                        time.sleep(0.002)
            except (OSError, socket.timeout):
                time.sleep(0.005)

    def start(self):
        self.t.start()
        return self

    def stop(self):
        self.halt.set()
        self.t.join(5)


def restart_and_probe(topo, hp, addr, expect_master):
    """Restarts addr from its config file with SIGTERM and checks it never
    serves as a master."""
    proc = topo.proc(addr)
    dw = DirectWriter(addr)
    topo.restart(addr, wait=False)
    t0 = time.monotonic()
    # the first INFO it answers
    first = wait_for(lambda: redis_info(addr, section="replication", timeout=0.5), 10, 0.01,
                     msg="%s answers again after the restart" % addr)
    log("%s restarted from %s: first INFO says role:%s master_host:%s master_port:%s (%.2f s)" % (
        addr, proc.conf, first.get("role"), first.get("master_host"), first.get("master_port"),
        time.monotonic() - t0))
    assert first.get("role") == "slave", \
        "restarted from its config file, %s came back as %s" % (addr, first.get("role"))
    assert "%s:%s" % (first.get("master_host"), first.get("master_port")) == expect_master, first
    dw.start()
    split = []
    t_end = time.monotonic() + 3.0
    while time.monotonic() < t_end:
        c = hp.cluster(NAME)
        split += [p for p in c.get("problems", []) if p.get("code") == "split_brain"]
        time.sleep(0.1)
    dw.stop()
    log("direct writes into %s after its restart: %d accepted, %d READONLY, other errors %s" % (
        addr, dw.accepted, dw.readonly, dw.other[:3]))
    assert dw.accepted == 0, "%d writes were accepted by the restarted old master" % dw.accepted
    assert dw.readonly > 0, "the direct writer never reached %s" % addr
    assert not split, "the dashboard showed a split brain: %s" % split[:2]


def test(env):
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    hp = env.hapanel(topo)
    old = topo.current_master()
    r1, r2 = topo.initial_replicas()
    hp.wait_nodes_up([old, r1, r2], NAME, 10)
    prio0 = topo.priorities()

    # --- graceful switchover, then the old master's host reboots ----------
    r = hp.post(FO, {"mode": "graceful", "target": r1, "max_pause_ms": 500, "reason": "patch host"})
    assert r.status == 202, r
    jb = hp.wait_job(r.body["job_id"], 60)
    log("graceful job: %s, result %s" % (jb["state"], jb.get("result")))
    assert jb["state"] == "succeeded", jb.get("error")
    assert jb["result"].get("persisted") is True, jb["result"]
    assert topo.agreed_master(10) == r1
    where, text = conf_replicaof(topo.proc(old))
    assert where == r1, "the old master's config file says replicaof %s, want %s" % (where, r1)
    assert not re.search(r"^replica-priority\s+1\b", text, re.M), "a steered priority was rewritten"
    restart_and_probe(topo, hp, old, r1)
    topo.wait_in_sync(r1, 15)

    # --- forced failover, then the master it replaced restarts -----------
    r = hp.post(FO, {"mode": "force", "reason": "force test"})
    assert r.status == 202, r
    jb = hp.wait_job(r.body["job_id"], 60)
    log("forced job: %s, result %s" % (jb["state"], jb.get("result")))
    assert jb["state"] == "succeeded", jb.get("error")
    new = jb["result"]["new_master"]
    assert new != r1 and topo.agreed_master(10) == new
    assert jb["result"].get("persisted") is True, jb["result"]
    where, _ = conf_replicaof(topo.proc(r1))
    assert where == new, "the replaced master's config file says replicaof %s, want %s" % (where, new)
    restart_and_probe(topo, hp, r1, new)
    topo.wait_in_sync(new, 15)

    # --- resync: a replica pointed elsewhere is brought back, persisted ---
    rep = [a for a in topo.node_addrs if a != new][0]
    other = [a for a in topo.node_addrs if a not in (new, rep)][0]
    with topo.client(rep) as c:
        h, p = split_addr(other)
        c.cmd("REPLICAOF", h, p)  # chained, not persisted
    hp.wait_for(lambda: any(p.get("code") == "replica_wrong_master" for p in hp.cluster(NAME)["problems"]),
                10, msg="hapanel sees the chained replica")
    r = hp.post("/api/v1/clusters/%s/nodes/%s/resync" % (NAME, rep), {})
    assert r.status == 202, r
    jb = hp.wait_job(r.body["job_id"], 60)
    assert jb["state"] == "succeeded", jb.get("error")
    assert jb["result"].get("persisted") is True, jb["result"]
    where, _ = conf_replicaof(topo.proc(rep))
    assert where == new, "the resynced replica's config file says replicaof %s, want %s" % (where, new)
    topo.restart(rep)
    info = wait_for(lambda: redis_info(rep, section="replication"), 10, 0.05)
    assert info.get("role") == "slave" and "%s:%s" % (info["master_host"], info["master_port"]) == new, info

    # every priority as it was, in memory and in every config file
    topo.agreed_master(10)
    assert topo.priorities() == prio0, "priorities %s, want %s" % (topo.priorities(), prio0)
    for p in topo.nodes:
        with open(p.conf) as f:
            for m in re.finditer(r"^replica-priority\s+(\d+)", f.read(), re.M):
                assert m.group(1) == "100", "%s's config file keeps replica-priority %s" % (
                    p.addr, m.group(1))


if __name__ == "__main__":
    run_test(test, limit=150)
