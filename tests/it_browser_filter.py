#!/usr/bin/env python3
"""it_browser_filter: the dashboard's cluster filter in a real browser
(issue 15 item 1: "lists clusters by group with a filter and stays usable
with 50 clusters"). Ten clusters in two Sentinel groups (five masters under
the unnamed [sentinel], group "default", five under [sentinel west], 3
Sentinels each) make /ui/clusters the compact table with a header row per
group; tests/browser/filter.mjs (headless Chromium
through playwright-core, see tests/browser/nodeenv.py) types one cluster's
name into the filter and checks that only its row stays visible, that the
input keeps focus and text across live swaps, that a reload keeps the filter
(sessionStorage), that Escape clears it, that the group select (filled from
the rows) narrows to one group and hides the other's header, and axe-core on the page (see the
script's header). Exit 77 only when chromium or node cannot be installed."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "browser"))
from harness import OPERATOR_TOKEN, log, run_test, wait_for  # noqa: E402
import nodeenv  # noqa: E402

EAST = ["east-%02d" % i for i in range(5)]  # the unnamed [sentinel]: group "default"
WEST = ["west-%02d" % i for i in range(5)]  # [sentinel west]
NAMES = EAST + WEST
PICK = "west-03"


def test(env, node):
    log(nodeenv.versions(node))
    east = env.topology(masters=EAST, replicas=0)
    west = env.topology(masters=WEST, replicas=0)
    ini = "[sentinel west]\nhosts = %s\n" % ",".join(west.sentinel_addrs)
    hp = env.hapanel(east, config_text=ini)
    wait_for(lambda: len(hp.clusters().get("clusters") or []) == len(NAMES), 20,
             msg="hapanel sees the %d clusters" % len(NAMES))
    out = os.environ.get("HAPANEL_BROWSER_OUT") or os.path.join(os.getcwd(), "it_browser-out")
    os.makedirs(out, exist_ok=True)
    script = nodeenv.NodeScript(node, os.path.join(HERE, "browser", "filter.mjs"), {
        "HAPANEL_URL": hp.base, "HAPANEL_TOKEN": OPERATOR_TOKEN, "HAPANEL_PICK": PICK,
        "HAPANEL_NCLUSTERS": str(len(NAMES)), "HAPANEL_GROUPS": "default,west", "HAPANEL_BROWSER_OUT": out})
    env.on_cleanup(script.close)
    res = script.run(120)
    for f in res.get("screenshots") or []:
        log("screenshot: %s" % f)
    log("steps: %s" % res.get("steps"))
    fails = res.get("failures") or []
    assert res.get("ok") and not fails, "%d browser check(s) failed:\n- %s" % (
        len(fails), "\n- ".join(fails))


if __name__ == "__main__":
    try:
        NODE = nodeenv.ensure(log)
    except nodeenv.Unavailable as e:
        print("SKIP it_browser_filter: %s" % e)
        sys.exit(77)
    run_test(lambda env: test(env, NODE), name="it_browser_filter.py", limit=180)
