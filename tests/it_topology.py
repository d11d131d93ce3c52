#!/usr/bin/env python3
"""it_topology: the topology the REST API reports matches what each node says
of itself (INFO) and what the Sentinels say; a config change and a replica
added later show up without restarting hapanel."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Hapanel, log, redis_info, run_test, wait_for)  # noqa: E402

NAME = "mymaster"


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_summary(hp, topo):
    body = hp.clusters()
    cl = [c for c in body.get("clusters", []) if c.get("name") == NAME]
    assert len(cl) == 1, "GET /api/v1/clusters does not list %s exactly once: %s" % (NAME, body)
    c = cl[0]
    problems = []
    if c.get("replicas") != 2:
        problems.append("replicas=%r (want 2)" % c.get("replicas"))
    if c.get("sentinels") != 3:
        problems.append("sentinels=%r (want 3)" % c.get("sentinels"))
    if c.get("status") != "ok":
        problems.append("status=%r (want ok)" % c.get("status"))
    if c.get("replicas_ok") != 2:
        problems.append("replicas_ok=%r (want 2)" % c.get("replicas_ok"))
    if c.get("sentinels_ok") != 3:
        problems.append("sentinels_ok=%r (want 3)" % c.get("sentinels_ok"))
    m = c.get("master")
    maddr = m.get("addr") if isinstance(m, dict) else m
    if maddr != topo.current_master():
        problems.append("master=%r (want %s)" % (m, topo.current_master()))
    if c.get("failover_in_progress") not in (False, 0):
        problems.append("failover_in_progress=%r" % c.get("failover_in_progress"))
    return problems, c


def priority_of(topo, addr, info):
    if "slave_priority" in info:
        return info["slave_priority"]
    if "replica_priority" in info:
        return info["replica_priority"]
    with topo.client(addr) as c:
        return int(c.cmd("CONFIG", "GET", "replica-priority")[1])


def compare_node(hp, topo, n, want_role, master_addr):
    """Differences between API node n and the node's own INFO; INFO is read
    after the API sample so counters in the API must be <= INFO's."""
    addr = n.get("addr")
    info = redis_info(addr)
    out = []
    if n.get("role") != want_role:
        out.append("%s role=%r (want %s)" % (addr, n.get("role"), want_role))
    if n.get("up") is not True:
        out.append("%s up=%r" % (addr, n.get("up")))
    # a master's INFO has no slave_priority: the API may leave it null there
    nums = ("repl_offset", "used_memory", "connected_clients", "maxmemory")
    if want_role == "replica" or n.get("priority") is not None:
        nums += ("priority",)
    for k in nums:
        if not is_num(n.get(k)):
            out.append("%s %s=%r is not a number" % (addr, k, n.get(k)))
    if out:
        return out
    info_off = info["master_repl_offset"] if want_role == "master" else info["slave_repl_offset"]
    if not (0 < n["repl_offset"] <= info_off):
        out.append("%s repl_offset=%r, INFO read after says %d" % (addr, n["repl_offset"], info_off))
    um = info["used_memory"]
    if abs(n["used_memory"] - um) > 0.2 * um:
        out.append("%s used_memory=%r, INFO says %d (more than 20%% apart)" % (addr, n["used_memory"], um))
    cc = info["connected_clients"]
    if abs(n["connected_clients"] - cc) > 5 or n["connected_clients"] < 1:
        out.append("%s connected_clients=%r, INFO says %d" % (addr, n["connected_clients"], cc))
    if n["maxmemory"] != info["maxmemory"]:
        out.append("%s maxmemory=%r, INFO says %r" % (addr, n["maxmemory"], info["maxmemory"]))
    pr = priority_of(topo, addr, info)
    if "priority" in nums and n["priority"] != pr:
        out.append("%s priority=%r, INFO/CONFIG says %r" % (addr, n["priority"], pr))
    if n.get("redis_version") != info["redis_version"]:
        out.append("%s redis_version=%r, INFO says %r" % (addr, n.get("redis_version"), info["redis_version"]))
    if want_role == "replica":
        if n.get("link") != "up":
            out.append("%s link=%r (want up)" % (addr, n.get("link")))
        if n.get("master_addr") != master_addr:
            out.append("%s master_addr=%r (want %s)" % (addr, n.get("master_addr"), master_addr))
        if not is_num(n.get("lag_bytes")) or n["lag_bytes"] < 0:
            out.append("%s lag_bytes=%r" % (addr, n.get("lag_bytes")))
    return out


