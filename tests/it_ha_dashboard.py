#!/usr/bin/env python3
"""it_ha_dashboard: the dashboard shows every panel instance, which one leads
and since when (issue 15 item 4), through GET /ui/instances, on two panels of
one HA fleet on a 3-member etcd cluster (lease TTL 3 s), one Sentinel topology.
  list      each panel's fragment lists both instances (name and advertise
            URL), names the same leader with a since time (data-since, ms,
            the leader key's time as GET /api/v1/health says it), marks only
            itself "this panel", says etcd ok, and polls itself (hx-trigger)
  page      the page has the instances container and the cluster filter
  kill      SIGKILL of the leader: within TTL + 2 s the survivor's fragment
            shows itself as the leader, with a since newer than the old one,
            and the dead panel drops out of its list once its lease ran out
  no-ha     a panel without [ha] answers /ui/instances 200 with an empty body
            (no panel, no poll)."""

import html
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.etcd import ha_of, require_etcd, wait_one_leader  # noqa: E402

TTL = 3
check = Checks()
ROW = re.compile(r'<li class="inst([^"]*)" data-role="(leader|follower)" data-instance="([^"]*)"'
                 r'(?: data-since="(\d+)")?><strong class="iname">[^<]*</strong> '
                 r'<span class="iurl">([^<]*)</span>(.*?)</li>')


def rows(p):
    """The instances of p's fragment: {name: {role, since, url, self}}, and the text."""
    r = p.get("/ui/instances")
    assert r.status == 200, "GET /ui/instances on %s: %r" % (p.ha_name, r)
    out = {}
    for cls, role, name, since, url, rest in ROW.findall(r.text):
        out[html.unescape(name)] = {"role": role, "since": int(since) if since else None,
                                    "url": html.unescape(url), "self": "this panel" in rest,
                                    "cls": cls}
    return out, r.text


def check_list(p, panels, leader, what):
    got, text = rows(p)
    check(sorted(got) == sorted(x.ha_name for x in panels),
          "%s: %s lists %s (%s)" % (what, p.ha_name, [x.ha_name for x in panels], sorted(got)))
    check('hx-get="/ui/instances" hx-trigger="every 5s"' in text,
          "%s: %s's fragment polls itself" % (what, p.ha_name))
    check('<span class="k">etcd</span> <span class="badge st-ok">ok</span>' in text,
          "%s: %s says etcd ok" % (what, p.ha_name))
    for x in panels:
        row = got.get(x.ha_name) or {}
        check(row.get("url") == x.base, "%s: %s shows %s's URL %s (%s)" % (
            what, p.ha_name, x.ha_name, x.base, row.get("url")))
        check(row.get("role") == ("leader" if x is leader else "follower"),
              "%s: %s shows %s as %s (%s)" % (what, p.ha_name, x.ha_name,
                                              "leader" if x is leader else "follower", row))
        check(row.get("self") == (x is p), "%s: %s marks %s 'this panel': %s" % (
            what, p.ha_name, x.ha_name, x is p))
    lrow = got.get(leader.ha_name) or {}
    since = lrow.get("since")
    hs = ((ha_of(p) or {}).get("leader") or {}).get("since")
    check(since is not None and since > 0 and hs is not None and abs(since - hs) < 1,
          "%s: %s's leader row has data-since %s = health's leader.since %s" % (
              what, p.ha_name, since, hs))
    check(" since " in text and "UTC (" in text, "%s: %s says since when in UTC" % (what, p.ha_name))
    return since


def test(env):
    require_etcd()
    etcd = env.etcd(3)
    topo = env.topology()
    panels = env.ha_panels(topo, etcd, n=2, ttl=TTL)

    # --- list ------------------------------------------------------------
    leader = wait_one_leader(panels, 5 + TTL)
    log("leader: %s" % leader.ha_name)
    # both instances/ keys registered, and each panel's 2 s cache caught up
    wait_for(lambda: all(len(rows(p)[0]) == 2 for p in panels), 2 * TTL + 3,
             msg=lambda: "both panels list both instances (%s)" % {
                 p.ha_name: sorted(rows(p)[0]) for p in panels})
    sinces = [check_list(p, panels, leader, "list") for p in panels]
    check(sinces[0] == sinces[1], "both panels name the same since (%s)" % sinces)
    old_since = sinces[0] or 0

    # --- page ------------------------------------------------------------
    page = panels[0].get("/", token=None)
    check(page.status == 200 and 'id="instances" hx-get="/ui/instances"' in page.text,
          "the page has the instances container")
    check('<input type="search" id="cfilter"' in page.text and 'for="cfilter"' in page.text,
          "the page has the labelled cluster filter")

    # --- kill ------------------------------------------------------------
    survivor = [p for p in panels if p is not leader][0]
    t0 = time.monotonic()
    leader.kill()
    log("SIGKILLed the leader %s" % leader.ha_name)

    def survivor_leads():
        got, _ = rows(survivor)
        me = got.get(survivor.ha_name) or {}
        return me if me.get("role") == "leader" and me.get("self") else None

    me = wait_for(survivor_leads, TTL + 2 + 1, interval=0.1,
                  msg=lambda: "the survivor's fragment shows itself leading (%s)" % (
                      rows(survivor)[0],))
    dt = time.monotonic() - t0
    log("FIGURE fragment shows the new leader %.2f s after the SIGKILL" % dt)
    check(dt <= TTL + 2, "the survivor's fragment shows it leading within TTL + 2 s (%.2f s)" % dt)
    check(me.get("since") and me["since"] > old_since,
          "the new since %s is newer than the old %s" % (me.get("since"), old_since))
    wait_for(lambda: leader.ha_name not in rows(survivor)[0], TTL + 4,
             msg=lambda: "the killed %s drops out of the list (%s)" % (leader.ha_name,
                                                                     rows(survivor)[0]))
    got, _ = rows(survivor)
    check(sorted(got) == [survivor.ha_name] and got[survivor.ha_name]["role"] == "leader",
          "afterwards the list is the survivor alone, leading (%s)" % got)

    # --- no-ha -----------------------------------------------------------
    plain = env.hapanel(topo)
    r = plain.get("/ui/instances")
    check(r.status == 200 and r.text.strip() == "",
          "a panel without HA answers /ui/instances with nothing (%r: %r)" % (r.status, r.text[:200]))
    r = plain.get("/ui/clusters")
    check(r.status == 200 and "hapanels" not in r.text, "and its clusters page has no instances panel")
    check.done()


if __name__ == "__main__":
    run_test(test, limit=120)
