#!/usr/bin/env python3
"""it_stream_resume: an events stream resuming far behind gets every event
it missed, once, in order, over as many reconnects as it takes, and then
stays open (issue 13, item 1; the review's resume findings).

hapanel is stopped and 5,000 events are added to its history (clusters
"bulk" and "other", alternating); after its restart:
- from Last-Event-ID 0, reconnecting (as EventSource does, with the last id
  it got) whenever hapanel ends the stream: the ids are exactly the
  history's, ascending, none twice, in 3 to 5 connections (2,000 per
  connection at most), and the last connection stays open;
- the same with ?cluster=bulk: exactly bulk's ids, and once caught up the
  stream stays open (the resume point moves past the other cluster's
  events, so it does not reconnect for ever);
- Last-Event-ID 9223372036854775807 (more than any id): 200, and it stays
  open; a 56-byte type filter of 6 terms: 200; 9 terms: 400."""

import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import VIEWER_TOKEN, log, run_test  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.sse import Stream  # noqa: E402

check = Checks()
N = 5000


def drain(hp, last, path="/api/v1/events/stream", most=12):
    """Reconnects from last until a connection stays open for 1.5 s:
    (ids received, connections made, the open stream)."""
    ids, conns = [], 0
    while conns < most:
        conns += 1
        s = Stream(hp.port, path, VIEWER_TOKEN, {"Last-Event-ID": str(last)})
        if s.status != 200:
            raise AssertionError("resume from %s: %d %r" % (last, s.status, s.body[:200]))
        quiet = time.monotonic()
        while True:
            e = s.next(0.1)
            if e is not None:
                ids.append(int(e.id))
                quiet = time.monotonic()
                continue
            if s.closed.is_set() and s.events.empty():
                break
            if time.monotonic() - quiet > 1.5:
                return ids, conns, s
        if s.last_id is not None:
            last = int(s.last_id)
    raise AssertionError("still reconnecting after %d connections (%d ids)" % (conns, len(ids)))


def test(env):
    topo = env.topology(replicas=0, sentinels=1, quorum=1)
    hp = env.hapanel(topo)
    hp.stop()
    db = sqlite3.connect(os.path.join(hp.data_dir, "hapanel.db"))
    now = int(time.time() * 1000)
    db.executemany("INSERT INTO events (ts, cluster, type, severity, source, node, message, details)"
                   " VALUES (?,?,?,?,?,?,?,?)",
                   [(now - (N - i) * 10, "bulk" if i % 2 == 0 else "other", "+sdown", "info",
                     "test", "10.0.0.1:6379", "bulk %d" % i, "{}") for i in range(N)])
    db.commit()
    db.close()
    hp.start()
    time.sleep(1.0)  # the start's own events
    db = sqlite3.connect(os.path.join(hp.data_dir, "hapanel.db"))
    all_ids = [r[0] for r in db.execute("SELECT id FROM events ORDER BY id")]
    bulk_ids = [r[0] for r in db.execute("SELECT id FROM events WHERE cluster='bulk' ORDER BY id")]
    db.close()

    ids, conns, s = drain(hp, 0)
    log("from 0: %d ids in %d connections" % (len(ids), conns))
    check(ids[:len(all_ids)] == all_ids, "every event once, in order: got %d ids (%r...), history %d"
          % (len(ids), ids[:3], len(all_ids)))
    check(len(ids) == len(set(ids)), "nothing twice")
    check(3 <= conns <= 5, "%d events in %d connections (2,000 at most each)" % (len(all_ids), conns))
    check(not s.closed.is_set(), "the caught-up stream stays open")
    s.close()

    ids, conns, s = drain(hp, 0, "/api/v1/events/stream?cluster=bulk")
    log("cluster=bulk from 0: %d ids in %d connections" % (len(ids), conns))
    check(ids == bulk_ids, "bulk's events exactly: %d vs %d" % (len(ids), len(bulk_ids)))
    check(conns <= 5 and not s.closed.is_set(), "caught up and open (%d connections)" % conns)
    s.close()

    s = Stream(hp.port, "/api/v1/events/stream", VIEWER_TOKEN,
               {"Last-Event-ID": "9223372036854775807"})
    time.sleep(1.0)
    check(s.status == 200 and not s.closed.is_set(), "an id past the newest: %d, closed %s"
          % (s.status, s.closed.is_set()))
    s.close()
    s = Stream(hp.port, "/api/v1/events/stream?type=%2Bsdown,-sdown,%2Bodown,-odown,"
               "%2Bswitch-master,%2Bfailover-end", VIEWER_TOKEN)
    check(s.status == 200, "a 56-byte filter of 6 terms: %d %r" % (s.status, s.body[:200]))
    s.close()
    s = Stream(hp.port, "/api/v1/events/stream?type=a,b,c,d,e,f,g,h,i", VIEWER_TOKEN)
    check(s.status == 400 and b"type" in s.body, "9 terms: %d %r" % (s.status, s.body[:200]))
    check.done()


if __name__ == "__main__":
    run_test(test, limit=120)
