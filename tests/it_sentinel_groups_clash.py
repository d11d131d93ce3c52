#!/usr/bin/env python3
"""it_sentinel_groups_clash: two Sentinel groups whose Sentinels both monitor
a master named mymaster (masters= empty in both: a clash only the monitor can
see). The first group to report the name owns it: GET /api/v1/clusters lists
mymaster once, with that group, that group's 3 Sentinels and nodes only; the
cluster has a critical name_clash problem naming both groups, and the events
have one cluster-name-clash. The other group's Sentinels' events for that name
are dropped (a replica killed there gives no event, one killed in the shown
group does). And the static case: masters = mymaster in [sentinel] and in
[sentinel west] is a config error (hapanel --check-config exits 2 naming both
sections).

The clash is kept until the other group has not named the master for the
forget delay (60 s; 3 s under HAPANEL_FAILPOINT=fast-forget, which this test
sets), then resolved (cluster-name-clash-resolved); when the owner's
Sentinels all drop the name, it passes to the group still naming it."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402

NAME = "mymaster"


def static_clash(env, check, binary):
    ini = os.path.join(env.tmpdir, "static-clash.ini")
    with open(ini, "w") as f:
        f.write("[sentinel]\nhosts = 127.0.0.1:1\nmasters = %s\n\n"
                "[sentinel west]\nhosts = 127.0.0.1:2\nmasters = %s\n" % (NAME, NAME))
    e = {k: v for k, v in os.environ.items() if not k.startswith(("HAPANEL_", "REDIS_"))}
    e["HAPANEL_API_TOKENS"] = "viewer:t0k3n"
    p = subprocess.run([binary, "--check-config", "--config", ini], env=e, capture_output=True,
                       text=True, timeout=20)
    log("--check-config of a static clash: rc=%d stderr=%r" % (p.returncode, p.stderr.strip()))
    check(p.returncode == 2, "--check-config with mymaster in two groups' masters= exits 2, not %d"
          % p.returncode)
    check("[sentinel]" in p.stderr and "[sentinel west]" in p.stderr and NAME in p.stderr,
          "the error names both sections and the master: %r" % p.stderr)
    # the same file without the clash passes (the check is about the clash)
    with open(ini, "w") as f:
        f.write("[sentinel]\nhosts = 127.0.0.1:1\nmasters = %s\n\n"
                "[sentinel west]\nhosts = 127.0.0.1:2\nmasters = other\n" % NAME)
    p = subprocess.run([binary, "--check-config", "--config", ini], env=e, capture_output=True,
                       text=True, timeout=20)
    check(p.returncode == 0, "--check-config without the clash exits 0, not %d (%s)"
          % (p.returncode, p.stderr.strip()))


def clash_problems(c):
    return [p for p in c.get("problems", []) if p.get("code") == "name_clash"]


def test(env):
    check = Checks()
    east = env.topology()
    west = env.topology()
    topos = {"default": east, "west": west}
    hp = env.hapanel(east, config_text=west.group_section("west"),
                     env_extra={"HAPANEL_FAILPOINT": "fast-forget"})

    static_clash(env, check, hp.bin)

    def listed():
        return [c for c in hp.clusters().get("clusters", []) if c.get("name") == NAME]

    def settled():
        cl = listed()
        if len(cl) != 1 or cl[0].get("sentinels") != 3 or cl[0].get("replicas") != 2:
            return None
        c = hp.cluster(NAME)
        return c if clash_problems(c) else None

    c = wait_for(settled, 15, msg="mymaster listed once, with 3 Sentinels, 2 replicas and a "
                 "name_clash problem: %s" % (listed(),))
    shown = c.get("group")
    check(shown in topos, "the cluster's group is one of the two: %r" % shown)
    if shown not in topos:
        check.done()
    ignored = "west" if shown == "default" else "default"
    own, other = topos[shown], topos[ignored]
    log("mymaster is shown from group %s (%s), %s ignored" % (shown, own.initial_master(), ignored))

    # a few samples: the owner does not flip, and nothing of the other group leaks in
    for _ in range(8):
        cl = listed()
        check(len(cl) == 1, "mymaster listed exactly once: %d" % len(cl))
        c = hp.cluster(NAME)
        sens = sorted(s.get("addr") for s in c.get("sentinels", []))
        check(c.get("group") == shown, "the owner stays %s: %r" % (shown, c.get("group")))
        check(sens == sorted(own.sentinel_addrs),
              "its sentinels are only its own group's 3: %s (want %s)" % (sens, own.sentinel_addrs))
        nodes = [(c.get("master") or {}).get("addr")] + [r.get("addr") for r in c.get("replicas", [])]
        check(sorted(nodes) == sorted(own.node_addrs),
              "its nodes are only its own group's: %s (want %s)" % (nodes, own.node_addrs))
        check((c.get("master") or {}).get("addr") == own.initial_master(),
              "the master is %s's: %r" % (shown, c.get("master")))
        time.sleep(0.25)

    probs = clash_problems(c)
    check(len(probs) == 1, "one name_clash problem: %s" % probs)
    if probs:
        p = probs[0]
        msg = p.get("message", "")
        check(p.get("severity") == "critical", "name_clash is critical: %r" % p.get("severity"))
        want = ("master name '%s' is monitored by Sentinel groups %s (shown) and %s (ignored)"
                % (NAME, shown, ignored))
        check(msg.startswith(want), "the message names both groups: %r (want %r...)" % (msg, want))
        check("masters=" in msg, "the message says how to fix it: %r" % msg)
    check(c.get("status") != "ok", "a cluster with a name clash is not ok: %r" % c.get("status"))

    def clash_events():
        return [e for e in hp.events(cluster=NAME, limit=500).get("events", [])
                if e.get("type") == "cluster-name-clash"]

    evs = wait_for(clash_events, 5, msg="a cluster-name-clash event")
    time.sleep(1.5)  # several polls later: still once
    evs = clash_events()
    check(len(evs) == 1, "one cluster-name-clash event: %s" % evs)
    if evs:
        check(evs[0].get("severity") == "critical", "the event is critical: %s" % evs[0])
        check(shown in evs[0].get("message", "") and ignored in evs[0].get("message", ""),
              "the event names both groups: %s" % evs[0])

    # Sentinel events: a replica killed in each topology; the shown group's
    # Sentinels' +sdown arrives, the ignored group's is dropped.
    own_rep, other_rep = own.initial_replicas()[0], other.initial_replicas()[0]
    other.kill(other_rep)
    own.kill(own_rep)
    log("killed replica %s (shown group) and %s (ignored group)" % (own_rep, other_rep))
    other_sources = set("sentinel %s" % a for a in other.sentinel_addrs)

    def sdown_of_own():
        return [e for e in hp.events(cluster=NAME, limit=500).get("events", [])
                if e.get("type") == "+sdown" and own_rep in (e.get("message") or "")]

    wait_for(sdown_of_own, 15, msg="+sdown of %s from the shown group's Sentinels" % own_rep)
    time.sleep(1.0)
    evs = hp.events(limit=1000).get("events", [])
    leaked = [e for e in evs if e.get("source") in other_sources]
    check(not leaked, "no event from the ignored group's Sentinels: %s" % leaked[:3])
    leaked = [e for e in evs if other_rep in (e.get("message") or "") or e.get("node") == other_rep]
    check(not leaked, "no event about the ignored group's replica %s: %s" % (other_rep, leaked[:3]))
    c = hp.cluster(NAME)
    check(hp.node(c, other_rep) is None, "the ignored group's replica is not in the cluster")
    log_text = hp.log_text()
    check("is monitored by Sentinel groups" in log_text, "the clash is logged")

    # The ignored group's Sentinels stop monitoring the name: the clash is
    # resolved once they have not named it for the forget delay (3 s under
    # the fast-forget failpoint), not at their first answer without it.
    for a in other.sentinel_addrs:
        with other.client(a) as cl:
            cl.cmd("SENTINEL", "REMOVE", NAME)
    t0 = time.monotonic()
    log("SENTINEL REMOVE %s on the %s group's Sentinels" % (NAME, ignored))
    wait_for(lambda: not clash_problems(hp.cluster(NAME)), 10, msg="the name_clash problem goes")
    took = time.monotonic() - t0
    log("name_clash gone %.1f s after the other group stopped naming it" % took)
    check(took >= 2.0, "the clash is kept for the forget delay (3 s), not dropped at once: %.1f s"
          % took)
    wait_for(lambda: [e for e in hp.events(cluster=NAME, limit=500).get("events", [])
                      if e.get("type") == "cluster-name-clash-resolved"], 5,
             msg="a cluster-name-clash-resolved event")
    c = hp.cluster(NAME)
    check(c.get("group") == shown, "the owner is still %s: %r" % (shown, c.get("group")))

    # They monitor it again: the clash is back, with a second event.
    for a in other.sentinel_addrs:
        with other.client(a) as cl:
            cl.cmd("SENTINEL", "MONITOR", NAME, *other.initial_master().rsplit(":", 1), "2")
            cl.cmd("SENTINEL", "SET", NAME, "down-after-milliseconds", "1000")
    wait_for(lambda: clash_problems(hp.cluster(NAME)), 10, msg="the name_clash problem is back")
    wait_for(lambda: len(clash_events()) == 2, 5, msg="a second cluster-name-clash event: %s"
             % (clash_events(),))
    c = hp.cluster(NAME)
    check(c.get("group") == shown, "the owner is still %s: %r" % (shown, c.get("group")))

    # The owner's Sentinels stop monitoring the name: it passes to the other
    # group at once, and the clash is resolved.
    for a in own.sentinel_addrs:
        with own.client(a) as cl:
            cl.cmd("SENTINEL", "REMOVE", NAME)
    log("SENTINEL REMOVE %s on the %s group's Sentinels" % (NAME, shown))

    def handed_over():
        c = hp.cluster(NAME)
        sens = sorted(s.get("addr") for s in c.get("sentinels", []))
        ok = c.get("group") == ignored and sens == sorted(other.sentinel_addrs) and not clash_problems(c)
        return c if ok else None

    c = wait_for(handed_over, 10, msg="mymaster passes to group %s with its Sentinels, no clash: %s"
                 % (ignored, hp.cluster(NAME)))
    nodes = [(c.get("master") or {}).get("addr")] + [r.get("addr") for r in c.get("replicas", [])]
    # (its replica killed above is not known to its Sentinels since MONITOR)
    want = sorted(a for a in other.node_addrs if a != other_rep)
    check(sorted(nodes) == want,
          "after the hand-over its nodes are %s's only: %s (want %s)" % (ignored, nodes, want))
    check((c.get("master") or {}).get("addr") == other.initial_master(),
          "the master is %s's now: %r" % (ignored, c.get("master")))
    wait_for(lambda: [e for e in hp.events(cluster=NAME, limit=500).get("events", [])
                      if e.get("type") == "cluster-name-clash-resolved"], 5,
             msg="a cluster-name-clash-resolved event")
    check(len(clash_events()) == 2, "still two cluster-name-clash events: %s" % clash_events())
    check.done()


if __name__ == "__main__":
    run_test(test)
