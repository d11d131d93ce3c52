#!/usr/bin/env python3
"""it_series: the history charts (issue 13, item 3) against a real 1+2+3
topology polled every 250 ms. Every poll stores one row per node
(samples_raw in hapanel.db, read here with sqlite3); GET
/api/v1/clusters/{name}/series returns points for each node with plausible
values (memory > 0 on every node, lag on the replicas only, connected clients
>= 1, and the master's ops/s rises above 200 while 6,000 commands are sent to
it); bad parameters answer 400 with a message and change nothing, an unknown
cluster 404. GET /ui/clusters/{name}/charts draws an <svg class="chart"> per
metric with a line per node (a polyline whose data-node is the node), for
1h, 1d and 1w; a hostile master name (markup and quotes, monitored on one
Sentinel) comes back escaped in the fragment and exact in the JSON. hapanel
restarted with [history] raw_keep_s = 1 still serves the samples of before
the restart, and once the next minute completes the writer has rolled them
up into samples_minute (n, values) and deleted the raw rows."""

import json
import os
import re
import sqlite3
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.resp import Redis  # noqa: E402

NAME = "mymaster"
METRICS = ("lag_bytes", "lag_seconds", "memory", "clients", "ops")
check = Checks()


def series(hp, name=NAME, **params):
    q = urllib.parse.urlencode(params)
    return hp.get("/api/v1/clusters/%s/series?%s" % (urllib.parse.quote(name, safe=""), q))


def points_by_node(hp, **params):
    r = series(hp, **params)
    assert r.status == 200, "series %r: %r" % (params, r)
    body = json.loads(r.text)
    return body, {s["node"]: s["points"] for s in body["series"]}


def db_rows(hp, sql, args=()):
    path = os.path.join(hp.data_dir, "hapanel.db")
    c = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def charts(hp, name=NAME, rng=None):
    path = "/ui/clusters/%s/charts" % urllib.parse.quote(name, safe="")
    if rng is not None:
        path += "?range=" + rng
    return hp.get(path)


def svgs(html):
    """metric -> the <svg> element's text, for each chart."""
    out = {}
    for m in re.finditer(r'<svg class="chart" data-metric="([a-z_]+)"(.*?)</svg>', html, re.S):
        out[m.group(1)] = m.group(0)
    return out


def lines_of(svg):
    return set(re.findall(r'<polyline class="line s\d+" data-node="([^"]*)"', svg))


