#!/usr/bin/env python3
"""it_browser: the dashboard in a real browser during a simulated incident.

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms, failover-timeout
3000 ms) and hapanel (polling every 250 ms, the harness's tokens); then
tests/browser/dashboard.mjs drives headless Chromium (Debian's
/usr/bin/chromium) through playwright-core, with the operator token in the
URL fragment, and asks this side over its stdin/stdout to SIGKILL a replica
and to start it again. It asserts (see its header): the six processes drawn
(svg.topo g.tnode, 1 master, 2 replicas, 3 Sentinels), the killed replica
drawn st-down within 2 s without a reload, a graceful switchover through
the failover dialog whose new master is drawn within 1 s of the job's
"promoted to master" step, a chart (button.open-charts -> svg.chart with a
polyline), no horizontal scroll at 390 px and the dialog's confirm button
inside that viewport, the whole dialog within the screen's width, "forget
token" on screen and the role shown, Enter in four of the dialog's fields
starting no job; History at 390 px refreshing its tables by itself while
what is typed in the filter form and its focus stay; a viewer (a second
browser context on a 390 px phone) shown its role and no action button; no
serious or critical axe-core violation (desktop, dialog, History, 390 px,
the viewer); and the fallback: a second hapanel on the same topology with
HAPANEL_HTTP_MAX_STREAMS=1 whose one /ui/stream this side holds open, where
the page gets 503 on /ui/stream, polls, and draws a killed replica st-down
within 2 s.

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
from harness import OPERATOR_TOKEN, VIEWER_TOKEN, DEFAULT_BIN, log, run_test  # noqa: E402
from harness.sse import Stream  # noqa: E402
import nodeenv  # noqa: E402

NAME = "mymaster"


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
    hp = env.hapanel(topo)
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
    }, handlers={"kill": kill, "restart": restart, "capped": capped, "held": still_held})
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
