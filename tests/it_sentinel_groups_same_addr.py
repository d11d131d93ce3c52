#!/usr/bin/env python3
"""it_sentinel_groups_same_addr: two sites may announce the same address
(10.0.0.5:6379 behind two NATs). Here a replica of each of two Sentinel
groups announces 127.0.0.99:P (replica-announce-ip/-port, a loopback address
where nothing listens), and each group's address map sends it to its own
replica. hapanel keys nodes by (group, address): east1 and west1 each show a
node 127.0.0.99:P, up, reached at their own replica, replicating from their
own master; neither takes it from the other."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port, log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402


def test(env):
    check = Checks()
    east = env.topology(masters=("east1",))
    west = env.topology(masters=("west1",))
    fake = "127.0.0.99:%d" % free_port()
    er, wr = east.initial_replicas("east1")[0], west.initial_replicas("west1")[0]
    hp = env.hapanel(east, config_text=west.group_section("west",
                                                     address_map="%s=%s" % (fake, wr)),
                     env_extra={"HAPANEL_ADDRESS_MAP": "%s=%s" % (fake, er)})
    wait_for(lambda: all(c.get("replicas") == 2 for c in hp.clusters().get("clusters", [])) and
             len(hp.clusters().get("clusters", [])) == 2, 15, msg="east1 and west1 listed")
    # each replica now announces the same address; its link is reopened so
    # that its master's INFO says so
    ip, port = fake.rsplit(":", 1)
    for topo, rep in ((east, er), (west, wr)):
        with topo.client(rep) as c:
            c.cmd("CONFIG", "SET", "replica-announce-ip", ip)
            c.cmd("CONFIG", "SET", "replica-announce-port", port)
            c.cmd("CLIENT", "KILL", "TYPE", "master")
    log("replicas %s (east) and %s (west) both announce %s" % (er, wr, fake))

    def both_show():
        out = {}
        for name in ("east1", "west1"):
            n = hp.node(hp.cluster(name), fake)
            if not n or not n.get("up"):
                return None
            out[name] = n
        return out

    got = wait_for(both_show, 15, msg="east1 and west1 each show %s up: east1 %s, west1 %s"
                   % (fake, hp.node(hp.cluster("east1"), fake), hp.node(hp.cluster("west1"), fake)))
    for _ in range(6):  # stays so: neither group's polls take it from the other
        time.sleep(0.5)
        got = both_show() or got
        check(both_show() is not None, "both clusters keep %s" % fake)
    for name, rep, topo in (("east1", er, east), ("west1", wr, west)):
        n = got[name]
        check(n.get("reached_at") == rep, "%s's %s is reached at %s: %r" % (name, fake, rep, n.get("reached_at")))
        check(n.get("role") == "replica" and n.get("master_addr") == topo.initial_master(name),
              "%s's %s replicates from %s: role %r master_addr %r"
              % (name, fake, topo.initial_master(name), n.get("role"), n.get("master_addr")))
    evs = hp.events(limit=1000).get("events", [])
    moved = [e for e in evs if e.get("type") == "node-removed" and e.get("node") == fake]
    check(not moved, "no node-removed of %s: %s" % (fake, moved))
    check.done()


if __name__ == "__main__":
    run_test(test)