def test(env):
    topo = env.topology()
    master = topo.current_master()
    replicas = topo.initial_replicas()
    nodes = [master] + replicas
    hp = env.hapanel(topo)
    hp.wait_nodes_up(nodes, NAME, 10)

    # --- samples: one row per node per poll --------------------------------
    def all_nodes_sampled():
        rows = db_rows(hp, "SELECT n.node, COUNT(*) FROM samples_raw r JOIN sample_nodes n "
                           "ON n.id = r.node WHERE n.cluster = ? GROUP BY n.node", (NAME,))
        return len(rows) == 3 and all(k >= 3 for _, k in rows) and rows
    rows = wait_for(all_nodes_sampled, 15, 0.3, msg="3 samples of every node in samples_raw")
    log("samples_raw rows per node: %r" % (rows,))
    check(sorted(r[0] for r in rows) == sorted(nodes), "sampled nodes %r" % (rows,))

    body, mem = points_by_node(hp, metric="memory")
    check(body["cluster"] == NAME and body["metric"] == "memory" and body["step"] == 1
          and body["resolution"] == "raw" and body["unit"] == "bytes", "series head %r" % {
              k: v for k, v in body.items() if k != "series"})
    check(sorted(mem) == sorted(nodes), "memory series nodes %r" % list(mem))
    check(all(len(p) >= 3 and all(v > 0 for _, v in p) for p in mem.values()),
          "memory > 0 on every node: %r" % {k: v[-2:] for k, v in mem.items()})
    now = time.time()
    check(all(now - 30 < p[-1][0] <= now + 1 for p in mem.values()), "memory points are recent")
    check(all(all(a[0] < b[0] for a, b in zip(p, p[1:])) for p in mem.values()),
          "points oldest first, one per second at most")
    _, lag = points_by_node(hp, metric="lag_bytes")
    check(not lag.get(master) and all(lag.get(r) and all(v >= 0 for _, v in lag[r])
                                      for r in replicas),
          "lag_bytes on the replicas only: %r" % {k: v[-2:] for k, v in lag.items()})
    _, lags = points_by_node(hp, metric="lag_seconds")
    check(all(lags.get(r) and all(0 <= v < 5 for _, v in lags[r]) for r in replicas),
          "lag_seconds on the replicas, small: %r" % {k: v[-2:] for k, v in lags.items()})
    _, cl = points_by_node(hp, metric="clients")
    check(all(cl.get(n) and cl[n][-1][1] >= 1 for n in nodes), "clients >= 1: %r" % cl.keys())
    _, one = points_by_node(hp, metric="memory", node=replicas[0])
    check(list(one) == [replicas[0]], "node= limits the series: %r" % list(one))
    _, none = points_by_node(hp, metric="memory", node="127.0.0.1:1")
    check(none == {}, "an unknown node has no series: %r" % none)

    # --- ops/s grows while the master is written to ------------------------
    _, ops = points_by_node(hp, metric="ops")
    before = ops[master][-1][1] if ops.get(master) else None
    t0 = int(time.time())
    with Redis.at(master) as c:
        for i in range(30):
            c.pipeline([("SET", "k%d" % j, "v") for j in range(200)])
            time.sleep(0.03)

    def ops_rose():
        _, o = points_by_node(hp, metric="ops", node=master, **{"from": t0 - 1})
        return o.get(master) and max(v for _, v in o[master]) > 200 and o[master]
    got = wait_for(ops_rose, 10, 0.3, msg="the master's ops/s above 200 after 6,000 writes")
    log("ops/s of the master: before %r, then %r" % (before, [v for _, v in got][-8:]))
    check(before is not None and before < 200, "ops/s before the writes %r" % before)

    # --- steps and the bad parameters --------------------------------------
    for step in ("60", "3600", "auto", "raw"):
        b, p = points_by_node(hp, metric="memory", step=step)
        check(b["step"] == {"60": 60, "3600": 3600}.get(step, 1) and sorted(p) == sorted(nodes)
              and all(len(v) >= 1 and v[-1][1] > 0 for v in p.values()),
              "step %s: %r" % (step, {k: v[-2:] for k, v in p.items()}))
    b, _ = points_by_node(hp, metric="memory", **{"from": int(now) - 86400, "to": int(now)})
    check(b["step"] == 60, "a day is served at step 60 (auto): %r" % b["step"])
    b, _ = points_by_node(hp, metric="memory", **{"from": int(now) - 7 * 86400, "to": int(now)})
    check(b["step"] == 3600, "a week is served at step 3600 (auto): %r" % b["step"])
    bad = [
        ({}, "metric"),
        ({"metric": "cpu"}, "metric"),
        ({"metric": "memory", "from": "yesterday"}, "from"),
        ({"metric": "memory", "to": "-5"}, "to"),
        ({"metric": "memory", "from": "200", "to": "100"}, "before"),
        ({"metric": "memory", "step": "7"}, "step"),
        ({"metric": "memory", "step": "raw", "from": int(now) - 86400}, "points"),
        ({"metric": "memory", "node": ""}, "node"),
        ({"metric": "memory", "from": "0", "to": "4000000000", "step": "3600"}, "points"),
    ]
    for params, word in bad:
        r = series(hp, **params)
        err = (json.loads(r.text).get("error") or {}) if r.ctype.startswith("application/json") else {}
        check(r.status == 400 and word in (err.get("message") or ""),
              "bad %r -> %r (message should name %r)" % (params, r, word))
    r = series(hp, name="nosuchcluster", metric="memory")
    check(r.status == 404 and "error" in json.loads(r.text), "unknown cluster -> %r" % r)
    check(hp.get("/api/v1/clusters/%s/series?metric=memory" % NAME, token=None).status == 401,
          "the series needs a credential")

    # --- the charts fragment ------------------------------------------------
    for rng in (None, "1h", "1d", "1w"):
        r = charts(hp, rng=rng)
        check(r.status == 200 and r.ctype.startswith("text/html"), "charts %r -> %r" % (rng, r))
        s = svgs(r.text)
        check(sorted(s) == sorted(METRICS), "an svg per metric (range %r): %r" % (rng, list(s)))
        for m in ("memory", "clients", "ops"):
            check(lines_of(s.get(m, "")) == set(nodes),
                  "%s chart (range %r): a line per node, got %r" % (m, rng, lines_of(s.get(m, ""))))
        for m in ("lag_bytes", "lag_seconds"):
            check(lines_of(s.get(m, "")) == set(replicas),
                  "%s chart (range %r): a line per replica, got %r" % (m, rng,
                                                                        lines_of(s.get(m, ""))))
        check(all('role="img"' in v and 'aria-label="' in v for v in s.values()),
              "each chart has role img and a label")
        check(all(n in r.text for n in nodes) and r.text.count('class="swatch') >= 13,
              "the legends name the nodes")
        check('hx-get="/ui/clusters/mymaster/charts?range=1w"' in r.text,
              "the range switcher (range %r)" % rng)
    r = charts(hp, rng="1y")
    check(r.status == 400 and "range" in r.text, "a bad range -> %r" % r)
    r = charts(hp, name="nosuchcluster")
    check(r.status == 404, "charts of an unknown cluster -> %r" % r)

    # --- a hostile master name ---------------------------------------------
    # on a master of its own: a node two names share stays with the first
    # (it_node_two_names), so the second would have no samples
    hostile = '<svg onload=alert(1)>"x\'&amp;'
    s0 = topo.sentinel_addrs[0]
    own = topo.start_node()
    with Redis.at(s0) as c:
        assert c.cmd("SENTINEL", "MONITOR", hostile, "127.0.0.1", own.port, 2) == "OK"

    def unmonitor():
        try:
            with Redis.at(s0) as c:
                c.cmd("SENTINEL", "REMOVE", hostile)
        except Exception:  # noqa: B902 - removed already
            pass
    env.on_cleanup(unmonitor)

    def hostile_sampled():
        r = series(hp, name=hostile, metric="memory")
        return r.status == 200 and json.loads(r.text)["series"] and json.loads(r.text)
    b = wait_for(hostile_sampled, 20, 0.3, msg="samples of the hostile-named cluster")
    check(b["cluster"] == hostile, "the JSON has the name exactly: %r" % b["cluster"])
    r = charts(hp, name=hostile)
    check(r.status == 200, "charts of the hostile name -> %r" % r)
    check(hostile not in r.text and "<svg onload" not in r.text and "x'&amp;amp;" not in r.text,
          "the hostile name never appears unescaped")
    check("&lt;svg onload=alert(1)&gt;&quot;x&#39;&amp;amp;" in r.text
          or "&lt;svg onload=alert(1)&gt;&quot;x&#x27;&amp;amp;" in r.text,
          "the hostile name escaped in the fragment: %r" % re.findall(r"<h3>.*?</h3>", r.text))
    unmonitor()
    check.done()

    # --- restart: the samples are still there; a tiny retention rolls up ---
    t_stop = int(time.time())
    before_rows = db_rows(hp, "SELECT COUNT(*) FROM samples_raw r JOIN sample_nodes n ON "
                              "n.id = r.node WHERE n.cluster = ? AND r.ts <= ?", (NAME, t_stop))[0][0]
    hp.stop()
    hp.env_extra["HAPANEL_HISTORY_RAW_KEEP_S"] = "1"
    hp.start()
    hp.wait_nodes_up(nodes, NAME, 10)
    _, p = points_by_node(hp, metric="memory", step="60", **{"from": t_stop - 600, "to": t_stop})
    check(sorted(p) == sorted(nodes) and all(v and v[-1][0] <= t_stop for v in p.values()),
          "after the restart, the samples from before it: %r" % {k: v[-2:] for k, v in p.items()})

    def rolled():
        st = dict(db_rows(hp, "SELECT k, v FROM samples_state"))
        old_raw = db_rows(hp, "SELECT COUNT(*) FROM samples_raw WHERE ts <= ?", (t_stop,))[0][0]
        return st.get("minute", 0) > t_stop and old_raw == 0 and st
    st = wait_for(rolled, 75, 1.0, msg="the raw rows of before the restart rolled up and deleted "
                                       "(raw_keep_s 1, at the next whole minute)")
    mins = db_rows(hp, "SELECT n.node, m.ts, m.n, m.mem, m.ops FROM samples_minute m JOIN "
                       "sample_nodes n ON n.id = m.node WHERE n.cluster = ? AND m.ts <= ?",
                   (NAME, t_stop))
    log("state %r; %d raw rows before the restart became %d minute rows, e.g. %r"
        % (st, before_rows, len(mins), mins[:3]))
    check(set(m[0] for m in mins) == set(nodes), "minute buckets of every node: %r" % mins[:6])
    check(sum(m[2] for m in mins) >= before_rows * 0.9 and all(m[3] > 0 for m in mins),
          "the minute buckets count the raw rows (n %d of %d) with memory > 0"
          % (sum(m[2] for m in mins), before_rows))
    newest_raw = db_rows(hp, "SELECT MIN(ts) FROM samples_raw")[0][0]
    check(newest_raw is None or newest_raw >= st["minute"] - 2,
          "raw rows older than the rolled-up minute are gone: oldest %r, minute %r"
          % (newest_raw, st["minute"]))
    _, p = points_by_node(hp, metric="memory", step="60", **{"from": t_stop - 600, "to": t_stop})
    check(sorted(p) == sorted(nodes) and all(v for v in p.values()),
          "the minute buckets are served at step 60: %r" % {k: v[-2:] for k, v in p.items()})
    r = charts(hp, rng="1h")
    check(r.status == 200 and lines_of(svgs(r.text).get("memory", "")) == set(nodes),
          "the 1 h chart from minute buckets once raw rows are gone")
    check.done()


if __name__ == "__main__":
    run_test(test, limit=240)
