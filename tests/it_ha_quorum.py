#!/usr/bin/env python3
"""it_ha_quorum: an HA fleet of two panels (issue 15) on a 3-member etcd
cluster, lease TTL 3 s, two webhook channels (/a and /b of one Receiver)
on both panels, HAPANEL_ALERT_REPLICA_DOWN_S=1. etcd loses its quorum
(2 of 3 members SIGSTOPped):
  fence     within TTL + 1 s no panel's health says role leader any more
            (the leader stepped down on its own clock: etcd never told it),
            and within TTL + 3 s (a call is bounded by 2 x 1 s) every panel
            says etcd unreachable; hapanel_ha_etcd_up 0 and
            hapanel_ha_leader 0 on both
  reads     GET /api/v1/clusters still answers 200 on both, with an
            updated_at of the last few seconds (monitoring goes on)
  writes    POST .../failover and .../backups answer 503, code no_leader,
            with Retry-After, and start no job
  held      a replica SIGKILLed: both panels show it down and its
            replica_down alert active, but the Receiver gets nothing at all
            while no panel leads
etcd gets its quorum back (SIGCONT):
  recover   within TTL + 2 s exactly one panel leads and the other names
            it, etcd ok on both
  once      the held replica_down alert-fired message arrives, exactly once
            on each channel (one of the two instances sent it: the claims
            in etcd), and no alert message reaches a channel twice
            (checked again 3 s later)."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, log, run_test, start_receiver, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.etcd import ha_of, leaders, require_etcd, wait_one_leader  # noqa: E402

TTL = 3
NAME = "mymaster"
CHANNELS = ("/a", "/b")
check = Checks()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            try:
                return float(line.rsplit(" ", 1)[1])
            except ValueError:
                return None
    return None


def alert_msgs(recv, path=None, after=0.0):
    out = []
    for q in recv.got():
        if path and q.path != path:
            continue
        if q.t < after:
            continue
        b = q.json() or {}
        if b.get("type") in ("alert-fired", "alert-resolved"):
            d = b.get("details") or {}
            out.append((q.path, b.get("type"), d.get("rule"), d.get("node")))
    return out


def summary(recv, after=0.0):
    return json.dumps([(q.path, round(q.t - after, 2), (q.json() or {}).get("type"),
                        ((q.json() or {}).get("details") or {}).get("rule"),
                        ((q.json() or {}).get("details") or {}).get("node"))
                       for q in recv.got() if q.t >= after])[:3000]


def test(env):
    require_etcd()
    etcd = env.etcd(3)
    topo = env.topology()
    wh = start_receiver(env)
    common = {
        "HAPANEL_WEBHOOK_URLS": ",".join(wh.url + c for c in CHANNELS),
        "HAPANEL_WEBHOOK_SECRET": "quorum-whsec-1",
        "HAPANEL_ALERT_REPLICA_DOWN_S": "1",
        "HAPANEL_ALERT_RESOLVE_AFTER_S": "2",
    }
    panels = env.ha_panels(topo, etcd, n=2, ttl=TTL, env_extra=common)
    master = topo.initial_master()
    replicas = topo.initial_replicas()
    for p in panels:
        p.wait_nodes_up([master] + replicas, timeout=15)
    leader = wait_one_leader(panels, 5 + TTL)
    log("leader: %s" % leader.ha_name)
    time.sleep(1.0)  # let start-up messages (if any) go out first

    # --- quorum lost ---------------------------------------------------------
    t_pause = time.time()
    t0 = time.monotonic()
    etcd.pause(1)
    etcd.pause(2)
    log("etcd members 1 and 2 SIGSTOPped: no quorum")
    seen = {}

    def fenced():
        hs = seen["hs"] = {p.ha_name: ha_of(p, timeout=1) for p in panels}
        return all(h and h.get("role") == "follower" for h in hs.values())
    wait_for(fenced, TTL + 1 + 0.5, 0.05,
             msg=lambda: "every panel follower (%s)" % json.dumps(seen.get("hs")))
    dt = time.monotonic() - t0
    log("FIGURE no panel leads %.2f s after the quorum loss" % dt)
    check(dt <= TTL + 1, "no leader within TTL + 1 s of the quorum loss (%.2f s)" % dt)

    # etcd "unreachable" once a call has failed: each call is bounded by
    # twice the 1 s timeout (two endpoints tried), and a leader's last
    # keep-alive may still have been answered slowly by a member that had
    # not yet noticed it lost its quorum
    def unreachable():
        hs = seen["hs"] = {p.ha_name: ha_of(p, timeout=1) for p in panels}
        return all(h and h.get("etcd") == "unreachable" for h in hs.values())
    wait_for(unreachable, TTL + 3 + 0.5, 0.05,
             msg=lambda: "every panel says etcd unreachable (%s)" % json.dumps(seen.get("hs")))
    dt = time.monotonic() - t0
    log("FIGURE every panel says etcd unreachable %.2f s after the quorum loss" % dt)
    check(not leaders(panels), "no panel leads without quorum")
    for p in panels:
        m = p.get("/metrics")
        check(m.status == 200 and metric(m.text, "hapanel_ha_etcd_up") == 0.0,
              "%s: hapanel_ha_etcd_up 0 without quorum" % p.ha_name)
        check(m.status == 200 and metric(m.text, "hapanel_ha_leader") == 0.0,
              "%s: hapanel_ha_leader 0 without quorum" % p.ha_name)

    # reads go on
    for p in panels:
        r = p.get("/api/v1/clusters")
        ok = r.status == 200 and isinstance(r.body, dict)
        check(ok, "%s: GET /api/v1/clusters 200 without quorum (%r)" % (p.ha_name, r))
        if ok:
            c = [x for x in r.body.get("clusters") or [] if x.get("name") == NAME]
            ua = (c[0].get("updated_at") if c else 0) or 0
            check(ua >= (time.time() - 3) * 1000,
                  "%s: %s updated_at fresh without quorum (%.1f s old)" % (
                      p.ha_name, NAME, time.time() - ua / 1000.0))

    # the instance list is the copy a thread of its own read: no request
    # waits on etcd without quorum (it used to: one range call, a second per
    # endpoint, inside the HTTP handler)
    for p in panels:
        for path in ("/api/v1/instances", "/ui/instances"):
            t0 = time.monotonic()
            r = p.get(path)
            dt = time.monotonic() - t0
            check(dt < 0.3, "%s: GET %s answered in %.0f ms without quorum (%s)" % (
                p.ha_name, path, dt * 1000, r.status))
            if path == "/ui/instances":
                check(r.status == 200 and "Panel instances" in r.text,
                      "%s: the instances panel renders without quorum (%r)" % (p.ha_name, r))
            else:
                check(r.status in (200, 503), "%s: GET %s (%r)" % (p.ha_name, path, r))

    # writes are refused
    jobs_before = {p.ha_name: len(p.jobs()) for p in panels}
    for p in panels:
        for path, body in (("/api/v1/clusters/%s/failover" % NAME, {}),
                           ("/api/v1/clusters/%s/backups" % NAME, {})):
            r = p.post(path, body, token=OPERATOR_TOKEN, timeout=20)
            code = ((r.body or {}).get("error") or {}).get("code") if isinstance(r.body, dict) else None
            check(r.status == 503 and code == "no_leader",
                  "%s: POST %s without a leader: 503 no_leader (%r)" % (p.ha_name, path, r))
            check(r.status != 503 or bool(r.headers.get("Retry-After")),
                  "%s: POST %s 503 has Retry-After" % (p.ha_name, path))
    for p in panels:
        check(len(p.jobs()) == jobs_before[p.ha_name], "%s: no job started without a leader" % p.ha_name)

    # a replica dies: the alert is held
    victim = replicas[0]
    topo.kill(victim)
    log("killed replica %s" % victim)
    for p in panels:
        wait_for(lambda: any(a.get("rule") == "replica_down" and a.get("node") == victim
                             for a in (p.json_ok("/api/v1/alerts?state=active").get("alerts") or [])),
                 10, msg="%s: replica_down alert active for %s" % (p.ha_name, victim))
    time.sleep(2.0)
    check(not wh.got(lambda q: q.t >= t_pause),
          "nothing sent while no panel leads (got %s)" % summary(wh, t_pause))
    check(not leaders(panels), "still no leader while etcd has no quorum")

    # --- quorum back ------------------------------------------------------------
    t_resume = time.time()
    t0 = time.monotonic()
    etcd.resume(1)
    etcd.resume(2)
    log("etcd members resumed")
    new = wait_one_leader(panels, TTL + 2 + 0.5)
    dt = time.monotonic() - t0
    log("FIGURE one leader (%s) %.2f s after the quorum came back" % (new.ha_name, dt))
    check(dt <= TTL + 2, "a leader within TTL + 2 s of the quorum's return (%.2f s)" % dt)
    for p in panels:
        check((ha_of(p) or {}).get("etcd") == "ok", "%s: etcd ok again" % p.ha_name)

    def fired(path):
        return [m for m in alert_msgs(wh, path, t_pause)
                if m[1] == "alert-fired" and m[2] == "replica_down" and m[3] == victim]
    wait_for(lambda: all(fired(c) for c in CHANNELS), 15,
             msg=lambda: "the held replica_down alert-fired on every channel (got %s)" % summary(wh, t_pause))
    log("held alert delivered %.2f s after the quorum came back" % (
        min(q.t for q in wh.got(lambda q: q.t >= t_pause)) - t_resume))
    time.sleep(3.0)
    for c in CHANNELS:
        check(len(fired(c)) == 1, "channel %s: the held replica_down alert exactly once (got %d: %s)"
              % (c, len(fired(c)), summary(wh, t_pause)))
        msgs = alert_msgs(wh, c, t_pause)
        check(len(msgs) == len(set(msgs)), "channel %s: no alert message twice (%s)" % (c, msgs))
    check.done()


if __name__ == "__main__":
    run_test(test, limit=180)
