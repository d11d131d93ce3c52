#!/usr/bin/env python3
"""it_sentinel_groups_clash3: three deployments whose Sentinels all monitor
a master named mymaster (each Sentinel's default name; masters= empty in
every group). One group owns the name; the two others clash. The clash is
logged once per clashing group, not at every poll as the two others take
turns, and the cluster's name_clash problem keeps naming one group instead
of alternating between them; the owner does not change."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402

NAME = "mymaster"


def clash_msgs(c):
    return [p.get("message", "") for p in c.get("problems", []) if p.get("code") == "name_clash"]


def test(env):
    check = Checks()
    east = env.topology()
    west = env.topology()
    north = env.topology()
    hp = env.hapanel(east, config_text=west.group_section("west") + "\n" +
                     north.group_section("north"))

    def settled():
        r = hp.get("/api/v1/clusters/%s" % NAME)
        c = r.body if r.status == 200 and isinstance(r.body, dict) else {}
        return c if len(c.get("sentinels", [])) == 3 and clash_msgs(c) else None

    c = wait_for(settled, 15, msg="mymaster with 3 Sentinels and a name_clash problem")
    owner, first = c.get("group"), clash_msgs(c)[0]
    log("mymaster is %s's: %s" % (owner, first))
    time.sleep(1.0)
    before = hp.log_text().count("monitor: master name '%s' is monitored" % NAME)
    msgs = set()
    for _ in range(12):  # 3 s at a 250 ms poll interval: a dozen rounds
        c = settled() or c
        check(c.get("group") == owner, "the owner stays %s: %r" % (owner, c.get("group")))
        msgs.update(clash_msgs(c))
        time.sleep(0.25)
    after = hp.log_text().count("monitor: master name '%s' is monitored" % NAME)
    log("clash log lines: %d before the 3 s, %d after: %s" % (before, after, [
        ln for ln in hp.log_text().splitlines() if "Sentinel groups" in ln or "passes" in ln][:6]))
    check(before <= 2, "at most one clash line per clashing group: %d" % before)
    check(after == before, "no more clash lines while nothing changes: %d -> %d" % (before, after))
    check(len(msgs) == 1, "the name_clash problem keeps one message: %s" % sorted(msgs))
    evs = [e for e in hp.events(cluster=NAME, limit=500).get("events", [])
           if e.get("type") in ("cluster-name-clash", "cluster-name-clash-resolved")]
    check(len(evs) == 1 and evs[0].get("type") == "cluster-name-clash",
          "one cluster-name-clash event, nothing resolved: %s" % [e.get("type") for e in evs])
    check.done()


if __name__ == "__main__":
    run_test(test)
