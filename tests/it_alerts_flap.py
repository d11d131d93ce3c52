#!/usr/bin/env python3
"""it_alerts_flap: the anti-flap window. A replica is SIGSTOPped and
SIGCONTed over and over (stopped 4.5 s, running 1 s, three times) while a
client writes to the master. Both rules it trips, lag
(HAPANEL_ALERT_LAG_S=2) and replica_down (HAPANEL_ALERT_REPLICA_DOWN_S=1),
fire once during the flapping and do not resolve while the node keeps
flapping: each clear spell (the second it runs plus the seconds before the
next stop shows, < 5 s) is shorter than HAPANEL_ALERT_RESOLVE_AFTER_S=8. Once
the replica stays up, each resolves once, no sooner than the window after
the last SIGCONT. A window of 8 s, not 2 s: after a SIGSTOP the lag the
master reports stays <= 2 s for about 3 s, so that time counts as clear too.
The webhook gets exactly one alert-fired and one alert-resolved message per
(rule, node), and the alerts table holds one alert each."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, start_receiver, wait_for  # noqa: E402

NAME = "mymaster"
RESOLVE_S = 8
STOP_S = 4.5
RUN_S = 1.0
CYCLES = 3
RULES = ("lag", "replica_down")


def msgs(recv, node):
    """[(time, type, rule)] of the alert messages about node."""
    out = []
    for q in recv.got():
        b = q.json() or {}
        d = b.get("details") or {}
        if b.get("type") in ("alert-fired", "alert-resolved") and d.get("node") == node:
            out.append((q.t, b.get("type"), d.get("rule")))
    return out


def test(env):
    wh = start_receiver(env)
    topo = env.topology()
    hp = env.hapanel(topo, env_extra={
        "HAPANEL_WEBHOOK_URLS": wh.url + "/hook",
        "HAPANEL_ALERT_LAG_S": "2",
        "HAPANEL_ALERT_REPLICA_DOWN_S": "1",
        "HAPANEL_ALERT_RESOLVE_AFTER_S": str(RESOLVE_S),
    })
    master = topo.current_master()
    r0 = topo.initial_replicas()[0]
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 10)
    w = env.writer(topo, rate=30)

    t0 = time.time()
    for i in range(CYCLES):
        topo.stop(r0)
        log("cycle %d: SIGSTOP %s" % (i + 1, r0))
        time.sleep(STOP_S)
        topo.cont(r0)
        log("cycle %d: SIGCONT %s; alert messages so far: %s" % (
            i + 1, r0, [(round(t - t0, 2), k, r) for t, k, r in msgs(wh, r0)]))
        if i < CYCLES - 1:
            time.sleep(RUN_S)
    t_last = time.time()

    during = msgs(wh, r0)
    for rule in RULES:
        fired = [m for m in during if m[2] == rule and m[1] == "alert-fired"]
        assert len(fired) == 1, "rule %s on %s: want exactly one alert-fired message while the node " \
            "flapped, got %d: %s" % (rule, r0, len(fired), during)
    assert not [m for m in during if m[1] == "alert-resolved"], \
        "an alert resolved while the node was still flapping (window %d s): %s" % (RESOLVE_S, during)
    act = hp.json_ok("/api/v1/alerts?state=active").get("alerts") or []
    assert sorted(a.get("rule") for a in act if a.get("node") == r0) == sorted(RULES), act

    def resolved():
        got = [m for m in msgs(wh, r0) if m[1] == "alert-resolved"]
        return got if len(got) >= len(RULES) else None
    res = wait_for(resolved, RESOLVE_S + 8, 0.1, msg=lambda: "both alerts of %s resolve after the "
                   "last SIGCONT (messages: %s)" % (r0, msgs(wh, r0)))
    for t, kind, rule in res:
        log("%s resolved %.1f s after the last SIGCONT" % (rule, t - t_last))
        assert t - t_last >= RESOLVE_S - 1, "%s resolved %.1f s after the last SIGCONT, inside the " \
            "%d s window" % (rule, t - t_last, RESOLVE_S)
    w.stop()
    time.sleep(2)
    final = msgs(wh, r0)
    log("alert messages about %s: %s" % (r0, [(round(t - t0, 2), k, r) for t, k, r in final]))
    for rule in RULES:
        kinds = [k for t, k, r in final if r == rule]
        assert kinds == ["alert-fired", "alert-resolved"], \
            "rule %s on %s: want one alert-fired then one alert-resolved, got %s" % (rule, r0, kinds)
    allr = hp.json_ok("/api/v1/alerts?state=all").get("alerts") or []
    for rule in RULES:
        rows = [a for a in allr if a.get("rule") == rule and a.get("node") == r0]
        assert len(rows) == 1 and rows[0].get("state") == "resolved", \
            "want one resolved %s alert for %s, got %s" % (rule, r0, rows)


if __name__ == "__main__":
    run_test(test)
