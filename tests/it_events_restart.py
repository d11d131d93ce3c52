#!/usr/bin/env python3
"""it_events_restart: the event history survives a restart of hapanel
(SIGTERM, exit 0, start again on the same data dir), and /api/v1/events pages
(limit/before/next_before) and filters (type, node, since, until) correctly."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402

NAME = "mymaster"


def test(env):
    topo = env.topology()
    hp = env.hapanel(topo)
    victim, other = topo.initial_replicas()
    hp.wait_nodes_up([topo.initial_master(), victim, other], NAME, 10)

    topo.kill(victim)
    log("killed replica %s" % victim)

    def node_down():
        evs = hp.events(cluster=NAME, type="node-down", node=victim).get("events") or []
        return evs
    evs = wait_for(node_down, 5, 0.1, msg="node-down event for %s" % victim)
    ev = evs[0]
    log("event before restart: %s" % ev)
    time.sleep(1.5)  # let the Sentinels' +sdown etc. arrive too: more rows for paging

    hp.stop()  # asserts exit status 0 and a clean log
    log("hapanel stopped (exit 0); starting again on the same data dir")
    hp.start()

    after = hp.events(cluster=NAME, type="node-down", node=victim).get("events") or []
    same = [e for e in after if e.get("id") == ev.get("id")]
    assert same, "event %s not returned after the restart; node-down rows now: %s" % (ev.get("id"), after)
    for k in ("ts", "type", "node", "cluster", "severity", "source", "message"):
        assert same[0].get(k) == ev.get(k), "event field %s changed across restart: %r -> %r" % (
            k, ev.get(k), same[0].get(k))

    # --- paging -----------------------------------------------------------
    full = hp.events(limit=1000)
    rows = full.get("events") or []
    assert len(rows) >= 3, "want at least 3 events for paging, have %d: %s" % (len(rows), rows)
    ids = [e["id"] for e in rows]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids), "events not newest first: %s" % ids

    pages = []
    before = None
    first = None
    for _ in range(min(5, len(rows))):
        body = hp.events(limit=1, before=before)
        page = body.get("events") or []
        assert len(page) == 1, "limit=1 page (before=%r) has %d rows" % (before, len(page))
        if first is None:
            first = page[0]["id"]
        if before is not None:
            assert page[0]["id"] < before, "page before=%r returned id %r" % (before, page[0]["id"])
        pages.append(page[0]["id"])
        nb = body.get("next_before")
        assert isinstance(nb, int) and not isinstance(nb, bool), \
            "limit=1 with older rows left: next_before=%r" % (nb,)
        before = nb
    assert len(set(pages)) == len(pages), "duplicate ids across pages: %s" % pages
    assert pages == sorted(pages, reverse=True), "page ids not strictly decreasing: %s" % pages
    # the pages are exactly the newest rows at or below the first page's id
    expect = [e["id"] for e in (hp.events(limit=len(pages), before=first + 1).get("events") or [])]
    assert pages == expect, "pages %s differ from one query of the same range %s" % (pages, expect)
    log("paging ok: %s" % pages)

    # the last page: no next_before (or a before that yields nothing)
    oldest = rows[-1]["id"]
    body = hp.events(limit=1000, before=oldest)
    assert (body.get("events") or []) == [], "rows older than the oldest: %s" % body
    if len(rows) < 1000:
        nb = full.get("next_before")
        if nb is not None:
            assert (hp.events(before=nb).get("events") or []) == [], \
                "next_before=%r of a complete list leads to more rows" % nb

    # --- filters (over the rows above: before=top keeps newer rows out) ---------
    top = ids[0] + 1
    for t in sorted(set(e["type"] for e in rows)):
        got = hp.events(type=t, limit=1000, before=top).get("events") or []
        assert got and all(e["type"] == t for e in got), "type=%s returned %s" % (t, [e["type"] for e in got])
        want = [e["id"] for e in rows if e["type"] == t]
        assert [e["id"] for e in got] == want, "type=%s: ids %s, want %s" % (t, [e["id"] for e in got], want)
    for n in sorted(set(e["node"] for e in rows if e.get("node"))):
        got = hp.events(node=n, limit=1000, before=top).get("events") or []
        assert got and all(e["node"] == n for e in got), "node=%s returned nodes %s" % (n, [e["node"] for e in got])
        want = [e["id"] for e in rows if e.get("node") == n]
        assert [e["id"] for e in got] == want, "node=%s: ids %s, want %s" % (n, [e["id"] for e in got], want)
    got = hp.events(cluster="nope", limit=1000).get("events") or []
    assert got == [], "cluster=nope returned rows: %s" % got[:3]

    tss = sorted(set(e["ts"] for e in rows))
    mid = tss[len(tss) // 2]
    s = hp.events(since=mid, limit=1000, before=top).get("events") or []
    u = hp.events(until=mid, limit=1000, before=top).get("events") or []
    assert all(e["ts"] >= mid for e in s), "since=%d returned ts %s" % (mid, [e["ts"] for e in s])
    assert all(e["ts"] <= mid for e in u), "until=%d returned ts %s" % (mid, [e["ts"] for e in u])
    assert {e["id"] for e in rows if e["ts"] > mid} <= {e["id"] for e in s}, "since=%d misses newer rows" % mid
    assert {e["id"] for e in rows if e["ts"] < mid} <= {e["id"] for e in u}, "until=%d misses older rows" % mid
    lo, hi = tss[0], tss[-1]
    b = hp.events(since=lo, until=hi, limit=1000, before=top).get("events") or []
    assert {e["id"] for e in rows if lo < e["ts"] < hi} <= {e["id"] for e in b} and \
        all(lo <= e["ts"] <= hi for e in b), "since=%d&until=%d wrong: %s" % (lo, hi, [e["ts"] for e in b])
    future = hi + 3600 * 1000
    assert (hp.events(since=future).get("events") or []) == [], "since=<an hour ahead> returned rows"
    old = hp.events(until=lo - 1).get("events") or []
    assert all(e["ts"] <= lo - 1 for e in old), "until=%d returned ts %s" % (lo - 1, [e["ts"] for e in old])
    # combined filters
    got = hp.events(cluster=NAME, type="node-down", node=victim, since=ev["ts"], until=ev["ts"]).get("events") or []
    assert ev["id"] in [e["id"] for e in got], "combined filters miss event %s: %s" % (ev["id"], got)
    log("filters ok (%d rows, types %s)" % (len(rows), sorted(set(e["type"] for e in rows))))


if __name__ == "__main__":
    run_test(test)
