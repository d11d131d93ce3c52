#!/usr/bin/env python3
"""it_ha_lease: the etcd lease loop of server/ha/leader.c (issue 15), two
panels of one fleet on a 3-member etcd cluster (tests/harness/etcd.py),
lease TTL 3 s. The Sentinel address is a closed port: the lease is what is
tested, not Redis.
  elect     exactly one panel leads and the other names it with its
            advertise URL; the etcd leader key holds it, on a lease, and its
            create_revision is the term both report; GET /api/v1/instances
            lists both (the leader flagged); /metrics has hapanel_ha_leader
            1 and 0; events leader-elected (leader) and leader-changed
            (follower) are in the history
  quorum    2 of 3 etcd members paused (SIGSTOP): the leader stops leading
            on its own clock within TTL (+ one call's timeout), before its
            lease could run out on the etcd side, nobody leads, health says
            etcd unreachable and acting false, keep-alive failures are
            counted, etcd-unreachable is in the history; resumed: one leader
            again and etcd-reachable
  kill      SIGKILL of the leader: the other leads within TTL + 2 s, and not
            before the lease could have run out (TTL minus a keep-alive
            period); the term grew; the killed panel restarted is a follower
            naming the new leader
  sigterm   SIGTERM of the leader revokes its lease: the other leads within
            2 s (well inside the 3 s TTL), and the stopped one's instances/ key is gone at once."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.etcd import NoRedis, ha_env, ha_of, leaders, require_etcd, wait_one_leader  # noqa: E402

TTL = 3
check = Checks()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def event_types(panel):
    return [e.get("type") for e in panel.events(limit=200).get("events", [])]


def other(panels, p):
    return [x for x in panels if x is not p][0]


def test(env):
    require_etcd()
    etcd = env.etcd(3)
    panels = [env.hapanel(NoRedis(), start=False, ha=ha_env(etcd, "p%d" % i, ttl=TTL))
              for i in (1, 2)]
    for p in panels:
        p.start()

    # --- elect
    lead = wait_one_leader(panels, 10)
    fol = other(panels, lead)
    hf, hl = ha_of(fol), ha_of(lead)
    check(hf["role"] == "follower" and hf["leader"]["url"] == lead.base,
          "the follower names the leader and its URL: %r" % hf)
    key = etcd.leader_key()
    check(key and key["id"] == lead.ha_name and key["url"] == lead.base and key["_lease"],
          "the leader key holds the leader on a lease: %r" % key)
    term = key["_create_revision"] if key else -1
    check(hl["term"] == term and hf["term"] == term,
          "both report the term %d: %r %r" % (term, hl, hf))
    check(hl["etcd"] == "ok" and hf["etcd"] == "ok", "etcd ok on both")
    def listed():  # the list is read from etcd every second, not per request
        r = fol.get("/api/v1/instances")
        got = {i["instance"]: i for i in r.body.get("instances", [])} if r.status == 200 else {}
        return (r, got) if set(got) == {"p1", "p2"} else None
    r, insts = wait_for(listed, 3, 0.1, msg="both panels in GET /api/v1/instances")
    check(set(insts) == {"p1", "p2"} and insts[lead.ha_name]["leader"]
          and not insts[fol.ha_name]["leader"] and insts[fol.ha_name]["self"]
          and insts[lead.ha_name]["url"] == lead.base,
          "GET /api/v1/instances on the follower: %r" % (r,))
    check(fol.get("/api/v1/instances", token=None).status == 401, "instances needs a viewer")
    check(metric(lead.get("/metrics").text, "hapanel_ha_leader") == 1 and
          metric(fol.get("/metrics").text, "hapanel_ha_leader") == 0, "hapanel_ha_leader 1 / 0")
    wait_for(lambda: "leader-elected" in event_types(lead), 5, msg="leader-elected event")
    wait_for(lambda: "leader-changed" in event_types(fol), 5, msg="leader-changed event")
    log("elect: %s leads (term %d), %s follows" % (lead.ha_name, term, fol.ha_name))

    # --- quorum loss: the leader steps down on its own clock
    etcd.pause(1)
    etcd.pause(2)
    t0 = time.monotonic()
    wait_for(lambda: not leaders(panels), TTL + 2, 0.05, msg="no leader without quorum")
    lost = time.monotonic() - t0
    log("quorum lost: the leader stopped leading after %.2f s (TTL %d s)" % (lost, TTL))
    # it may not lead longer than the lease can live: TTL after its last
    # keep-alive's send, which was at most a period before the pause (+ the
    # health request's own time)
    check(lost <= TTL + 0.5, "stepped down after %.2f s, more than TTL" % lost)
    hs = {}

    def unreachable():
        hs["h"] = [ha_of(p) for p in panels]
        return all(h and h["etcd"] == "unreachable" for h in hs["h"])
    wait_for(unreachable, 6, 0.1, msg=lambda: "etcd unreachable on both: %r" % hs.get("h"))
    h = lead.get("/api/v1/health", token=None).body
    check(h.get("acting") is False and h["ha"]["leader"] is None,
          "health without a leader: acting false, leader null: %r" % h)
    check(leaders(panels) == [], "nobody leads without quorum")
    check((metric(lead.get("/metrics").text, "hapanel_ha_keepalive_failures_total") or 0) > 0,
          "keep-alive failures counted")
    check(metric(lead.get("/metrics").text, "hapanel_ha_etcd_up") == 0, "hapanel_ha_etcd_up 0")
    check("etcd-unreachable" in event_types(lead) and "leader-lost" in event_types(lead),
          "etcd-unreachable and leader-lost events: %r" % event_types(lead)[:10])
    etcd.resume(1)
    etcd.resume(2)
    etcd.wait_healthy(15)
    lead = wait_one_leader(panels, 15)
    fol = other(panels, lead)
    wait_for(lambda: "etcd-reachable" in event_types(lead), 5, msg="etcd-reachable event")
    term = etcd.leader_key()["_create_revision"]
    log("quorum back: %s leads (term %d)" % (lead.ha_name, term))

    # --- SIGKILL of the leader
    lead.kill()
    t0 = time.monotonic()
    wait_for(lambda: ha_of(fol) and ha_of(fol)["role"] == "leader", TTL + 2, 0.05,
             msg="the follower leads within TTL + 2 s of the leader's SIGKILL")
    took = time.monotonic() - t0
    log("FIGURE takeover after SIGKILL: %.2f s (TTL %d s)" % (took, TTL))
    check(took >= TTL - TTL / 3.0 - 0.3,
          "took over after %.2f s: before the dead leader's lease could run out" % took)
    check(ha_of(fol)["term"] > term, "the term grew")
    lead.start()
    lead2 = wait_one_leader(panels, 10)
    check(lead2 is fol, "the restarted panel follows; %s keeps the lead" % fol.ha_name)
    lead, fol = fol, lead

    # --- SIGTERM of the leader: the lease is revoked
    check(etcd.get("hapanel/instances/%s" % lead.ha_name) is not None, "instances key present")
    t0 = time.monotonic()
    lead.popen.send_signal(15)
    wait_for(lambda: ha_of(fol, timeout=1) and ha_of(fol, timeout=1)["role"] == "leader", 3, 0.02,
             msg="the follower leads after the leader's SIGTERM")
    took = time.monotonic() - t0
    log("FIGURE takeover after SIGTERM: %.2f s" % took)
    check(took <= 2.0, "took over %.2f s after SIGTERM (more than 2 s: the lease was not revoked?)" % took)
    lead.stop()
    check(etcd.get("hapanel/instances/%s" % lead.ha_name) is None,
          "the stopped panel's instances key went with its lease")
    check.done()


if __name__ == "__main__":
    run_test(test, limit=150)
