#!/usr/bin/env python3
"""it_browser_filter: the dashboard's cluster filter in a browser, with 50
clusters (the compact table) in three real Sentinel groups whose names are
also names of a JavaScript object's inherited properties ("constructor",
"__proto__": both valid group names, letters, digits, '.', '_' and '-').
The page fills the group select from the rows' data-group; a plain {} as its "seen" set took seen["constructor"] (Object.prototype's
function) and seen["__proto__"] for names already seen, so those groups never
got an option and could not be chosen. Fifty clusters in three groups
("default" from [sentinel], [sentinel constructor], [sentinel __proto__]) make
the compact table; tests/browser/filter.mjs checks
that the select lists the three groups in order, that choosing the last one
("default") leaves its rows alone, and the rest of the filter. Exit 77 only
when chromium or node cannot be installed."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "browser"))
from harness import OPERATOR_TOKEN, log, run_test, wait_for  # noqa: E402
import nodeenv  # noqa: E402

# 50 clusters (the issue: "stays usable with 50 clusters"), no replicas
DEF = ["d-%02d" % i for i in range(30)]  # [sentinel]: group "default"
CON = ["c-%02d" % i for i in range(10)]  # [sentinel constructor]
PRO = ["p-%02d" % i for i in range(10)]  # [sentinel __proto__]
NAMES = DEF + CON + PRO
PICK = "c-01"
GROUPS = "__proto__,constructor,default"  # by name, as the page orders them


def test(env, node):
    log(nodeenv.versions(node))
    d = env.topology(masters=DEF, replicas=0)
    c = env.topology(masters=CON, replicas=0)
    p = env.topology(masters=PRO, replicas=0)
    ini = c.group_section("constructor") + "\n" + p.group_section("__proto__")
    hp = env.hapanel(d, config_text=ini)
    wait_for(lambda: len(hp.clusters().get("clusters") or []) == len(NAMES), 40,
             msg="hapanel sees the %d clusters" % len(NAMES))
    got = {x.get("name"): x.get("group") for x in hp.clusters().get("clusters") or []}
    assert all(got.get(n) == "constructor" for n in CON), got
    assert all(got.get(n) == "__proto__" for n in PRO), got
    out = os.environ.get("HAPANEL_BROWSER_OUT") or os.path.join(os.getcwd(), "it_browser-out")
    os.makedirs(out, exist_ok=True)
    script = nodeenv.NodeScript(node, os.path.join(HERE, "browser", "filter.mjs"), {
        "HAPANEL_URL": hp.base, "HAPANEL_TOKEN": OPERATOR_TOKEN, "HAPANEL_PICK": PICK,
        "HAPANEL_NCLUSTERS": str(len(NAMES)), "HAPANEL_GROUPS": GROUPS,
        "HAPANEL_BROWSER_OUT": out})
    env.on_cleanup(script.close)
    res = script.run(120)
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
