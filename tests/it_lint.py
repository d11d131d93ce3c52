#!/usr/bin/env python3
"""it_lint: the Sentinel config lint (issue 14, item 2) on real topologies
built to trip its checks, with [lint] interval_s = 2.

mymaster: 1 master + 2 replicas + 2 Sentinels of quorum 1, one of them with
down-after 2000 (the other 1000); the defaults min-replicas-to-write 0 and
maxmemory 0; save "" and appendonly no (the harness's); replica-read-only
no on one replica and priority 0 on both (CONFIG SET); repl-backlog-size
16 KiB on the master with a writer running; protected-mode no on the master,
no password. GET /api/v1/clusters/mymaster/lint names each of those checks
about the right node or Sentinel (sentinels_too_few, quorum_not_majority,
sentinels_disagree (the cluster's: one against one), sentinels_one_host,
master_no_persistence,
min_replicas_to_write_zero, maxmemory_unset, replica_writable,
replicas_priority_zero, repl_backlog_too_small,
protected_mode_off_no_password) and none that does not apply; /metrics has a
hapanel_lint_findings sample per finding; the dashboard's card lists them.
Then CONFIG SET fixes six of them and SENTINEL SET the down-after: those
findings go within the gather interval (plus a poll), a maxmemory with
allkeys-lru now trips maxmemory_policy_evicts ("if the use is a queue, data
is lost"), and the ones not fixed stay.

renamed: a master started with rename-command CONFIG "": config_unavailable
on it ("unknown command"), and no finding that needs its config.

lintpw (a second hapanel, password set): masterauth emptied on the replica
trips masterauth_missing there and not on the master; protected-mode no
with a password trips nothing; a Sentinel given a wrong auth-pass and
SENTINEL RESET knows no replica and no Sentinel: sentinel_sees_fewer on it.
masterauth put back: the finding goes. The password appears in no answer."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import run_test, log, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.resp import Redis  # noqa: E402

INTERVAL_S = 2
PASSWORD = "s3cr3t-lint-pw"
check = Checks()


def lint(hp, name):
    r = hp.get("/api/v1/clusters/%s/lint" % name)
    assert r.status == 200, r
    return r.body


def found(body):
    """{(check, node or sentinel or None)} of a lint answer."""
    return {(f["check"], f["node"] or f["sentinel"]) for f in body["findings"]}


def checks_of(body):
    return {f["check"] for f in body["findings"]}


def wait_lint(hp, name, pred, timeout, what):
    state = {"b": None}

    def ok():
        state["b"] = lint(hp, name)
        return state["b"]["complete"] and pred(state["b"])
    def msg():
        b = state["b"] or {"findings": [], "pending": None}
        return "%s: %s (pending %s)" % (what, sorted(found(b)), b["pending"])
    wait_for(ok, timeout, 0.25, msg=msg)
    return state["b"]


def metric_samples(text, name):
    out = []
    for line in text.splitlines():
        m = re.match(r"^%s\{([^}]*)\} (\S+)$" % name, line)
        if m:
            out.append((dict(re.findall(r'(\w+)="([^"]*)"', m.group(1))), float(m.group(2))))
    return out


def test(env):
    topo = env.topology(replicas=2, sentinels=2, quorum=1, down_after_ms=1000)
    renamed = env.topology(masters=("renamed",), replicas=0, sentinels=1, quorum=1,
                           extra_conf='rename-command CONFIG ""')
    master = topo.initial_master()
    r1, r2 = topo.initial_replicas()
    s2 = topo.sentinel_addrs[1]
    with topo.client(master) as c:
        c.cmd("CONFIG", "SET", "repl-backlog-size", "16384")
        c.cmd("CONFIG", "SET", "protected-mode", "no")
    with topo.client(r1) as c:
        c.cmd("CONFIG", "SET", "replica-read-only", "no")
    for r in (r1, r2):
        with topo.client(r) as c:
            c.cmd("CONFIG", "SET", "replica-priority", "0")
    with topo.client(s2) as c:
        c.cmd("SENTINEL", "SET", "mymaster", "down-after-milliseconds", "2000")
    writer = env.writer(topo, start=False)
    writer.start()

    hp = env.hapanel(topo, extra_sentinel_hosts=renamed.sentinel_addrs,
                     env_extra={"HAPANEL_LINT_INTERVAL_S": str(INTERVAL_S)})

    # --- everything the first topology was built to trip ------------------
    want = {("sentinels_too_few", None), ("quorum_not_majority", None),
            ("sentinels_disagree", None), ("sentinels_one_host", None),
            ("master_no_persistence", master), ("min_replicas_to_write_zero", master),
            ("maxmemory_unset", master), ("replica_writable", r1),
            ("replicas_priority_zero", None), ("repl_backlog_too_small", master),
            ("protected_mode_off_no_password", master)}
    body = wait_lint(hp, "mymaster", lambda b: want <= found(b), 40,
                     "every check mymaster was built to trip")
    for f in body["findings"]:
        log("  %s %s %s: %s" % (f["severity"], f["check"], f["node"] or f["sentinel"] or "",
                                f["evidence"]))
    check(found(body) == want, "nothing beyond what mymaster trips: %s" % sorted(found(body) - want))
    check(body["interval_s"] == INTERVAL_S and body["pending"] == [], "interval and nothing pending")
    by = {f["check"]: f for f in body["findings"]}
    for f in body["findings"]:
        check(f["severity"] in ("critical", "warning", "info") and f["evidence"] and f["fix"]
              and f["title"], "finding %s has severity, title, evidence and fix" % f["check"])
    check(by["sentinels_too_few"]["severity"] == "critical" and
          "2 Sentinels" in by["sentinels_too_few"]["evidence"], "too few: 2 Sentinels, critical")
    check("a majority is 2" in by["quorum_not_majority"]["evidence"], "quorum evidence")
    check("2000" in by["sentinels_disagree"]["evidence"] and
          "1000" in by["sentinels_disagree"]["evidence"], "disagreement shows both values")
    check(by["sentinels_disagree"]["sentinel"] is None and by["sentinels_disagree"]["node"] is None,
          "one against one: no Sentinel is the odd one, the finding is the cluster's")
    check("repl-backlog-size" in by["repl_backlog_too_small"]["evidence"] and
          "down-after (2000 ms)" in by["repl_backlog_too_small"]["evidence"],
          "backlog evidence: the longest down-after: %s" % by["repl_backlog_too_small"]["evidence"])
    check(body["counts"]["critical"] + body["counts"]["warning"] == len(body["findings"]),
          "counts add up")

    # --- the renamed CONFIG ------------------------------------------------
    rmaster = renamed.initial_master()
    rb = wait_lint(hp, "renamed", lambda b: ("config_unavailable", rmaster) in found(b), 20,
                   "config_unavailable on the renamed master")
    f = [x for x in rb["findings"] if x["check"] == "config_unavailable"][0]
    check("unknown command" in f["evidence"], "CONFIG's error is the evidence: %s" % f["evidence"])
    check("fencing cannot persist" in f["title"], "the title says fencing cannot persist")
    node_checks = {"master_no_persistence", "min_replicas_to_write_zero", "maxmemory_unset",
                   "protected_mode_off_no_password", "repl_backlog_too_small"}
    check(not (checks_of(rb) & node_checks), "no config finding without the config: %s"
          % sorted(checks_of(rb)))

    # --- /metrics and the dashboard ------------------------------------------
    r = hp.get("/metrics")
    samples = metric_samples(r.text, "hapanel_lint_findings")
    mine = {(lb["check"], lb.get("addr")) for lb, v in samples if lb["cluster"] == "mymaster"}
    check(mine == want, "a metric per finding: %s" % sorted(mine ^ want))
    check(all(v == 1 for lb, v in samples), "each finding once")
    check(any(lb["check"] == "min_replicas_to_write_zero" and lb["severity"] == "warning"
              for lb, v in samples), "severity label")
    r = hp.get("/ui/clusters")
    check(r.status == 200 and "Config lint" in r.text and 'data-check="replica_writable"' in r.text
          and 'data-check="config_unavailable"' in r.text, "the dashboard lists the findings")
    check(hp.get("/api/v1/clusters/nope/lint").status == 404, "404 for no such cluster")
    check(hp.get("/api/v1/clusters/mymaster/lint", token=None).status == 401, "viewer needed")

    # --- fix six with CONFIG SET (and the Sentinel's down-after) -------------
    t0 = time.monotonic()
    with topo.client(master) as c:
        c.cmd("CONFIG", "SET", "min-replicas-to-write", "1")
        c.cmd("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        c.cmd("CONFIG", "SET", "maxmemory", "1073741824")
        c.cmd("CONFIG", "SET", "repl-backlog-size", "268435456")
        c.cmd("CONFIG", "SET", "protected-mode", "yes")
    with topo.client(r1) as c:
        c.cmd("CONFIG", "SET", "replica-read-only", "yes")
    with topo.client(r2) as c:
        c.cmd("CONFIG", "SET", "replica-priority", "100")
    with topo.client(s2) as c:
        c.cmd("SENTINEL", "SET", "mymaster", "down-after-milliseconds", "1000")
    after = {("sentinels_too_few", None), ("quorum_not_majority", None),
             ("sentinels_one_host", None), ("master_no_persistence", master),
             ("maxmemory_policy_evicts", master)}
    body = wait_lint(hp, "mymaster", lambda b: found(b) == after, 3 * INTERVAL_S + 4,
                     "the fixed findings gone, the rest left")
    took = time.monotonic() - t0
    log("fixed findings gone after %.1f s (interval %d s)" % (took, INTERVAL_S))
    check(took <= INTERVAL_S + 2.5, "gone within the gather interval and a poll: %.1f s" % took)
    ev = [x for x in body["findings"] if x["check"] == "maxmemory_policy_evicts"][0]
    check("allkeys-lru" in ev["evidence"] and "if the use is a queue, data is lost" in ev["fix"],
          "the eviction finding says what a queue loses")
    r = hp.get("/metrics")
    mine = {(lb["check"], lb.get("addr")) for lb, v in metric_samples(r.text, "hapanel_lint_findings")
            if lb["cluster"] == "mymaster"}
    check(mine == after, "the metric follows: %s" % sorted(mine ^ after))
    writer.stop()

    # --- a password topology: masterauth, protected-mode, a blind Sentinel ---
    pw = env.topology(masters=("lintpw",), replicas=1, sentinels=3, quorum=2, password=PASSWORD)
    hp2 = env.hapanel(pw, env_extra={"HAPANEL_LINT_INTERVAL_S": str(INTERVAL_S)})
    pm, (pr,) = pw.initial_master(), pw.initial_replicas()
    blind = pw.sentinel_addrs[2]
    with pw.client(pr) as c:
        c.cmd("CONFIG", "SET", "masterauth", "")
    with pw.client(pm) as c:
        c.cmd("CONFIG", "SET", "protected-mode", "no")
    with pw.client(blind) as c:
        c.cmd("SENTINEL", "SET", "lintpw", "auth-pass", "wrong-password")
        c.cmd("SENTINEL", "RESET", "lintpw")
    body = wait_lint(hp2, "lintpw", lambda b: ("masterauth_missing", pr) in found(b) and
                     ("sentinel_sees_fewer", blind) in found(b), 30,
                     "masterauth_missing on the replica, sentinel_sees_fewer on the blind one")
    log("lintpw findings: %s" % sorted(found(body)))
    check(("masterauth_missing", pm) not in found(body), "the master has masterauth")
    check("protected_mode_off_no_password" not in checks_of(body),
          "protected-mode no with a password: no finding")
    sf = [x for x in body["findings"] if x["check"] == "sentinel_sees_fewer"][0]
    check("another" in sf["evidence"], "what the others see: %s" % sf["evidence"])
    for path in ("/api/v1/clusters/lintpw/lint", "/metrics", "/ui/clusters"):
        check(PASSWORD not in hp2.get(path).text, "the password is not in %s" % path)
    t0 = time.monotonic()
    with pw.client(pr) as c:
        c.cmd("CONFIG", "SET", "masterauth", PASSWORD)
    wait_lint(hp2, "lintpw", lambda b: "masterauth_missing" not in checks_of(b),
              3 * INTERVAL_S + 4, "masterauth_missing gone")
    check(time.monotonic() - t0 <= INTERVAL_S + 2.5, "gone within the interval")
    check.done()


if __name__ == "__main__":
    run_test(test, limit=240)
