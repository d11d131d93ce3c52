#!/usr/bin/env python3
"""it_notify_retry: four webhook channels (HAPANEL_WEBHOOK_URLS with four
URLs, HAPANEL_NOTIFY_MAX_ATTEMPTS=3):
  webhook-1  flaky: answers 500 twice, then 200, for every new delivery
             (X-Hapanel-Delivery)
  webhook-2  dead: a loopback port nothing listens on
  webhook-3  slow: answers 200 only after 8 s
  webhook-4  live: answers 200 at once
  webhook-5  blackhole: a connect that never completes (curl's 3 s connect
             timeout each attempt)
The master is SIGKILLed. The live endpoint gets the failover message within
2 s of the +switch-master whatever the dead and slow ones do; the flaky one
sees exactly 3 attempts, 1 s and 2 s apart (exponential backoff), answers 200
exactly once, and its outbox row is delivered with attempts 3; the dead one's
row is pending with a last_error, then failed after 3 attempts; the slow one
is delivered once after its 8 s; the blackhole's row is pending with a
timeout, then failed. Nothing is sent twice."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Receiver, log, run_test, start_blackhole, start_receiver, wait_for  # noqa: E402

NAME = "mymaster"
LATENCY_S = 2.0
SLOW_S = 8.0


def test(env):
    flaky = start_receiver(env).per_key("X-Hapanel-Delivery", [500, 500, 200])
    slow = start_receiver(env).delay(SLOW_S)
    live = start_receiver(env)
    dead = Receiver.dead_url()
    hole = start_blackhole(env)
    urls = [flaky.url + "/flaky", dead + "/dead", slow.url + "/slow", live.url + "/live",
            hole + "/hole"]
    ch = {"flaky": "webhook-1", "dead": "webhook-2", "slow": "webhook-3", "live": "webhook-4",
          "hole": "webhook-5"}
    topo = env.topology()
    hp = env.hapanel(topo, env_extra={
        "HAPANEL_WEBHOOK_URLS": ",".join(urls),
        "HAPANEL_NOTIFY_MAX_ATTEMPTS": "3",
    })
    old = topo.current_master()
    hp.wait_nodes_up([old] + topo.initial_replicas(), NAME, 10)
    r = hp.get("/api/v1/notifications?state=bogus")
    assert r.status == 400, "GET /api/v1/notifications?state=bogus -> %r (want 400)" % (r,)
    assert hp.json_ok("/api/v1/notifications").get("notifications") == [], \
        "outbox not empty before anything happened"

    topo.kill(old)
    log("killed master %s" % old)
    # (under load Sentinel may fail over once more right after: the failover
    # of this SIGKILL is the one whose old master is the killed node)
    def switch_event():
        evs = hp.events(cluster=NAME, type="+switch-master").get("events") or []
        return [e for e in evs if (e.get("details") or {}).get("old_master") == old]
    evs = wait_for(switch_event, 30, 0.1, msg="a +switch-master event from %s is stored" % old)
    ts = evs[0]["ts"] / 1000.0
    new = (evs[0].get("details") or {}).get("new_master")
    log("+switch-master at %.3f: %s -> %s" % (ts, old, new))
    # (on a loaded machine Sentinel may abort a first attempt and try again:
    # the failover followed is the one that promoted new)
    fos = wait_for(lambda: [f for f in hp.failovers(cluster=NAME)
                            if f.get("old_master") == old and f.get("new_master") == new], 5,
                   0.1, msg="the failover is recorded")
    assert len(fos) == 1, fos
    key = "failover:%d" % fos[0]["id"]

    def for_key(q):
        return q.header("X-Hapanel-Delivery") == key

    # live: within 2 s, although the dead and slow endpoints have the same message
    lv = live.wait(for_key, 1, 10, msg="the live endpoint gets %s" % key)[0]
    lat = lv.t - ts
    log("live endpoint got %s %.0f ms after +switch-master" % (key, lat * 1000))
    assert -0.5 <= lat <= LATENCY_S, "live endpoint got the failover message %.3f s after " \
        "+switch-master (want <= %.1f s): the dead or slow endpoint delayed it" % (lat, LATENCY_S)
    body = lv.json()
    assert body.get("type") == "failover" and (body.get("details") or {}).get("old_master") == old, body
    sl = slow.wait(for_key, 1, 5, msg="the slow endpoint gets %s" % key)[0]
    log("slow endpoint got the request %.0f ms after +switch-master (answers after %.0f s)" % (
        (sl.t - ts) * 1000, SLOW_S))
    assert sl.t - ts <= LATENCY_S, "slow endpoint's request came %.3f s late" % (sl.t - ts)

    def rows():
        return [x for x in hp.json_ok("/api/v1/notifications?limit=1000").get("notifications") or []
                if x.get("key") == key]

    def row(name):
        got = [x for x in rows() if x.get("channel") == ch[name]]
        assert len(got) == 1, "want one outbox row of %s on %s, got %s" % (key, ch[name], rows())
        return got[0]

    # dead: pending with the reason, while the others go on
    seen = {}

    def dead_pending():
        x = seen["d"] = row("dead")
        return x if x.get("state") == "pending" and x.get("last_error") else None
    dp = wait_for(dead_pending, 3, 0.05, msg=lambda: "the dead endpoint's row is pending with a "
                  "last_error (it is %s)" % seen.get("d"))
    log("dead endpoint's row while retrying: %s" % dp)
    assert dp.get("next_attempt_at"), dp

    # flaky: 500, 500, 200 -> delivered with attempts 3
    fl = flaky.wait(for_key, 3, 10, msg="3 attempts of %s at the flaky endpoint" % key)
    gaps = [fl[1].t - fl[0].t, fl[2].t - fl[1].t]
    log("flaky endpoint attempts at +%s s after +switch-master (gaps %s s), answered %s" % (
        ["%.3f" % (q.t - ts) for q in fl], ["%.3f" % g for g in gaps], [q.status for q in fl]))
    assert 0.9 <= gaps[0] <= 2.5 and 1.9 <= gaps[1] <= 3.5, "backoff gaps %s, want ~1 s then ~2 s" % gaps

    def settled(name, state):
        x = seen[name] = row(name)
        return x if x.get("state") == state else None
    fr = wait_for(lambda: settled("flaky", "delivered"), 5, 0.1,
                  msg=lambda: "the flaky endpoint's row is delivered (it is %s)" % seen.get("flaky"))
    assert fr.get("attempts") == 3 and fr.get("delivered_at"), fr
    log("flaky endpoint's row: %s" % fr)
    lr = wait_for(lambda: settled("live", "delivered"), 3, 0.1, msg="the live endpoint's row is delivered")
    assert lr.get("attempts") == 1, lr

    # dead: failed after 3 attempts (backoff 1 s, 2 s: about 3 s after the first)
    dr = wait_for(lambda: settled("dead", "failed"), 12, 0.1,
                  msg=lambda: "the dead endpoint's row ends failed (it is %s)" % seen.get("dead"))
    log("dead endpoint's row: %s (failed %.1f s after +switch-master)" % (dr, time.time() - ts))
    assert dr.get("attempts") == 3 and dr.get("last_error"), dr
    assert dr.get("next_attempt_at") is None and dr.get("delivered_at") is None, dr
    failed = hp.json_ok("/api/v1/notifications?state=failed").get("notifications") or []
    assert [x.get("id") for x in failed if x.get("key") == key] == [dr["id"]], failed

    # blackhole: each attempt times out connecting (3 s), then 1 s / 2 s backoff
    def hole_retrying():
        x = seen["hole"] = row("hole")
        return x if x.get("state") == "pending" and x.get("last_error") else None
    hole_row = wait_for(hole_retrying, 6, 0.1, msg=lambda: "the blackhole's row is pending with a "
                        "last_error (it is %s)" % seen.get("hole"))
    log("blackhole's row while retrying: %s" % hole_row)

    # slow: delivered once after its 8 s, not retried
    sr = wait_for(lambda: settled("slow", "delivered"), SLOW_S + 6, 0.2,
                  msg=lambda: "the slow endpoint's row is delivered (it is %s)" % seen.get("slow"))
    log("slow endpoint's row: %s (delivered %.1f s after its request)" % (
        sr, sr["delivered_at"] / 1000.0 - sl.t))
    assert sr.get("attempts") == 1, sr
    hr = wait_for(lambda: settled("hole", "failed"), 15, 0.2,
                  msg=lambda: "the blackhole's row ends failed (it is %s)" % seen.get("hole"))
    log("blackhole's row: %s (failed %.1f s after +switch-master)" % (hr, time.time() - ts))
    assert hr.get("attempts") == 3 and hr.get("last_error"), hr
    pending = hp.json_ok("/api/v1/notifications?state=pending").get("notifications") or []
    assert not [x for x in pending if x.get("key") == key], pending

    # nothing more arrives
    time.sleep(3)
    fl = flaky.got(for_key)
    assert len(fl) == 3 and [q.status for q in fl] == [500, 500, 200], \
        "flaky endpoint: want exactly 3 attempts answered 500, 500, 200, got %s" % fl
    assert len(live.got(for_key)) == 1, live.got(for_key)
    assert len(slow.got(for_key)) == 1, slow.got(for_key)
    bodies = {q.body for q in fl + live.got(for_key) + slow.got(for_key)}
    assert len(bodies) == 1, "the same message differs between attempts or channels: %s" % bodies


if __name__ == "__main__":
    run_test(test)
