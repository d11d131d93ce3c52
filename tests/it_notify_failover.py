#!/usr/bin/env python3
"""it_notify_failover: a webhook and a Telegram channel, each a local
Receiver. The master is SIGKILLed; Sentinel fails over; each channel gets
exactly one failover message within 2 s of the +switch-master (the ts of that
event in GET /api/v1/events), and still exactly one a few seconds later.
The webhook message is the event object (type failover, details.kind
automatic, old and new master), carries the extra headers of
HAPANEL_WEBHOOK_HEADERS and an X-Hapanel-Signature that verifies as the
HMAC-SHA256 of the raw body with the shared secret; the Telegram message is a
POST to {api_base}/bot{token}/sendMessage with chat_id and a readable text
naming the cluster and old -> new master. POST /api/v1/notifications/test
(operator) reports one ok result per channel and the receivers get a test
message; a viewer gets 403. The bot token and the webhook secret show nowhere:
not in hapanel's log, not in any API response fetched, not in the events."""

import hashlib
import hmac
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, start_receiver, wait_for  # noqa: E402

NAME = "mymaster"
TOKEN = "987654321:AAH-botT0ken_zX9qWv"
SECRET = "whsec-7Kq2-Pz91-shared"
CHAT_ID = "-1001234567"
LATENCY_S = 2.0


