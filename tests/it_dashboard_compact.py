#!/usr/bin/env python3
"""it_dashboard_compact: with more clusters than the full view holds (10
masters, 1 replica each, 3 Sentinels), GET /ui/clusters is a compact table,
one row per cluster, problems first: after one master is SIGKILLed its
cluster's row comes first. ?open= (names separated by newlines) draws the
named clusters in full under their rows and no others; a hostile name is
escaped, an oversized one answers 400. Forty dashboards asking at once cost
a few renders, not forty (hapanel_ui_renders_total), and they all get the
same page."""

import os
import re
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402

NAMES = ["c%02d" % i for i in range(10)]
VICTIM = "c05"


def renders(hp):
    text = hp.get("/metrics").text
    m = re.search(r"^hapanel_ui_renders_total (\d+)$", text, re.M)
    assert m, "no hapanel_ui_renders_total in /metrics: %r" % text[:500]
    return int(m.group(1))


def rows(html):
    return re.findall(r'<tr class="crow st-(\w+)" data-cluster="([^"]*)"', html)


def test(env):
    topo = env.topology(masters=NAMES, replicas=1)
    hp = env.hapanel(topo)

    def all_ok():
        cl = hp.clusters().get("clusters") or []
        return len(cl) == 10 and all(c.get("status") == "ok" for c in cl)
    wait_for(all_ok, 30, 0.2, msg="10 clusters listed, all ok")

    r = hp.get("/ui/clusters")
    assert r.status == 200, r
    got = rows(r.text)
    assert len(got) == 10 and sorted(n for _, n in got) == NAMES, got
    assert '<table class="clist">' in r.text, r.text[:500]
    assert '<section class="cluster' not in r.text, "a cluster drawn in full without ?open="
    assert [n for _, n in got] == NAMES, "all ok: by name, got %s" % got

    old = topo.initial_master(VICTIM)
    topo.kill(old)
    log("killed %s master %s" % (VICTIM, old))
    seen = {}

    def victim_first():
        seen["rows"] = rows(hp.get("/ui/clusters").text)
        st, name = seen["rows"][0]
        return name == VICTIM and st != "ok"
    wait_for(victim_first, 15, 0.2, msg=lambda: "the killed cluster's row comes first: %s" % seen.get("rows"))
    log("rows after the kill: %s" % seen["rows"][:3])
    assert all(st == "ok" for st, _ in seen["rows"][1:]), seen["rows"]

    r = hp.get("/ui/clusters?open=" + urllib.parse.quote("c03\n" + VICTIM))
    assert r.status == 200, r
    sections = re.findall(r'<section class="cluster st-\w+" data-cluster="([^"]*)"', r.text)
    assert sorted(sections) == ["c03", VICTIM], sections
    assert r.text.count('aria-expanded="true"') == 2 and r.text.count('aria-expanded="false"') == 8, \
        "two rows say collapse, eight expand"
    assert "Latest events" in r.text and "Recent jobs" in r.text, "an open cluster is drawn in full"

    r = hp.get("/ui/clusters?open=" + urllib.parse.quote('<script>alert(1)</script>"'))
    assert r.status == 200 and "<script>" not in r.text and '<section class="cluster' not in r.text, r
    r = hp.get("/ui/clusters?open=" + "x" * 3000)
    assert r.status == 400, "an oversized ?open= -> %r, want 400" % (r,)

    # forty dashboards at once: a few renders (the snapshot may change
    # meanwhile, and the second), not forty
    before = renders(hp)
    bodies, errors = [], []
    lock = threading.Lock()

    def one():
        try:
            x = hp.get("/ui/clusters", timeout=10)
            with lock:
                bodies.append((x.status, len(x.raw)))
        except Exception as e:  # noqa: BLE001 - reported below
            with lock:
                errors.append(repr(e))
    threads = [threading.Thread(target=one) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    after = renders(hp)
    log("40 concurrent GET /ui/clusters: %d renders" % (after - before))
    assert not errors and len(bodies) == 40 and all(s == 200 for s, _ in bodies), (errors, bodies)
    assert after - before <= 10, "40 requests cost %d renders" % (after - before)


if __name__ == "__main__":
    run_test(test)
