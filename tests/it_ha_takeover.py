#!/usr/bin/env python3
"""it_ha_takeover: three panels of one HA fleet (issue 15) on a 3-member
etcd cluster (tests/harness/etcd.py), lease TTL 3 s, one Sentinel topology.
  elect     exactly one panel says role leader in GET /api/v1/health and
            the other two name it (ha.leader.instance, its advertise URL);
            the etcd leader key holds that instance, and its
            create_revision is the term every panel reports; the leader's
            history has a leader-elected event; /metrics has
            hapanel_ha_leader 1 on exactly one panel, 0 on the others;
            every panel has its <prefix>/instances/<name> key
  kill      SIGKILL of the leader: a follower says leader within TTL + 2 s
            but not before the dead leader's lease can have run out (TTL
            minus one keep-alive period: an earlier takeover would be two
            leaders), never two live leaders meanwhile, the survivors agree,
            the term grew, the new leader's history has its leader-elected
            event; the figure is printed
  rejoin    the killed panel started again comes back as a follower naming
            the new leader, and the leader keeps the lead (no flapping)
  sigterm   SIGTERM of the leader (the lease is revoked on a clean stop):
            another panel leads within 2 s (0.2-0.8 s measured), and the stopped panel's
            instances/ key is gone at once (not after a TTL)."""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.etcd import ha_of, leaders, require_etcd, wait_one_leader  # noqa: E402

TTL = 3
PREFIX = "hapanel"
check = Checks()


