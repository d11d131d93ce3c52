#!/usr/bin/env python3
"""it_failover_repeat: failovers that follow each other quickly between the
same two nodes (A->B, B->A, A->B, B->A within a minute) are each recorded:
one +switch-master event and one automatic failover row per failover, while
the three Sentinels' copies of each +switch-master still count once."""
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, parse_kv, run_test, wait_for  # noqa: E402

def test(env):
    topo = env.topology(replicas=1, down_after_ms=1000, failover_timeout_ms=3000)
    hp = env.hapanel(topo)
    a = topo.current_master(); b = topo.initial_replicas()[0]
    hp.wait_nodes_up([a, b], "mymaster", 10)
    done = []
    master = a
    for i in range(4):
        other = b if master == a else a
        wait_for(lambda: (hp.cluster().get("master") or {}).get("addr") == master and
                 not hp.cluster().get("failover_in_progress") and
                 all(r.get("link") == "up" for r in hp.cluster().get("replicas") or []), 20, 0.2)
        # all sentinels settled (avoid the stale-view abort)
        time.sleep(1)
        with topo.client(topo.sentinel_addrs[i % 3]) as c:
            c.cmd("SENTINEL", "FAILOVER", "mymaster")
        wait_for(lambda: topo.role(other) == "master", 20, 0.01)
        h, p = other.rsplit(":", 1)
        with topo.client(master) as c:  # fence by hand so it is quick
            c.cmd("REPLICAOF", h, p)
        wait_for(lambda: topo.agreed_master(20) == other, 30, 0.2)
        done.append((time.strftime("%H:%M:%S"), master, other))
        log("failover %d: %s -> %s" % (i + 1, master, other))
        master = other
        # wait until every Sentinel sees the old master as a replica again
        def settled():
            for s in topo.sentinel_addrs:
                with topo.client(s) as c:
                    reps = [parse_kv(x) for x in c.cmd("SENTINEL", "REPLICAS", "mymaster")]
                    mm = parse_kv(c.cmd("SENTINEL", "MASTER", "mymaster"))
                if mm["flags"] != "master" or not all(r["flags"] == "slave" and r["role-reported"] == "slave" and r["master-link-status"] == "ok" for r in reps):
                    return False
            return True
        wait_for(settled, 30, 0.2)
    time.sleep(3)
    ev = hp.events(cluster="mymaster", type="+switch-master", limit=100)["events"]
    rows = hp.failovers(cluster="mymaster")
    log("failovers done: %s" % done)
    log("+switch-master events stored: %d: %s" % (len(ev), [(e["ts"], e["message"]) for e in ev]))
    log("failover rows: %d: %s" % (len(rows), [(r["kind"], r["old_master"], r["new_master"], r["started_at"]) for r in rows]))
    assert len(ev) == len(done), "%d failovers, %d +switch-master events" % (len(done), len(ev))
    assert len(rows) == len(done), "%d failovers, %d failover rows" % (len(done), len(rows))
    assert all(r["kind"] == "automatic" for r in rows), rows
    pairs = [(r["old_master"], r["new_master"]) for r in reversed(rows)]
    assert pairs == [(o, n) for _, o, n in done], (pairs, done)

if __name__ == "__main__":
    run_test(test)
