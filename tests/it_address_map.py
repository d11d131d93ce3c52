#!/usr/bin/env python3
"""it_address_map: addresses Sentinel announces but hapanel must not use
(issue 12). Every node and every Sentinel sits behind a TCP proxy of the
harness; HAPANEL_ADDRESS_MAP maps each announced address to its proxy.
  - hapanel shows every node and Sentinel up, under the announced address,
    with reached_at naming the proxy;
  - none of hapanel's connections goes to a node's or a Sentinel's own port
    (read from /proc: the remote port of each of its TCP sockets), before,
    during and after a graceful switchover, which loses 0 acknowledged
    writes of a client writing through Sentinel, and a backup;
  - every proxy carried connections;
  - a replica mapped to a host name whose name server never answers is
    shown down with "cannot resolve", while the others keep being polled on
    time: the lookup does not stop the monitor's loop."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.checks import Checks  # noqa: E402
from harness import log, run_test, wait_for  # noqa: E402
from harness.tcpproxy import start_proxy  # noqa: E402

NAME = "mymaster"
check = Checks()



def remote_ports(pid):
    """The remote ports of the process's established TCP connections."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = []
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(f).readlines()[1:]
        except OSError:
            continue
        for line in lines:
            p = line.split()
            if p[9] in inodes and p[3] == "01":
                ports.append(int(p[2].rsplit(":", 1)[1], 16))
    return ports


def test(env):
    topo = env.topology()
    master = topo.current_master()
    nodes = [master] + topo.initial_replicas()
    sents = list(topo.sentinel_addrs)
    proxies = {a: start_proxy(env, a) for a in nodes + sents}
    amap = ",".join("%s=%s" % (a, p.addr) for a, p in proxies.items())
    hp = env.hapanel(topo, env_extra={"HAPANEL_ADDRESS_MAP": amap})
    hp.wait_nodes_up(nodes, NAME, 15)
    real = {int(a.rsplit(":", 1)[1]) for a in nodes + sents}

    def direct():
        return sorted(p for p in remote_ports(hp.popen.pid) if p in real)

    c = hp.cluster(NAME)
    for n in [c["master"]] + c["replicas"]:
        check(n.get("reached_at") == proxies[n["addr"]].addr,
              "node %s reached_at %r, want %s" % (n["addr"], n.get("reached_at"), proxies[n["addr"]].addr))
    for s in c["sentinels"]:
        check(s.get("up") and s.get("reached_at") == proxies[s["addr"]].addr,
              "Sentinel %s: up %r, reached_at %r" % (s["addr"], s.get("up"), s.get("reached_at")))
    check(direct() == [], "hapanel connected to real ports: %r" % direct())

    w = env.writer(topo)
    target = topo.initial_replicas()[0]
    r = hp.post("/api/v1/clusters/%s/failover" % NAME, body={"mode": "graceful", "target": target})
    check(r.status == 202, "failover: %r" % r)
    seen_direct = []
    if r.status == 202:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen_direct += direct()
            jb = hp.job(r.body["job_id"])
            if jb["state"] in ("succeeded", "failed"):
                break
            time.sleep(0.05)
        check(jb["state"] == "succeeded", "the switchover: %s %s" % (jb["state"], jb.get("error")))
        wait_for(lambda: topo.current_master() == target, 20, 0.2, msg="the new master")
    time.sleep(1)
    w.stop()
    lost = w.lost(topo)
    log("writer: %s; lost %d" % (w.summary(), lost))
    check(w.acked > 200 and lost == 0, "%d of %d acknowledged writes lost" % (lost, w.acked))
    r = hp.post("/api/v1/clusters/%s/backups" % NAME, body={})
    check(r.status == 202, "backup: %r" % r)
    if r.status == 202:
        jb = hp.wait_job(r.body["job_id"], 60)
        check(jb["state"] == "succeeded", "the backup: %s %s" % (jb["state"], jb.get("error")))
    seen_direct += direct()
    check(seen_direct == [], "hapanel connected to real ports during the actions: %r" % sorted(set(seen_direct)))
    for a, p in proxies.items():
        check(p.accepted > 0, "the proxy of %s carried no connection" % a)
    log("connections per proxy: %r" % {a: p.accepted for a, p in proxies.items()})
    hp.stop()

    # a name whose lookup never gets an answer delays nobody: a name server
    # on loopback that reads every query and answers none (hiredis's own
    # lookup would stop the loop for each try, 2 s x 2 attempts)
    mute = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    mute.bind(("127.0.0.1", 0))
    env.on_cleanup(mute.close)
    resolv = os.path.join(env.tmpdir, "resolv.conf")
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1:%d\n" % mute.getsockname()[1])
    bad = topo.initial_replicas()[1]
    amap2 = amap.replace("%s=%s" % (bad, proxies[bad].addr),
                         "%s=no-such-host.invalid:%s" % (bad, bad.rsplit(":", 1)[1]))
    hp2 = env.hapanel(topo, env_extra={"HAPANEL_ADDRESS_MAP": amap2, "HAPANEL_TIMEOUT_MS": "2000",
                                       "HAPANEL_RESOLV_CONF": resolv})
    others = [a for a in nodes if a != bad]

    def state():
        c = hp2.cluster(NAME)
        return {n["addr"]: n for n in [c["master"]] + c["replicas"]}

    def bad_reported():
        n = state().get(bad) or {}
        return n.get("up") is False and "cannot resolve" in (n.get("error") or "")
    wait_for(bad_reported, 20, 0.2, msg=lambda: "%s shown down for its name: %r" % (bad, state().get(bad)))
    t0 = state()
    time.sleep(1.5)
    t1 = state()
    for a in others:
        check(t1[a].get("up") and t1[a]["last_ok_ms"] - t0[a]["last_ok_ms"] >= 900,
              "%s not polled on time beside the unresolvable name: %r -> %r" % (
                  a, t0[a].get("last_ok_ms"), t1[a].get("last_ok_ms")))
    log("%s: %s" % (bad, state()[bad].get("error")))
    check.done()


if __name__ == "__main__":
    run_test(test)
