#!/usr/bin/env python3
"""it_redis_tls_tunnel: Redis that requires TLS, through a local tunnel
(issue 11). Debian 12's hiredis (0.14) has no TLS, so hapanel reaches a TLS
port through stunnel (Debian's stunnel4) on loopback, and [redis]
address_map (HAPANEL_ADDRESS_MAP) tells it, for each address Sentinel
announces, the tunnel's end to connect to. Here every node also serves TLS
on a port of its own (its plain port stays for Sentinel and the harness);
stunnel, in client mode, verifies the node's certificate against the CA.
  - hapanel shows every node up, polled through the tunnels (and names
    them by the addresses Sentinel announces);
  - a backup (the replication stream of an RDB) goes through the tunnel
    and its file checks out;
  - stopping stunnel takes the nodes down in hapanel while Sentinel still
    sees them up: hapanel was using the tunnels, not the plain ports;
    starting it again brings them back."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.checks import Checks  # noqa: E402
from harness import run_test, wait_for  # noqa: E402
from harness.certs import make_ca, make_cert  # noqa: E402
from harness.procs import free_port  # noqa: E402

NAME = "mymaster"
check = Checks()



def start_stunnel(env, d, services):
    """One client-mode service per (accept, connect) pair; returns the Popen."""
    conf = os.path.join(d, "stunnel.conf")
    with open(conf, "w") as f:
        f.write("foreground = yes\npid =\noutput = %s\n" % os.path.join(d, "stunnel.log"))
        for i, (acc, con) in enumerate(services):
            f.write("[n%d]\nclient = yes\naccept = %s\nconnect = %s\nCAfile = %s\n"
                    "verifyChain = yes\ncheckIP = 127.0.0.1\n" % (i, acc, con, os.path.join(d, "ca.pem")))
    p = subprocess.Popen(["stunnel4", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop():
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    env.on_cleanup(stop)
    return p, stop


def test(env):
    d = os.path.join(env.tmpdir, "tls")
    os.makedirs(d)
    make_ca(d)
    make_cert(d, "redis", server=True)
    topo = env.topology(tls={"cert": os.path.join(d, "redis.pem"), "key": os.path.join(d, "redis.key"),
                             "ca": os.path.join(d, "ca.pem")})
    nodes = [topo.current_master()] + topo.initial_replicas()
    tunnels = {a: "127.0.0.1:%d" % free_port() for a in nodes}
    services = [(tunnels[a], topo.tls_ports[a]) for a in nodes]
    p, stop = start_stunnel(env, d, services)
    time.sleep(0.5)
    check(p.poll() is None, "stunnel did not start: %s" % open(os.path.join(d, "stunnel.log")).read()[-500:])
    amap = ",".join("%s=%s" % (a, tunnels[a]) for a in nodes)
    hp = env.hapanel(topo, env_extra={"HAPANEL_ADDRESS_MAP": amap})
    hp.wait_nodes_up(nodes, NAME, 15)
    c = hp.cluster(NAME)
    shown = [c["master"]["addr"]] + [r["addr"] for r in c["replicas"]]
    check(sorted(shown) == sorted(nodes), "hapanel names %r, Sentinel announces %r" % (shown, nodes))

    r = hp.post("/api/v1/clusters/%s/backups" % NAME, body={})
    check(r.status == 202, "backup: %r" % r)
    if r.status == 202:
        jb = hp.wait_job(r.body["job_id"], 60)
        check(jb["state"] == "succeeded", "a backup through the tunnel: %s %s" % (jb["state"], jb.get("error")))
    text = open(os.path.join(d, "stunnel.log")).read()
    check("connected remote server" in text or "Certificate accepted" in text,
          "stunnel logged no verified connection: %s" % text[-600:])

    stop()

    def all_down():
        c = hp.cluster(NAME)
        return not c["master"]["up"] and not any(r["up"] for r in c["replicas"])
    wait_for(all_down, 10, 0.2, msg="every node down in hapanel with the tunnels gone")
    check(topo.role(nodes[0]) == "master", "the master itself is fine without the tunnel")
    start_stunnel(env, d, services)
    hp.wait_nodes_up(nodes, NAME, 15)
    check.done()


if __name__ == "__main__":
    run_test(test)
