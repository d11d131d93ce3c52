#!/usr/bin/env python3
"""it_notify_failover: four channels, each a path on a local Receiver: a
webhook and a Telegram chat from the environment (HAPANEL_WEBHOOK_URLS,
_SECRET, _HEADERS; HAPANEL_TELEGRAM_BOT_TOKEN, _CHAT_ID, _API_BASE), and a
[webhook ops] and a [telegram oncall] section of an INI file (--config).
The master is SIGKILLed; Sentinel fails over; each channel gets exactly one
failover message within 2 s of the +switch-master (the ts of that event in
GET /api/v1/events), and still exactly one a few seconds later.
A webhook message is the event object (type failover, details.kind
automatic, old and new master), carries its channel's extra headers and an
X-Hapanel-Signature that verifies as the HMAC-SHA256 of the raw body with
its channel's secret; a Telegram message is a POST to
{api_base}/bot{token}/sendMessage with chat_id and a readable text naming
the cluster, old -> new master and the time. POST /api/v1/notifications/test
(operator) starts a job whose result has one ok result per channel, and every channel gets a test
message; a viewer gets 403. The bot tokens and the webhook secrets show
nowhere: not in hapanel's log, not in any API response fetched, not in the
events, not in a webhook body."""

import hashlib
import hmac
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import VIEWER_TOKEN, log, run_test, start_receiver, wait_for  # noqa: E402

NAME = "mymaster"
LATENCY_S = 2.0
TOKEN = "987654321:AAH-botT0ken_zX9qWv"
SECRET = "whsec-7Kq2-Pz91-shared"
CHAT_ID = "-1001234567"
INI_TOKEN = "555000111:INI-tok3n_Qm2Lr"
INI_SECRET = "ini-whsec-Hh71-Yy03"
INI_CHAT_ID = "424242"


def config_wrapper(env, ini_text):
    """An executable that runs hapanel with --config <an INI file holding
    ini_text> (exec: same pid, so signals reach hapanel itself)."""
    real = os.environ.get("HAPANEL_BIN") or harness.DEFAULT_BIN
    ini = os.path.join(env.tmpdir, "hapanel.ini")
    with open(ini, "w") as f:
        f.write(ini_text)
    wrapper = os.path.join(env.tmpdir, "hapanel-with-config")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec "%s" --config "%s" "$@"\n' % (real, ini))
    os.chmod(wrapper, 0o755)
    return wrapper


