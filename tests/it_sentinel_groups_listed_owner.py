#!/usr/bin/env python3
"""it_sentinel_groups_listed_owner: two Sentinel groups both monitor a master
named mymaster; [sentinel west] lists it (masters = mymaster), [sentinel]
takes every master (masters empty). The group whose masters= lists the name
owns it whichever group's Sentinels answer first (the default group's are
asked first), and so after a restart too: the cluster is west's, with west's
Sentinels and nodes, and a name_clash problem naming west shown and default
ignored (the other group's mymaster is still a clash worth a page)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402

NAME = "mymaster"


def test(env):
    check = Checks()
    east = env.topology()
    west = env.topology()
    hp = env.hapanel(east, config_text=west.group_section("west", masters=NAME))

    def settled():
        r = hp.get("/api/v1/clusters/%s" % NAME)
        c = r.body if r.status == 200 and isinstance(r.body, dict) else {}
        if len(c.get("sentinels", [])) != 3 or len(c.get("replicas", [])) != 2:
            return None
        return c if any(p.get("code") == "name_clash" for p in c.get("problems", [])) else None

    for run in ("first start", "after a restart"):
        c = wait_for(settled, 15, msg="%s: mymaster with 3 Sentinels, 2 replicas and a name_clash"
                     % run)
        for _ in range(6):
            c = settled() or c
            check(c.get("group") == "west", "%s: mymaster is west's, whose masters= lists it: %r"
                  % (run, c.get("group")))
            sens = sorted(s.get("addr") for s in c.get("sentinels", []))
            check(sens == sorted(west.sentinel_addrs),
                  "%s: its Sentinels are west's: %s (want %s)" % (run, sens, west.sentinel_addrs))
            check((c.get("master") or {}).get("addr") == west.initial_master(),
                  "%s: its master is west's %s: %r" % (run, west.initial_master(), c.get("master")))
            time.sleep(0.25)
        probs = [p for p in c.get("problems", []) if p.get("code") == "name_clash"]
        msg = probs[0].get("message", "") if probs else ""
        check("groups west (shown) and default (ignored)" in msg,
              "%s: the problem says west is shown, default ignored: %r" % (run, msg))
        log("%s: mymaster is west's; %s" % (run, msg))
        evs = [(e.get("type"), e.get("node")) for e in hp.events(cluster=NAME, limit=500)
               .get("events", []) if e.get("type") in ("master-changed", "node-removed")]
        check(not evs, "%s: no transient default-owned snapshot (master-changed, node-removed): %s"
              % (run, evs))
        if run == "first start":
            hp.stop()
            hp.start()
    check.done()


if __name__ == "__main__":
    run_test(test)