def metric(text, name, **labels):
    """The value of the first sample of name with labels (None if absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, val = line.rpartition(" ")
        if head != name and not head.startswith(name + "{"):
            continue
        if all('%s="%s"' % (k, v) in head for k, v in labels.items()):
            try:
                return float(val)
            except ValueError:
                return None
    return None


def check_agreement(panels, leader, etcd, what):
    """Every live panel's health names leader; the etcd key agrees; one
    hapanel_ha_leader 1. Returns the term."""
    lk = etcd.leader_key(PREFIX)
    check(lk is not None and lk.get("id") == leader.ha_name,
          "%s: etcd %s/leader holds %s (it holds %s)" % (what, PREFIX, leader.ha_name, lk))
    term = (lk or {}).get("_create_revision")
    for p in panels:
        if not p.running():
            continue
        h = ha_of(p) or {}
        role = "leader" if p is leader else "follower"
        check(h.get("enabled") is True, "%s: %s health ha.enabled true (%s)" % (what, p.ha_name, h))
        check(h.get("role") == role, "%s: %s is %s (%s)" % (what, p.ha_name, role, h))
        check(h.get("instance") == p.ha_name, "%s: %s names itself in ha.instance (%s)" % (
            what, p.ha_name, h.get("instance")))
        ld = h.get("leader") or {}
        check(ld.get("instance") == leader.ha_name and ld.get("url") == leader.base,
              "%s: %s names leader %s at %s (%s)" % (what, p.ha_name, leader.ha_name, leader.base, ld))
        check(isinstance(ld.get("since"), (int, float)) and ld.get("since") > 0,
              "%s: %s has leader.since (%s)" % (what, p.ha_name, ld))
        check(h.get("etcd") == "ok", "%s: %s etcd ok (%s)" % (what, p.ha_name, h.get("etcd")))
        check(term is not None and h.get("term") == term,
              "%s: %s reports term %s, the leader key's create_revision (%s)" % (
                  what, p.ha_name, term, h.get("term")))
        m = p.get("/metrics")
        if check(m.status == 200, "%s: %s /metrics 200 (%d)" % (what, p.ha_name, m.status)):
            v = metric(m.text, "hapanel_ha_leader")
            check(v == (1.0 if p is leader else 0.0),
                  "%s: %s hapanel_ha_leader %s (got %s)" % (what, p.ha_name, int(p is leader), v))
            check(metric(m.text, "hapanel_ha_etcd_up") == 1.0,
                  "%s: %s hapanel_ha_etcd_up 1" % (what, p.ha_name))
    return term


def elected_events(p, since_ms=0):
    try:
        evs = p.events(type="leader-elected", limit=50).get("events") or []
    except AssertionError:
        return []
    return [e for e in evs if e.get("type") == "leader-elected" and (e.get("ts") or 0) >= since_ms]


def instance_keys(etcd):
    return sorted(k[len(PREFIX + "/instances/"):]
                  for k, _, _ in etcd.range(PREFIX + "/instances/", prefix=True))


def wait_new_leader(candidates, t0, timeout, live):
    """Polls every candidate's health every 50 ms until one says leader;
    checks meanwhile that no two live panels say leader. Returns (panel,
    seconds since t0)."""
    deadline = t0 + timeout
    doubles = []
    while time.monotonic() < deadline:
        ls = leaders(live, timeout=0.5)
        if len(ls) > 1:
            doubles.append([p.ha_name for p in ls])
        got = [p for p in ls if p in candidates]
        if got:
            dt = time.monotonic() - t0
            check(not doubles, "never two live leaders (seen %s)" % doubles[:3])
            return got[0], dt
        time.sleep(0.05)
    raise AssertionError("no new leader within %.1f s; health: %s" % (
        timeout, json.dumps({p.ha_name: ha_of(p) for p in candidates})[:2000]))


def test(env):
    require_etcd()
    etcd = env.etcd(3)
    topo = env.topology()
    panels = env.ha_panels(topo, etcd, n=3, ttl=TTL)

    # --- elect ---------------------------------------------------------
    t_start = time.time() * 1000 - 60000
    leader = wait_one_leader(panels, 5 + TTL)
    log("leader: %s" % leader.ha_name)
    term1 = check_agreement(panels, leader, etcd, "elect")
    ev = wait_for(lambda: elected_events(leader, t_start), 5, msg="a leader-elected event on %s"
                  % leader.ha_name)
    check(leader.ha_name in (ev[0].get("message") or ""),
          "the leader-elected event names %s (%s)" % (leader.ha_name, ev[0]))
    for p in panels:
        if p is not leader:
            check(not elected_events(p, t_start),
                  "follower %s has no leader-elected event (%s)" % (p.ha_name, elected_events(p)))
    check(instance_keys(etcd) == sorted(p.ha_name for p in panels),
          "every panel has its instances/ key (%s)" % instance_keys(etcd))
    def listed():  # the list is read from etcd every second, not per request
        x = panels[0].get("/api/v1/instances")
        return x if x.status == 200 and all(p.ha_name in x.text for p in panels) else None

    r = wait_for(listed, 3, 0.1, msg="every panel in GET /api/v1/instances")
    if check(r.status == 200, "GET /api/v1/instances 200 (%r)" % r):
        for p in panels:
            check(p.ha_name in r.text, "/api/v1/instances lists %s (%s)" % (p.ha_name, r.text[:500]))

    # --- kill ----------------------------------------------------------
    others = [p for p in panels if p is not leader]
    old = leader
    t_kill_ms = time.time() * 1000
    t0 = time.monotonic()
    old.kill()
    log("SIGKILLed the leader %s" % old.ha_name)
    new, dt = wait_new_leader(others, t0, TTL + 2 + 1, others)
    log("FIGURE takeover after SIGKILL (TTL %d s): %.2f s, by %s" % (TTL, dt, new.ha_name))
    check(dt <= TTL + 2, "takeover after SIGKILL within TTL + 2 s = %d s (took %.2f s)" % (TTL + 2, dt))
    # the dead leader's last keep-alive was at most TTL/3 before the kill:
    # its lease lives at least TTL*2/3 more; a follower leading earlier
    # would have led beside a leader that was still entitled to act
    check(dt >= TTL * 2.0 / 3 - 0.2, "no takeover before the lease can have expired (%.2f s < %.2f s)"
          % (dt, TTL * 2.0 / 3 - 0.2))
    wait_one_leader(others, 3)
    term2 = check_agreement(others, new, etcd, "after kill")
    check(term1 is not None and term2 is not None and term2 > term1,
          "the term grew (%s -> %s)" % (term1, term2))
    wait_for(lambda: elected_events(new, t_kill_ms), 5, msg="a leader-elected event on the new "
             "leader %s" % new.ha_name)
    wait_for(lambda: old.ha_name not in instance_keys(etcd), TTL + 2,
             msg="the killed panel's instances/ key expires with its lease")

    # --- rejoin ----------------------------------------------------------
    old.start()
    log("restarted %s" % old.ha_name)
    wait_for(lambda: (ha_of(old) or {}).get("role") == "follower" and
             ((ha_of(old) or {}).get("leader") or {}).get("instance") == new.ha_name, TTL + 2,
             msg=lambda: "the restarted %s is a follower naming %s (%s)" % (old.ha_name, new.ha_name,
                                                                           ha_of(old)))
    end = time.monotonic() + 2 * TTL
    while time.monotonic() < end:
        ls = leaders(panels, timeout=0.5)
        if [p.ha_name for p in ls] != [new.ha_name]:
            check(False, "after the rejoin %s keeps the lead (leaders now: %s)" % (
                new.ha_name, [p.ha_name for p in ls]))
            break
        time.sleep(0.2)
    check_agreement(panels, new, etcd, "after rejoin")

    # --- sigterm ---------------------------------------------------------
    rest = [p for p in panels if p is not new]
    t0 = time.monotonic()
    new.popen.send_signal(signal.SIGTERM)
    log("SIGTERM to the leader %s" % new.ha_name)
    nxt, dt = wait_new_leader(rest, t0, 5, rest)
    log("FIGURE takeover after SIGTERM: %.2f s, by %s" % (dt, nxt.ha_name))
    check(dt <= 2.0, "takeover after SIGTERM within 2 s, well inside the TTL (the lease is revoked; took %.2f s)" % dt)
    rc = new.stop()
    check(rc == 0, "the stopped leader exited 0")
    check(new.ha_name not in instance_keys(etcd),
          "the stopped panel's instances/ key is gone at once (%s)" % instance_keys(etcd))
    wait_one_leader(rest, 3)
    check_agreement(rest, nxt, etcd, "after sigterm")
    check.done()


if __name__ == "__main__":
    run_test(test, limit=180)
