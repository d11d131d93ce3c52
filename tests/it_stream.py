#!/usr/bin/env python3
"""it_stream: the live streams (issue 13, item 1), held by the HTTP edge,
never by a worker.

- GET /api/v1/events/stream: a replica killed shows up as events on an open
  stream within a second, each with its id; a stream closed and reopened
  with Last-Event-ID gets exactly the events it missed (none twice, none
  lost, in id order: compared with GET /api/v1/events), and the filters
  (cluster, type prefixes) hold on the backlog and on what comes live.
- GET /ui/stream: the dashboard's page and its notification panel arrive
  at once and again on each change; after a graceful switchover the page names the new master within
  1 s of Sentinel's +switch-master (the figure is printed).
- 40 open streams with 4 workers: health still answers at once (streams
  take no worker). Past [http] max_streams a stream request gets 503
  too_many_streams (JSON) and a closed stream frees its place.
- No token: 401; a bad Last-Event-ID: 400; neither opens a stream."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, VIEWER_TOKEN, log, run_test, wait_for  # noqa: E402
from harness.checks import Checks, call  # noqa: E402
from harness.sse import Stream, Switches  # noqa: E402

NAME = "mymaster"
check = Checks()


def api_events_after(hp, after):
    """Event ids > after from the REST history, ascending."""
    ids, before = [], None
    for _ in range(20):
        path = "/api/v1/events?limit=1000" + ("&before=%d" % before if before else "")
        page = hp.get(path).body["events"]
        ids += [e["id"] for e in page if e["id"] > after]
        if not page or page[-1]["id"] <= after:
            break
        before = page[-1]["id"]
    return sorted(ids)


def collect(stream, seconds):
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        e = stream.next(0.2)
        if e is not None:
            out.append(e)
    return out


def test(env):
    topo = env.topology()
    master = topo.current_master()
    replicas = topo.initial_replicas()
    hp = env.hapanel(topo, env_extra={"HAPANEL_HTTP_THREADS": "4", "HAPANEL_HTTP_MAX_STREAMS": "44"})
    hp.wait_nodes_up([master] + replicas, NAME, 10)

    # --- refusals open nothing
    s = Stream(hp.port, "/api/v1/events/stream")
    check(s.status == 401, "no token: %d %r" % (s.status, s.body[:200]))
    s = Stream(hp.port, "/api/v1/events/stream", VIEWER_TOKEN, {"Last-Event-ID": "12x"})
    check(s.status == 400 and b"Last-Event-ID" in s.body, "bad Last-Event-ID: %d %r" % (s.status, s.body[:200]))

    # --- live events, with ids
    ev = Stream(hp.port, "/api/v1/events/stream", VIEWER_TOKEN)
    check(ev.status == 200 and ev.headers.get("content-type", "").startswith("text/event-stream"),
          "events stream: %d %r" % (ev.status, ev.headers))
    check("x-hapanel-stream" not in ev.headers and "content-length" not in ev.headers,
          "the edge's stream header and a length reach the client: %r" % ev.headers)
    sd = Stream(hp.port, "/api/v1/events/stream?type=sdown,%2Bodown", VIEWER_TOKEN)
    other = Stream(hp.port, "/api/v1/events/stream?cluster=nosuch", VIEWER_TOKEN)
    victim = replicas[1]
    t_kill = time.monotonic()
    topo.kill(victim)
    first = ev.next(10)
    check(first is not None and first.event == "event", "an event within 10 s of the kill: %r" % first)
    got = [first] + collect(ev, 3) if first else []
    lat = (first.at - t_kill) if first else None
    log("first event %.3f s after the kill; %d events in 3 s" % (lat or -1, len(got)))
    items = [json.loads(e.data) for e in got]
    ids = [int(e.id) for e in got]
    check(ids == sorted(set(ids)) and all(int(e.id) == json.loads(e.data)["id"] for e in got),
          "ids ascending, once each, matching the JSON: %r" % ids)
    check(any(i["type"] == "+sdown" and i["node"] == victim for i in items),
          "+sdown of %s on the stream: %r" % (victim, [(i["type"], i["node"]) for i in items]))
    check(all(i["cluster"] == NAME for i in items), "cluster on every event")
    sd_items = [json.loads(e.data) for e in collect(sd, 0.5)]
    check(sd_items and all(i["type"].lstrip("+-").startswith(("sdown", "odown")) for i in sd_items),
          "type=sdown,+odown passes only those: %r" % [i["type"] for i in sd_items])
    check(any(i["type"] == "+sdown" for i in sd_items), "type=sdown passes +sdown")
    check(not collect(other, 0.3), "cluster=nosuch passes nothing")
    sd.close()
    other.close()

    # --- resume: close, more happens, reopen with the last id
    last = int(ev.last_id)
    ev.close()
    topo.restart(victim)
    hp.wait_nodes_up([master] + replicas, NAME, 15)
    time.sleep(1.5)  # the -sdown of every Sentinel
    missed = api_events_after(hp, last)
    check(len(missed) >= 2, "events while away: %r" % missed)
    ev2 = Stream(hp.port, "/api/v1/events/stream", VIEWER_TOKEN, {"Last-Event-ID": str(last)})
    back = collect(ev2, 1.0)
    back_ids = [int(e.id) for e in back]
    check(back_ids[:len(missed)] == missed,
          "resumed with exactly the missed events, in order: got %r, missed %r" % (back_ids, missed))
    check(len(back_ids) == len(set(back_ids)) and min(back_ids or [last + 1]) > last,
          "nothing twice, nothing old: %r" % back_ids)
    # ?last_event_id= for clients that cannot set the header; a filter on the backlog
    ev3 = Stream(hp.port, "/api/v1/events/stream?type=-sdown&last_event_id=%d" % last, VIEWER_TOKEN)
    b3 = [json.loads(e.data) for e in collect(ev3, 0.5)]
    check(b3 and all(i["type"] == "-sdown" and i["id"] > last for i in b3),
          "backlog filtered: %r" % [(i["id"], i["type"]) for i in b3])
    check(ev3.last_id is not None and int(ev3.last_id) >= max(missed),
          "the resume point moves past what the filter held back: %r" % ev3.last_id)
    ev3.close()

    # --- the dashboard's page
    ui = Stream(hp.port, "/ui/stream", VIEWER_TOKEN)
    page = ui.next(2, "clusters")
    check(page is not None and "data-worst" in page.data and master in page.data,
          "the page at once, naming the master: %r" % (page.data[:300] if page else None))
    panel = ui.next(2, "notify")
    check(panel is not None and "no channel configured" in panel.data,
          "the notification panel at once: %r" % (panel.data[:300] if panel else None))
    ui_b = Stream(hp.port, "/ui/stream", VIEWER_TOKEN)
    page_b = ui_b.next(1, "clusters")
    check(page_b is not None and "data-worst" in page_b.data, "a second page gets the page at once")
    ui_b.close()

    # --- 40 streams and 4 workers: health answers at once
    held = [Stream(hp.port, "/ui/stream" if i % 2 else "/api/v1/events/stream", VIEWER_TOKEN)
            for i in range(40)]
    check(all(h.status == 200 for h in held), "40 streams open: %r" % [h.status for h in held if h.status != 200])
    worst = 0
    for _ in range(20):
        t0 = time.monotonic()
        st, _, _ = call(hp.port, "GET", "/api/v1/health")
        worst = max(worst, time.monotonic() - t0)
        check(st == 200, "health with 40 streams open: %s" % st)
    log("health with 42 streams open: slowest of 20 in %.1f ms" % (worst * 1000))
    check(worst < 1.0, "health within 1 s with streams open: %.3f s" % worst)
    m = hp.get("/metrics").text
    check('hapanel_streams{topic="ui"} 21' in m and 'hapanel_streams{topic="events"} 21' in m,
          "hapanel_streams counts them: %r" % [ln for ln in m.splitlines() if "hapanel_streams" in ln])
    st, body, _ = call(hp.port, "GET", "/ui/clusters", headers={"Authorization": "Bearer " + VIEWER_TOKEN})
    check(st == 200, "a fragment with streams open: %s" % st)

    # --- the cap: 44 at most (ev2, ui and 40 held: 42 open)
    more = [Stream(hp.port, "/ui/stream", VIEWER_TOKEN) for _ in range(2)]
    over = Stream(hp.port, "/ui/stream", VIEWER_TOKEN)
    check([m.status for m in more] == [200, 200], "up to the cap: %r" % [m.status for m in more])
    err = json.loads(over.body or b"{}") if over.status == 503 else {}
    check(over.status == 503 and err.get("error", {}).get("code") == "too_many_streams",
          "past max_streams: %d %r" % (over.status, over.body[:200]))
    held.pop().close()

    def freed():
        s = Stream(hp.port, "/ui/stream", VIEWER_TOKEN)
        ok = s.status == 200
        if ok:
            more.append(s)
        return ok
    wait_for(freed, 3, 0.1, msg="a closed stream frees its place")
    for h in held + more:
        h.close()

    # --- a switchover, seen on the page within 1 s of +switch-master
    sub = Switches(topo.sentinel_addrs)
    collect(ui, 0.2)
    r = hp.post("/api/v1/clusters/%s/failover" % NAME, {"mode": "graceful"}, token=OPERATOR_TOKEN)
    check(r.status == 202, "switchover accepted: %s %s" % (r.status, r.text[:200]))
    sw = sub.next(30)
    check(sw is not None, "+switch-master within 30 s")
    t_switch, new_master, text = sw
    log("+switch-master: %s" % text)
    seen = None
    while time.monotonic() - t_switch < 5:
        e = ui.next(0.5, "clusters")
        if e and 'data-master="%s"' % new_master in e.data:
            seen = e
            break
    lat = (seen.at - t_switch) if seen else None
    log("the page names the new master %s %.0f ms after +switch-master" % (new_master, (lat or -1) * 1000))
    check(seen is not None and -0.2 <= lat < 1.0, "new master on the page within 1 s: %r" % lat)
    hp.wait_job(r.body["job_id"], 60)
    ev2.close()
    ui.close()
    sub.close()
    check.done()


if __name__ == "__main__":
    run_test(test, limit=240)
