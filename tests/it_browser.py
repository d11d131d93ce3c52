#!/usr/bin/env python3
"""it_browser: the dashboard in a real browser during a simulated incident.

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms, failover-timeout
3000 ms) and hapanel (polling every 250 ms, the harness's tokens); then
tests/browser/dashboard.mjs drives headless Chromium (Debian's
/usr/bin/chromium) through playwright-core, with the operator token in the
URL fragment, and asks this side over its stdin/stdout to SIGKILL a
replica and to start it again. It asserts (see its header): the six
processes drawn (svg.topo g.tnode, 1 master, 2 replicas, 3 Sentinels), the
killed replica drawn st-down within 2 s without a reload, a graceful
switchover through the failover dialog whose new master is drawn within 1
s of the job's "promoted to master" step; a failover drill from the card's
button and its dialog (hapanel runs with [drill] enabled = 1, allow_kill
off, its own key prefix): the dialog says what happens (the probe keys
under that prefix, the graceful switchover) and offers kill-master
disabled with the reason, the job panel shows the progress, and within 30
s the card draws the drill's timeline (svg role=img) with its figures as
text (the write gap as reported, acked writes lost 0), axe finding no
violation at all, the probe keys gone (this side SCANs the new master, and
checks that the Sentinels name the master the drill reports); a restore
check: 1,000 keys written here, a backup taken with the card's button (its
row gives the master's key figures), "verify restore..." on its row
confirmed, and within 20 s "restorable, checked <time>" in that row (the
drill moved the master: the steps after it read the master from the
drawing or the Sentinels); a chart (button.open-charts -> svg.chart with a
polyline), no horizontal scroll at 390 px and the dialog's confirm button
inside that viewport, the whole dialog within the screen's width, "forget
token" on screen and the role shown, Enter in four of the dialog's fields
starting no job; History at 390 px refreshing its tables by itself while
what is typed in the filter form and its focus stay; a viewer (a second
browser context on a 390 px phone) shown its role and no action button; no
serious or critical axe-core violation (desktop, dialog, History, 390 px,
the viewer); and the fallback: a second hapanel on the same topology with
HAPANEL_HTTP_MAX_STREAMS=1 whose one /ui/stream this side holds open,
where the page gets 503 on /ui/stream, polls, and draws a killed replica
st-down within 2 s.

Screenshots go to HAPANEL_BROWSER_OUT, default it_browser-out/ beside the
ctest working dir of the build (<build>/tests/it_browser-out/), and their
paths are printed. chromium, node and npm are installed from Debian when
missing (exit 77, skipped, only when they cannot be); playwright-core and
axe-core come from npm at the versions tests/browser/package-lock.json pins,
installed once into tests/browser/node_modules by `npm ci`."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "browser"))
from harness import (OPERATOR_TOKEN, REDIS_SERVER, VIEWER_TOKEN, DEFAULT_BIN, fill_varied, log,  # noqa: E402
                     run_test)
from harness.sse import Stream  # noqa: E402
import nodeenv  # noqa: E402

NAME = "mymaster"
# not the default prefix: the drill dialog must say the configured one
DRILL_PREFIX = "itbrowser:drill:"
# [drill] enabled (allow_kill left off: the dialog must offer kill-master
# disabled), a restore check with the harness's redis-server, and no
# scheduled backup to surprise the backup rows
PANEL_ENV = {"HAPANEL_DRILL_ENABLED": "1", "HAPANEL_DRILL_KEY_PREFIX": DRILL_PREFIX,
             "HAPANEL_RESTORE_REDIS_SERVER": REDIS_SERVER, "HAPANEL_BACKUP_DAILY_AT": "",
             "HAPANEL_BACKUP_INTERVAL_MINUTES": "0"}


def out_dir():
    d = os.environ.get("HAPANEL_BROWSER_OUT")
    if not d:
        b = os.path.abspath(os.environ.get("HAPANEL_BIN") or DEFAULT_BIN)
        d = os.path.join(os.path.dirname(b), "tests", "it_browser-out")
    os.makedirs(d, exist_ok=True)
    return d


def test(env, node):
    log(nodeenv.versions(node))
    out = out_dir()
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    hp = env.hapanel(topo, env_extra=PANEL_ENV)
    master = topo.current_master()
    r1, r2 = topo.initial_replicas()
    hp.wait_nodes_up([master, r1, r2], NAME, 10)

    def kill(msg):
        addr = msg["addr"]
        assert addr in (master, r1, r2) and addr != topo.current_master(), \
            "asked to kill %s, not a replica" % addr
        t = time.time() * 1000
        topo.kill(addr)
        log("SIGKILL %s" % addr)
        return {"t": t}

    def restart(msg):
        addr = msg["addr"]
        topo.restart(addr)
        topo.wait_ready(30)
        hp.wait_nodes_up([master, r1, r2], NAME, 30)
        log("%s started again and in sync" % addr)
        return {"t": time.time() * 1000}

    def probe_keys(msg):
        """After the drill: the master the Sentinels name, and how many keys
        under the drill's prefix it still holds (SCAN)."""
        assert msg.get("prefix") == DRILL_PREFIX, msg
        now = topo.current_master()
        n, cursor = 0, "0"
        with topo.client(now, timeout=2) as c:
            for _ in range(10000):
                cursor, batch = c.cmd("SCAN", cursor, "MATCH", DRILL_PREFIX + "*", "COUNT", "1000")
                n += len(batch)
                if cursor == "0":
                    break
        log("after the drill: master %s, %d keys under %s" % (now, n, DRILL_PREFIX))
        return {"master": now, "keys": n}

    def fill(msg):
        """Before the backup: keys of every kind on the master (pipelined
        writes), copied to both replicas (WAIT), and what the master then
        holds: INFO keyspace's keys and expires, for the backup row."""
        now = topo.current_master()
        n = int(msg.get("n") or 1000)
        with topo.client(now, timeout=5) as c:
            fill_varied(c, n, prefix="itbrowser:data:")
            acks = c.cmd("WAIT", "2", "5000")
            keys = expires = 0
            for line in c.cmd("INFO", "keyspace").splitlines():
                if line.startswith("db") and ":" in line:
                    kv = dict(p.split("=") for p in line.split(":", 1)[1].split(","))
                    keys += int(kv["keys"])
                    expires += int(kv["expires"])
        assert acks == 2, "WAIT 2 on %s: %r replicas have the keys" % (now, acks)
        log("%d keys written on %s (both replicas have them): INFO keyspace %d keys, %d expires" % (
            n, now, keys, expires))
        return {"master": now, "keys": keys, "expires": expires}

    held = {}

    def capped(msg):
        """A second hapanel on the topology with room for one stream, and
        that stream taken by this side: the page must poll."""
        now = topo.current_master()
        reps = [a for a in (r1, master, r2) if a != now]
        hp2 = env.hapanel(topo, env_extra={"HAPANEL_HTTP_MAX_STREAMS": "1"})
        hp2.wait_nodes_up([now] + reps, NAME, 20)
        st = Stream(hp2.port, "/ui/stream", token=OPERATOR_TOKEN)
        env.on_cleanup(st.close)
        assert st.status == 200, "the one stream of the capped hapanel: %d %r" % (st.status, st.body[:200])
        more = Stream(hp2.port, "/ui/stream", token=OPERATOR_TOKEN)
        assert more.status == 503, "a second stream past max_streams=1: %d" % more.status
        held["stream"] = st
        log("hapanel with max_streams=1 on %s, its stream held; master %s, will kill %s" % (
            hp2.base, now, reps[0]))
        return {"url": hp2.base, "master": now, "victim": reps[0]}

    def still_held(msg):
        st = held.get("stream")
        return {"open": bool(st) and not st.closed.is_set()}

    script = nodeenv.NodeScript(node, os.path.join(HERE, "browser", "dashboard.mjs"), {
        "HAPANEL_URL": hp.base,
        "HAPANEL_TOKEN": OPERATOR_TOKEN,
        "HAPANEL_VIEWER_TOKEN": VIEWER_TOKEN,
        "HAPANEL_CLUSTER": NAME,
        "HAPANEL_TOPO": '{"master": "%s", "replicas": ["%s", "%s"], "sentinels": [%s]}' % (
            master, r1, r2, ", ".join('"%s"' % s for s in topo.sentinel_addrs)),
        "HAPANEL_BROWSER_OUT": out,
        "HAPANEL_DRILL_PREFIX": DRILL_PREFIX,
    }, handlers={"kill": kill, "restart": restart, "capped": capped, "held": still_held,
                 "probe_keys": probe_keys, "fill": fill})
    env.on_cleanup(script.close)
    res = script.run(420)

    for f in res.get("screenshots") or []:
        log("screenshot: %s" % f)
    log("figures: %s" % res.get("figures"))
    log("steps: %s" % res.get("steps"))
    log("took (ms): %s" % res.get("took_ms"))
    fails = res.get("failures") or []
    assert res.get("ok") and not fails, "%d browser check(s) failed:\n- %s" % (
        len(fails), "\n- ".join(fails))


if __name__ == "__main__":
    # before run_test: nothing to clean up yet; an npm ci that fails is a
    # failure (the registry is one this project may use)
    try:
        NODE = nodeenv.ensure(log)
    except nodeenv.Unavailable as e:
        print("SKIP it_browser: %s" % e)
        sys.exit(77)
    run_test(lambda env: test(env, NODE), name="it_browser.py", limit=540)