def check_detail(hp, topo):
    snap = hp.cluster(NAME)
    master_addr = topo.current_master()
    out = []
    if snap.get("name") != NAME:
        out.append("name=%r" % snap.get("name"))
    if snap.get("status") != "ok":
        out.append("status=%r" % snap.get("status"))
    m = snap.get("master") or {}
    if m.get("addr") != master_addr:
        out.append("master.addr=%r, Sentinel says %s" % (m.get("addr"), master_addr))
        return out, snap
    out += compare_node(hp, topo, m, "master", master_addr)
    reps = snap.get("replicas") or []
    want = sorted(a for a in topo.node_addrs if a != master_addr)
    got = sorted(r.get("addr") for r in reps)
    if got != want:
        out.append("replicas %s, want %s" % (got, want))
    else:
        for r in reps:
            out += compare_node(hp, topo, r, "replica", master_addr)
    sents = snap.get("sentinels") or []
    if sorted(s.get("addr") for s in sents) != sorted(topo.sentinel_addrs):
        out.append("sentinels %s, want %s" % ([s.get("addr") for s in sents], topo.sentinel_addrs))
    for s in sents:
        if s.get("up") is not True:
            out.append("sentinel %s up=%r" % (s.get("addr"), s.get("up")))
        if s.get("sees_master") != master_addr:
            out.append("sentinel %s sees_master=%r" % (s.get("addr"), s.get("sees_master")))
    q = snap.get("quorum") or {}
    qs = {k: q.get(k) for k in ("configured", "reachable", "ok")}
    if qs != {"configured": 2, "reachable": 3, "ok": True}:
        out.append("quorum=%r (want configured 2, reachable 3, ok true)" % q)
    if snap.get("problems") != []:
        out.append("problems=%r (want [])" % snap.get("problems"))
    if not is_num(snap.get("updated_at")):
        out.append("updated_at=%r" % snap.get("updated_at"))
    return out, snap


def test(env):
    topo = env.topology()
    hp = env.hapanel(topo)

    st = {}

    def summary_ok():
        st["p"], st["c"] = check_summary(hp, topo)
        return not st["p"]
    wait_for(summary_ok, 5, 0.2, msg=lambda: "GET /api/v1/clusters item: %s; item=%s" % (st["p"], st["c"]))
    log("summary ok: %s" % st["c"])

    # a priority that is not the default, to see it is read and not assumed
    r0 = topo.initial_replicas()[0]
    with topo.client(r0) as c:
        c.cmd("CONFIG", "SET", "replica-priority", "42")

    def detail_ok():
        st["d"], st["snap"] = check_detail(hp, topo)
        return not st["d"]
    wait_for(detail_ok, 5, 0.25, msg=lambda: "GET /api/v1/clusters/%s matches INFO: %s" % (NAME, st["d"]))
    log("detail matches INFO")
    snap = st["snap"]
    assert Hapanel.node(snap, r0)["priority"] == 42, Hapanel.node(snap, r0)

    # a config change shows within 3 s
    master = topo.current_master()
    with topo.client(master) as c:
        c.cmd("CONFIG", "SET", "maxmemory", "100mb")
    seen = {}

    def maxmem():
        seen["v"] = (hp.cluster(NAME).get("master") or {}).get("maxmemory")
        return seen["v"] == 104857600
    wait_for(maxmem, 3, 0.1, msg=lambda: "master.maxmemory == 104857600 within 3 s of CONFIG SET "
             "maxmemory 100mb (API still says %r)" % seen.get("v"))
    log("maxmemory change seen")

    # a replica added later appears without restarting hapanel
    new = topo.add_replica(master)
    log("added replica %s" % new)

    def new_replica_shown():
        s = hp.cluster(NAME)
        n = Hapanel.node(s, new)
        return n if n and n.get("role") == "replica" and n.get("up") is True else None
    try:
        n = wait_for(new_replica_shown, 15, 0.25, msg="new replica %s listed as an up replica" % new)
    except AssertionError:
        log("API replicas at timeout: %s" % [(r.get("addr"), r.get("up"), r.get("link"))
                                              for r in hp.cluster(NAME).get("replicas") or []])
        raise
    log("new replica shown: %s" % n)
    wait_for(lambda: (Hapanel.node(hp.cluster(NAME), new) or {}).get("link") == "up" and
             (Hapanel.node(hp.cluster(NAME), new) or {}).get("master_addr") == master, 5, 0.25,
             msg="new replica %s link up with master_addr %s" % (new, master))
    assert hp.running() and hp.starts == 1, "hapanel was restarted or died"


if __name__ == "__main__":
    run_test(test)