def test(env):
    wh = start_receiver(env)
    tg = start_receiver(env)
    topo = env.topology()
    hp = env.hapanel(topo, env_extra={
        "HAPANEL_WEBHOOK_URLS": wh.url + "/hook",
        "HAPANEL_WEBHOOK_SECRET": SECRET,
        "HAPANEL_WEBHOOK_HEADERS": "X-Team: ops|X-Env: test",
        "HAPANEL_TELEGRAM_BOT_TOKEN": TOKEN,
        "HAPANEL_TELEGRAM_CHAT_ID": CHAT_ID,
        "HAPANEL_TELEGRAM_API_BASE": tg.url,
    })
    # every API response this test reads is kept: none may name a secret
    responses = []
    orig_request = hp.request

    def recording_request(*a, **kw):
        r = orig_request(*a, **kw)
        responses.append(("%s %s" % (a[0], a[1]), r.text))
        return r
    hp.request = recording_request

    old = topo.current_master()
    hp.wait_nodes_up([old] + topo.initial_replicas(), NAME, 10)

    # --- the test message ------------------------------------------------------
    r = hp.post("/api/v1/notifications/test", body={}, token="viewtok")
    assert r.status == 403, "POST /api/v1/notifications/test as viewer -> %r (want 403)" % (r,)
    assert not wh.got() and not tg.got(), "a viewer's test request reached a receiver: %s %s" % (
        wh.got(), tg.got())
    r = hp.post("/api/v1/notifications/test", body={}, timeout=30)
    assert r.status == 200, "POST /api/v1/notifications/test as operator -> %r" % (r,)
    results = r.body.get("results")
    log("test results: %s" % results)
    assert isinstance(results, list) and len(results) == 2, results
    by_kind = {x.get("kind"): x for x in results}
    assert set(by_kind) == {"webhook", "telegram"}, results
    for x in results:
        assert x.get("ok") is True and x.get("error") is None and x.get("channel"), x
    twh = wh.wait(lambda q: (q.json() or {}).get("type") == "test", 1, 5,
                  msg="the webhook receiver gets the test message")[0]
    ttg = tg.wait(lambda q: "sendMessage" in q.path, 1, 5,
                  msg="the Telegram receiver gets the test message")[0]
    assert "test" in (ttg.json() or {}).get("text", ""), ttg
    assert len(wh.got()) == 1 and len(tg.got()) == 1, (wh.got(), tg.got())
    sig = twh.header("X-Hapanel-Signature")
    want = "sha256=" + hmac.new(SECRET.encode(), twh.body, hashlib.sha256).hexdigest()
    assert sig == want, "test message signature %r, want %r" % (sig, want)
    log("test message: webhook %s, telegram %s" % (twh, ttg))

    # --- the failover ----------------------------------------------------------
    topo.kill(old)
    log("killed master %s" % old)

    def new_master():
        for s, m in topo.sentinel_masters().items():
            if m and m != old:
                return m
        return None
    new = wait_for(new_master, 30, 0.1, msg="a Sentinel reports a new master after killing %s" % old)
    log("Sentinel reports new master %s" % new)

    def is_failover_wh(q):
        return (q.json() or {}).get("type") == "failover"

    def is_failover_tg(q):
        return "sendMessage" in q.path and " failover " in ((q.json() or {}).get("text") or "")

    evs = wait_for(lambda: hp.events(cluster=NAME, type="+switch-master").get("events"), 10, 0.1,
                   msg="a +switch-master event is stored")
    ts = evs[0]["ts"] / 1000.0
    fw = wh.wait(is_failover_wh, 1, 10, msg="the webhook receiver gets the failover message")[0]
    ft = tg.wait(is_failover_tg, 1, 10, msg="the Telegram receiver gets the failover message")[0]
    lat_wh, lat_tg = fw.t - ts, ft.t - ts
    log("failover message latency after +switch-master: webhook %.0f ms, telegram %.0f ms" % (
        lat_wh * 1000, lat_tg * 1000))
    assert -0.5 <= lat_wh <= LATENCY_S, "webhook failover message %.3f s after +switch-master " \
        "(want <= %.1f s)" % (lat_wh, LATENCY_S)
    assert -0.5 <= lat_tg <= LATENCY_S, "Telegram failover message %.3f s after +switch-master " \
        "(want <= %.1f s)" % (lat_tg, LATENCY_S)

    # webhook: the event object, headers, signature
    body = fw.json()
    log("webhook failover body: %s" % json.dumps(body))
    assert fw.method == "POST" and fw.path == "/hook", fw
    assert (fw.header("Content-Type") or "").startswith("application/json"), dict(fw.headers)
    assert body.get("cluster") == NAME and body.get("severity") == "critical", body
    d = body.get("details") or {}
    assert d.get("kind") == "automatic" and d.get("status") == "succeeded", d
    assert d.get("old_master") == old and d.get("new_master") == new, (d, old, new)
    assert fw.header("X-Team") == "ops" and fw.header("X-Env") == "test", \
        "extra headers missing: %s" % dict(fw.headers)
    delivery = fw.header("X-Hapanel-Delivery")
    assert delivery and delivery == body.get("delivery"), (delivery, body.get("delivery"))
    sig = fw.header("X-Hapanel-Signature")
    want = "sha256=" + hmac.new(SECRET.encode(), fw.body, hashlib.sha256).hexdigest()
    assert sig == want, "X-Hapanel-Signature %r does not verify (HMAC-SHA256 of the raw body " \
        "with the secret is %r)" % (sig, want)
    fos = hp.failovers(cluster=NAME)
    assert len(fos) == 1 and fos[0].get("kind") == "automatic", fos
    assert d.get("failover_id") == fos[0]["id"], (d, fos[0])

    # telegram: path with the token, chat_id, readable text
    tb = ft.json()
    log("telegram failover body: %s" % json.dumps(tb))
    assert ft.method == "POST" and ft.path == "/bot%s/sendMessage" % TOKEN, ft.path
    assert str(tb.get("chat_id")) == CHAT_ID, tb
    text = tb.get("text") or ""
    assert NAME in text and ("%s -> %s" % (old, new)) in text and "automatic" in text, text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", text), "no time in %r" % text
    assert TOKEN not in ft.body.decode(), "the Telegram body contains the bot token"

    # still exactly one per channel a while later (every Sentinel published
    # its +switch-master; none may add a message)
    time.sleep(4)
    nwh, ntg = wh.got(is_failover_wh), tg.got(is_failover_tg)
    assert len(nwh) == 1, "webhook got %d failover messages, want 1: %s" % (len(nwh), nwh)
    assert len(ntg) == 1, "Telegram got %d failover messages, want 1: %s" % (len(ntg), ntg)
    assert all(q.status == 200 for q in nwh + ntg), (nwh, ntg)

    rows = hp.json_ok("/api/v1/notifications").get("notifications") or []
    fo_rows = [x for x in rows if x.get("key") == delivery]
    log("outbox rows of %s: %s" % (delivery, fo_rows))
    assert len(fo_rows) == 2 and all(x.get("state") == "delivered" and x.get("attempts") == 1
                                     for x in fo_rows), fo_rows
    assert sorted(x.get("channel") for x in fo_rows) == sorted(x.get("channel") for x in results), \
        fo_rows

    # --- secrets: nowhere --------------------------------------------------------
    for path in ("/api/v1/events?limit=1000", "/api/v1/notifications?limit=1000",
                 "/api/v1/notifications?state=delivered", "/api/v1/alerts?state=all",
                 "/api/v1/alerts?state=active", "/api/v1/failovers", "/api/v1/clusters",
                 "/api/v1/clusters/%s" % NAME, "/api/v1/jobs", "/metrics"):
        r = hp.get(path)
        assert r.status == 200, (path, r)
    hp.stop()
    hp.request = orig_request
    secrets = {"bot token": TOKEN, "bot token's secret part": TOKEN.split(":", 1)[1],
               "webhook secret": SECRET}
    logtext = hp.log_text()
    for what, s in secrets.items():
        assert s not in logtext, "the %s appears in hapanel's log:\n%s" % (
            what, "\n".join(l for l in logtext.splitlines() if s in l)[:2000])
        for req, text in responses:
            assert s not in text, "the %s appears in the response to %s: %s" % (what, req, text[:1000])
        for q in wh.got():
            assert s.encode() not in q.body, "the %s appears in a webhook body: %s" % (what, q)
    log("checked %d API responses and the log (%d bytes): no secret" % (len(responses), len(logtext)))


if __name__ == "__main__":
    run_test(test)
