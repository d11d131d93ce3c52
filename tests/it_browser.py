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
inside that viewport, and no serious or critical axe-core violation.

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
from harness import OPERATOR_TOKEN, DEFAULT_BIN, log, run_test  # noqa: E402
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
        assert addr in (r1, r2), "asked to kill %s, not a replica" % addr
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

    script = nodeenv.NodeScript(node, os.path.join(HERE, "browser", "dashboard.mjs"), {
        "HAPANEL_URL": hp.base,
        "HAPANEL_TOKEN": OPERATOR_TOKEN,
        "HAPANEL_CLUSTER": NAME,
        "HAPANEL_TOPO": '{"master": "%s", "replicas": ["%s", "%s"], "sentinels": [%s]}' % (
            master, r1, r2, ", ".join('"%s"' % s for s in topo.sentinel_addrs)),
        "HAPANEL_BROWSER_OUT": out,
    }, handlers={"kill": kill, "restart": restart})
    env.on_cleanup(script.close)
    res = script.run(420)

    for f in res.get("screenshots") or []:
        log("screenshot: %s" % f)
    log("figures: %s" % res.get("figures"))
    log("steps: %s" % res.get("steps"))
    fails = res.get("failures") or []
    assert res.get("ok") and not fails, "%d browser check(s) failed:\n- %s" % (
        len(fails), "\n- ".join(fails))


if __name__ == "__main__":
    # before run_test, which would count a SystemExit as a failure; an npm ci
    # that fails is a failure (the registry is one this project may use)
    try:
        NODE = nodeenv.ensure(log)
    except nodeenv.Unavailable as e:
        print("SKIP it_browser: %s" % e)
        sys.exit(77)
    run_test(lambda env: test(env, NODE), name="it_browser.py", limit=540)
