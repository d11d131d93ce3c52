#!/usr/bin/env python3
"""it_alerts: alert rules against real Redis, seen through a webhook Receiver
and the alerts API (HAPANEL_ALERT_LAG_S=2, HAPANEL_ALERT_RESOLVE_AFTER_S=2,
HAPANEL_ALERT_REPLICA_DOWN_S=300 so a stopped replica trips only the lag
rule).
  lag     a replica is SIGSTOPped while a client writes to the master: an
          "alert-fired" message for rule lag on that replica arrives and
          GET /api/v1/alerts?state=active lists it; after SIGCONT one
          "alert-resolved" message arrives and the alert is resolved
  memory  maxmemory on the master is set just above used_memory (> 90 %):
          the memory alert fires; maxmemory raised again: it resolves
  ack     POST /api/v1/alerts/{id}/ack {"comment": ...} as an operator
          records the token's name (not the token), the time and the
          comment; a viewer gets 403, an unknown id 404, a bad body 400
Over the whole test every (rule, node) that fired notifies exactly once
firing and once resolving. A Telegram channel with
HAPANEL_TELEGRAM_MIN_SEVERITY=critical gets none of these warnings."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, VIEWER_TOKEN, log, redis_info, run_test, start_receiver  # noqa: E402

NAME = "mymaster"
OPERATOR_NAME = "alice"


def alert_msgs(recv, kind=None, rule=None, node=None):
    """The alert messages the webhook got: [(Received, body)]."""
    out = []
    for q in recv.got():
        b = q.json() or {}
        if b.get("type") not in ("alert-fired", "alert-resolved"):
            continue
        d = b.get("details") or {}
        if kind and b.get("type") != kind:
            continue
        if rule and d.get("rule") != rule:
            continue
        if node is not None and d.get("node") != node:
            continue
        out.append((q, b))
    return out


def summary(recv):
    return [(b.get("type"), (b.get("details") or {}).get("rule"), (b.get("details") or {}).get("node"),
             "%.3f" % q.t) for q, b in alert_msgs(recv)]


def alerts(hp, **params):
    q = "&".join("%s=%s" % kv for kv in params.items())
    return hp.json_ok("/api/v1/alerts" + ("?" + q if q else "")).get("alerts") or []


def test(env):
    wh = start_receiver(env)
    tg = start_receiver(env)
    topo = env.topology()
    hp = env.hapanel(topo, env_extra={
        "HAPANEL_API_TOKENS": "viewer:%s,operator:%s:%s" % (VIEWER_TOKEN, OPERATOR_NAME, OPERATOR_TOKEN),
        "HAPANEL_WEBHOOK_URLS": wh.url + "/hook",
        "HAPANEL_ALERT_LAG_S": "2",
        "HAPANEL_ALERT_RESOLVE_AFTER_S": "2",
        "HAPANEL_ALERT_REPLICA_DOWN_S": "300",
        "HAPANEL_ALERT_MEMORY_PCT": "90",
        "HAPANEL_TELEGRAM_BOT_TOKEN": "1234:alerts-test-token",
        "HAPANEL_TELEGRAM_CHAT_ID": "99",
        "HAPANEL_TELEGRAM_API_BASE": tg.url,
        "HAPANEL_TELEGRAM_MIN_SEVERITY": "critical",
    })
    master = topo.current_master()
    r0 = topo.initial_replicas()[0]
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 10)
    assert alerts(hp, state="all") == [], "alerts before anything happened: %s" % alerts(hp, state="all")
    r = hp.get("/api/v1/alerts?state=bogus")
    assert r.status == 400, "GET /api/v1/alerts?state=bogus -> %r" % (r,)

    # --- (a) lag -------------------------------------------------------------------
    w = env.writer(topo, rate=30)
    topo.stop(r0)
    t_stop = time.time()
    log("SIGSTOP replica %s (writer: %s)" % (r0, w.summary()))
    fired = wh.wait(lambda q: (q.json() or {}).get("type") == "alert-fired" and
                    ((q.json() or {}).get("details") or {}).get("rule") == "lag", 1, 15,
                    msg=lambda: "an alert-fired message for rule lag (alert messages: %s)" % summary(wh))
    fb = fired[0].json()
    log("lag alert fired %.1f s after SIGSTOP: %s" % (fired[0].t - t_stop, json.dumps(fb)))
    assert fb["details"].get("node") == r0 and fb.get("node") == r0, fb
    assert fb.get("cluster") == NAME and fb.get("severity") == "warning", fb
    assert fb.get("alert_id"), fb
    lag_id = fb["alert_id"]
    act = alerts(hp, state="active")
    mine = [a for a in act if a.get("id") == lag_id]
    assert len(mine) == 1 and mine[0].get("rule") == "lag" and mine[0].get("node") == r0 and \
        mine[0].get("state") == "active" and mine[0].get("resolved_at") is None, act
    assert mine[0].get("acked_by") is None, mine
    assert [a["id"] for a in alerts(hp, state="active", cluster=NAME)] == [a["id"] for a in act]
    assert alerts(hp, state="active", cluster="nosuch") == []

    # (c) ack, on the active lag alert
    r = hp.post("/api/v1/alerts/%d/ack" % lag_id, body={"comment": "looking"}, token=VIEWER_TOKEN)
    assert r.status == 403, "ack as viewer -> %r (want 403)" % (r,)
    r = hp.post("/api/v1/alerts/%d/ack" % lag_id, body={"comment": "looking"}, token=None)
    assert r.status == 401, "ack without a token -> %r (want 401)" % (r,)
    for path, body, want in (("/api/v1/alerts/999999/ack", {"comment": "x"}, 404),
                             ("/api/v1/alerts/abc/ack", {"comment": "x"}, 404),
                             ("/api/v1/alerts/%d/ack" % lag_id, "not json", 400),
                             ("/api/v1/alerts/%d/ack" % lag_id, {"comment": 5}, 400),
                             ("/api/v1/alerts/%d/ack" % lag_id, {"comment": "x", "who": "me"}, 400),
                             ("/api/v1/alerts/%d/ack" % lag_id, {"comment": "x" * 501}, 400),
                             ("/api/v1/alerts/%d/ack" % lag_id, "[1]", 400)):
        r = hp.post(path, body=body)
        assert r.status == want, "POST %s %r -> %r (want %d)" % (path, str(body)[:40], r, want)
        assert isinstance(r.body, dict) and (r.body.get("error") or {}).get("code"), r
    a0 = [a for a in alerts(hp, state="all") if a["id"] == lag_id][0]
    assert a0.get("acked_by") is None, "a refused ack changed the alert: %s" % a0
    t_ack = time.time()
    r = hp.post("/api/v1/alerts/%d/ack" % lag_id, body={"comment": "looking"})
    assert r.status == 200, "ack as operator -> %r" % (r,)
    assert r.body.get("id") == lag_id and r.body.get("acked_by") == OPERATOR_NAME, r.body
    a1 = [a for a in alerts(hp, state="active") if a["id"] == lag_id]
    assert a1, "the acked alert is no longer active: %s" % alerts(hp, state="all")
    a1 = a1[0]
    log("acked: %s" % a1)
    assert a1.get("acked_by") == OPERATOR_NAME and a1.get("ack_comment") == "looking", a1
    assert abs(a1.get("acked_at", 0) / 1000.0 - t_ack) < 5, (a1, t_ack)
    assert OPERATOR_TOKEN not in json.dumps(a1), a1

    topo.cont(r0)
    t_cont = time.time()
    log("SIGCONT replica %s" % r0)
    res = wh.wait(lambda q: (q.json() or {}).get("type") == "alert-resolved" and
                  ((q.json() or {}).get("details") or {}).get("rule") == "lag", 1, 15,
                  msg=lambda: "an alert-resolved message for rule lag (alert messages: %s)" % summary(wh))
    rb = res[0].json()
    log("lag alert resolved %.1f s after SIGCONT: %s" % (res[0].t - t_cont, json.dumps(rb)))
    assert rb["details"].get("node") == r0 and rb.get("alert_id") == lag_id, (rb, lag_id)
    assert res[0].t - t_cont >= 1.5, "resolved %.2f s after SIGCONT, before the 2 s resolve window" % (
        res[0].t - t_cont)
    a2 = [a for a in alerts(hp, state="all") if a["id"] == lag_id][0]
    assert a2.get("state") == "resolved" and a2.get("resolved_at"), a2
    assert a2.get("acked_by") == OPERATOR_NAME and a2.get("ack_comment") == "looking", a2
    assert lag_id not in [a["id"] for a in alerts(hp, state="active")]
    w.stop()
    log("writer: %s" % w.summary())

    # --- (b) memory ------------------------------------------------------------------
    # a few MB of data, so that the small ups and downs of buffers do not
    # move the ratio much: the limit makes it ~96 %, well above 90 and below
    # 100 (no eviction needed)
    with topo.client(master, timeout=10) as c:
        for lo in range(0, 4000, 500):
            c.pipeline([["SET", "mem:%d" % i, "x" * 1000] for i in range(lo, lo + 500)])
        time.sleep(0.3)
        c.cmd("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        used = redis_info(master, section="memory")["used_memory"]
        limit = int(used / 0.96)
        c.cmd("CONFIG", "SET", "maxmemory", limit)
    t_mem = time.time()
    log("maxmemory of %s set to %d (used_memory %d, %.0f %%)" % (master, limit, used, 100.0 * used / limit))

    def is_mem(kind):
        return lambda q: (q.json() or {}).get("type") == kind and \
            ((q.json() or {}).get("details") or {}).get("rule") == "memory"
    mf = wh.wait(is_mem("alert-fired"), 1, 10,
                 msg=lambda: "an alert-fired message for rule memory (alert messages: %s)" % summary(wh))
    mb = mf[0].json()
    log("memory alert fired %.1f s after CONFIG SET: %s" % (mf[0].t - t_mem, json.dumps(mb)))
    assert mb["details"].get("node") == master, (mb, master)
    mem_id = mb.get("alert_id")
    act = [a for a in alerts(hp, state="active") if a.get("rule") == "memory"]
    assert [a["id"] for a in act] == [mem_id] and act[0].get("node") == master, act
    with topo.client(master) as c:
        c.cmd("CONFIG", "SET", "maxmemory", 0)
    t_mem = time.time()
    mr = wh.wait(is_mem("alert-resolved"), 1, 10,
                 msg=lambda: "an alert-resolved message for rule memory (alert messages: %s)" % summary(wh))
    log("memory alert resolved %.1f s after maxmemory was lifted" % (mr[0].t - t_mem))
    assert mr[0].json().get("alert_id") == mem_id, mr[0].json()
    a3 = [a for a in alerts(hp, state="all") if a["id"] == mem_id][0]
    assert a3.get("state") == "resolved", a3

    # --- once each, over the whole test ------------------------------------------------
    time.sleep(3)
    log("alert messages: %s" % summary(wh))
    pairs = {}
    for q, b in alert_msgs(wh):
        d = b.get("details") or {}
        pairs.setdefault((d.get("rule"), d.get("node")), []).append(b.get("type"))
    assert ("lag", r0) in pairs and ("memory", master) in pairs, pairs
    for k, types in pairs.items():
        assert types == ["alert-fired", "alert-resolved"], \
            "%s: want one alert-fired then one alert-resolved message, got %s" % (k, types)
    deliveries = [q.header("X-Hapanel-Delivery") for q, b in alert_msgs(wh)]
    assert len(deliveries) == len(set(deliveries)), "a delivery was sent twice: %s" % deliveries
    assert tg.got() == [], "the critical-only Telegram channel got warnings: %s" % tg.got()
    rows = hp.json_ok("/api/v1/notifications?limit=1000").get("notifications") or []
    assert not [x for x in rows if x.get("channel") == "telegram"], rows
    allr = alerts(hp, state="all")
    assert not [a for a in allr if a.get("state") == "active"], allr
    for k in pairs:
        rows = [a for a in allr if (a.get("rule"), a.get("node")) == k]
        assert len(rows) == 1, "want one alert row for %s, got %s" % (k, rows)


if __name__ == "__main__":
    run_test(test)