def test(env):
    wh = start_receiver(env)
    tg = start_receiver(env)
    # name -> (receiver, path, kind, secret or chat id, extra headers)
    chans = {
        "env webhook": (wh, "/hook", "webhook", SECRET, {"X-Team": "ops", "X-Env": "test"}),
        "ini webhook": (wh, "/ops", "webhook", INI_SECRET, {"X-Source": "ini"}),
        "env telegram": (tg, "/bot%s/sendMessage" % TOKEN, "telegram", CHAT_ID, {}),
        "ini telegram": (tg, "/alt/bot%s/sendMessage" % INI_TOKEN, "telegram", INI_CHAT_ID, {}),
    }
    topo = env.topology()
    hp = env.hapanel(topo, start=False, env_extra={
        "HAPANEL_WEBHOOK_URLS": wh.url + "/hook",
        "HAPANEL_WEBHOOK_SECRET": SECRET,
        "HAPANEL_WEBHOOK_HEADERS": "X-Team: ops|X-Env: test",
        "HAPANEL_TELEGRAM_BOT_TOKEN": TOKEN,
        "HAPANEL_TELEGRAM_CHAT_ID": CHAT_ID,
        "HAPANEL_TELEGRAM_API_BASE": tg.url,
    })
    hp.bin = config_wrapper(env, "\n".join([
        "[webhook ops]",
        "url = %s/ops" % wh.url,
        "secret = %s" % INI_SECRET,
        "headers = X-Source: ini",
        "min_severity = critical",
        "",
        "[telegram oncall]",
        "api_base = %s/alt" % tg.url,
        "bot_token = %s" % INI_TOKEN,
        "chat_id = %s" % INI_CHAT_ID,
        "min_severity = critical",
        ""]))
    hp.start()
    log("hapanel up on %s with an INI file (log %s)" % (hp.base, hp.logpath))
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

    def on(name, pred=None):
        """What channel `name` got (its receiver, its path), matching pred."""
        recv, path = chans[name][0], chans[name][1]
        return recv.got(lambda q: q.path == path and (pred is None or pred(q)))

    def check_signature(name, q):
        sig = q.header("X-Hapanel-Signature")
        want = "sha256=" + hmac.new(chans[name][3].encode(), q.body, hashlib.sha256).hexdigest()
        assert sig == want, "%s: X-Hapanel-Signature %r does not verify (HMAC-SHA256 of the raw " \
            "body with the channel's secret is %r)" % (name, sig, want)

    # --- the test message ------------------------------------------------------
    r = hp.post("/api/v1/notifications/test", body={}, token=VIEWER_TOKEN)
    assert r.status == 403, "POST /api/v1/notifications/test as viewer -> %r (want 403)" % (r,)
    assert not wh.got() and not tg.got(), "a viewer's test request reached a receiver: %s %s" % (
        wh.got(), tg.got())
    r = hp.post("/api/v1/notifications/test", body={}, timeout=30)
    assert r.status == 202, "POST /api/v1/notifications/test as operator -> %r" % (r,)
    jb = hp.wait_job(r.body["job_id"], 60)  # a job: a slow endpoint holds no HTTP thread
    assert jb["kind"] == "notify-test" and jb["state"] == "succeeded", jb
    results = (jb.get("result") or {}).get("results")
    log("test results: %s" % results)
    assert isinstance(results, list) and len(results) == 4, results
    assert sorted(x.get("kind") for x in results) == ["telegram", "telegram", "webhook", "webhook"], \
        results
    assert {"ops", "oncall"} <= {x.get("channel") for x in results}, results
    for x in results:
        assert x.get("ok") is True and x.get("error") is None and x.get("channel"), x
    for name, (recv, path, kind, key, hdrs) in chans.items():
        got = wait_for(lambda: on(name), 5, 0.02, msg="%s gets the test message" % name)
        assert len(got) == 1, (name, got)
        b = got[0].json() or {}
        if kind == "webhook":
            assert b.get("type") == "test", (name, b)
            check_signature(name, got[0])
            for h, v in hdrs.items():
                assert got[0].header(h) == v, (name, h, dict(got[0].headers))
        else:
            assert "test" in b.get("text", "") and str(b.get("chat_id")) == key, (name, b)
    log("every channel got its test message")

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

    # Under load a Sentinel may fail over once more right after (it sees the
    # fresh master down): each failover has its message; the one of this
    # SIGKILL is the one whose old master is the killed node.
    def is_any_failover(q):
        b = q.json() or {}
        return b.get("type") == "failover" or " failover " in (b.get("text") or "")

    def is_failover(q):
        b = q.json() or {}
        if b.get("type") == "failover":
            return (b.get("details") or {}).get("old_master") == old
        return " failover " in (b.get("text") or "") and ("%s -> " % old) in b.get("text", "")

    def switch_event():
        evs = hp.events(cluster=NAME, type="+switch-master").get("events") or []
        return [e for e in evs if (e.get("details") or {}).get("old_master") == old]
    evs = wait_for(switch_event, 10, 0.1, msg="a +switch-master event from %s is stored" % old)
    assert len(evs) == 1, evs
    assert (evs[0].get("details") or {}).get("new_master") == new, (evs, new)
    ts = evs[0]["ts"] / 1000.0
    first = {}
    for name in chans:
        first[name] = wait_for(lambda: on(name, is_failover), 10, 0.02,
                               msg="%s gets the failover message" % name)[0]
    lats = {name: q.t - ts for name, q in first.items()}
    log("failover message latency after +switch-master: %s" % ", ".join(
        "%s %.0f ms" % (n, v * 1000) for n, v in lats.items()))
    for name, lat in lats.items():
        assert -0.5 <= lat <= LATENCY_S, "%s: failover message %.3f s after +switch-master " \
            "(want <= %.1f s)" % (name, lat, LATENCY_S)

    fos = [f for f in hp.failovers(cluster=NAME) if f.get("old_master") == old]
    assert len(fos) == 1 and fos[0].get("kind") == "automatic", fos
    delivery = None
    for name, (recv, path, kind, key, hdrs) in chans.items():
        q = first[name]
        b = q.json()
        assert q.method == "POST" and q.path == path, (name, q)
        assert (q.header("Content-Type") or "").startswith("application/json"), dict(q.headers)
        if kind == "webhook":
            # the event object, headers, signature
            log("%s failover body: %s" % (name, json.dumps(b)))
            assert b.get("cluster") == NAME and b.get("severity") == "critical", b
            d = b.get("details") or {}
            assert d.get("kind") == "automatic" and d.get("status") == "succeeded", d
            assert d.get("old_master") == old and d.get("new_master") == new, (d, old, new)
            assert d == fos[0], "webhook details are the API failover item: %s vs %s" % (d, fos[0])
            for h, v in hdrs.items():
                assert q.header(h) == v, "%s: extra header %s missing: %s" % (name, h, dict(q.headers))
            for other in chans.values():
                for h in other[4]:
                    if h not in hdrs:
                        assert q.header(h) is None, "%s got another channel's header %s" % (name, h)
            delivery = q.header("X-Hapanel-Delivery")
            assert delivery and delivery == b.get("delivery") == "failover:%d" % fos[0]["id"], \
                (delivery, b.get("delivery"))
            check_signature(name, q)
        else:
            # path with the token, chat_id, readable text
            log("%s failover body: %s" % (name, json.dumps(b)))
            assert str(b.get("chat_id")) == key, (name, b)
            text = b.get("text") or ""
            assert NAME in text and ("%s -> %s" % (old, new)) in text and "automatic" in text, text
            assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", text), "no time in %r" % text
            assert q.header("X-Hapanel-Signature") is None, dict(q.headers)

    # still exactly one per channel a while later (every Sentinel published
    # its +switch-master; none may add a message)
    time.sleep(4)
    for name in chans:
        got = on(name, is_failover)
        assert len(got) == 1, "%s got %d messages about the failover from %s, want 1: %s" % (
            name, len(got), old, got)
        assert got[0].status == 200, got
    # and if Sentinel failed over once more: one message per failover, no more
    fos_all = hp.failovers(cluster=NAME)
    switches = hp.events(cluster=NAME, type="+switch-master").get("events") or []
    if len(fos_all) > 1:
        log("note: Sentinel failed over %d times: %s" % (len(fos_all), [
            (f.get("old_master"), f.get("new_master")) for f in fos_all]))
    assert len(switches) == len(fos_all), "%d +switch-master events but %d failover records: %s %s" % (
        len(switches), len(fos_all), switches, fos_all)
    for name in chans:
        assert len(on(name, is_any_failover)) == len(fos_all), (name, on(name, is_any_failover), fos_all)

    rows = hp.json_ok("/api/v1/notifications").get("notifications") or []
    fo_rows = [x for x in rows if x.get("key") == delivery]
    log("outbox rows of %s: %s" % (delivery, [(x.get("channel"), x.get("state"), x.get("attempts"))
                                               for x in fo_rows]))
    assert len(fo_rows) == 4 and all(x.get("state") == "delivered" and x.get("attempts") == 1
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
               "webhook secret": SECRET, "INI bot token": INI_TOKEN,
               "INI bot token's secret part": INI_TOKEN.split(":", 1)[1],
               "INI webhook secret": INI_SECRET}
    logtext = hp.log_text()
    for what, s in secrets.items():
        assert s not in logtext, "the %s appears in hapanel's log:\n%s" % (
            what, "\n".join(l for l in logtext.splitlines() if s in l)[:2000])
        for req, text in responses:
            assert s not in text, "the %s appears in the response to %s: %s" % (what, req, text[:1000])
        for q in wh.got() + tg.got():
            assert s.encode() not in q.body, "the %s appears in a message body: %s" % (what, q)
    log("checked %d API responses, %d message bodies and the log (%d bytes): no secret" % (
        len(responses), len(wh.got()) + len(tg.got()), len(logtext)))


if __name__ == "__main__":
    run_test(test)
