#!/usr/bin/env python3
"""it_prom_files: the Prometheus and Grafana files in docs/ work against
the /metrics hapanel serves (issue 13, item 5). `promtool check rules`
accepts docs/prometheus/hapanel-rules.yml and `promtool test rules` passes
its unit tests (hapanel-rules.test.yml and, for the day-long backup
series, hapanel-rules-backups.test.yml: each alert firing, and not firing
where it must not); the rules cover the runbooks' alerts (master down, lag, memory,
quorum, replica disconnected, split brain, backup stale). The Grafana
dashboard is valid JSON with a datasource variable, every panel's queries
use it, and every query expression parses as PromQL (promtool checks them
as recording rules). Then a real topology and hapanel run, a backup is
taken, and every metric name used by a query, a template variable or a
rule is a family of /metrics with at least one sample: no panel or rule
reads a name hapanel does not serve. promtool comes from Debian's
prometheus package, installed when missing (exit 77 only where it cannot
be)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.debroot import SKIP, tools  # noqa: E402

NAME = "mymaster"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = os.path.join(ROOT, "docs", "prometheus", "hapanel-rules.yml")
RULE_TESTS = [os.path.join(ROOT, "docs", "prometheus", f)
              for f in ("hapanel-rules.test.yml", "hapanel-rules-backups.test.yml")]
DASHBOARD = os.path.join(ROOT, "docs", "grafana", "hapanel-dashboard.json")
RUNBOOK_ALERTS = {"RedisMasterDown", "RedisReplicationLag", "RedisMemoryHigh",
                  "RedisSentinelQuorumLost", "RedisReplicaDisconnected", "RedisSplitBrain",
                  "RedisBackupStale"}
# PromQL words that look like metric names
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan", "le"}
check = Checks()


def promtool(*args, cwd=None):
    r = subprocess.run(["promtool"] + list(args), capture_output=True, text=True, timeout=120,
                       cwd=cwd)
    return r.returncode, (r.stdout + r.stderr).strip()


def metric_names(expr):
    """The metric names a PromQL expression reads: what is left once the
    strings, label matchers, ranges, grouping lists and function calls are
    taken out."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def grafana_exprs(dash):
    """(where, expr) of every panel query and every query variable."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append(("panel %r" % p.get("title"), t["expr"], p, t))
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query", "")
            m = re.match(r"\s*label_values\(\s*([^,)]+)\s*,", q)
            out.append(("variable %r" % v["name"], m.group(1) if m else q, None, None))
    return out


def as_promql(expr):
    """A Grafana expression with its variables replaced, for promtool."""
    return (expr.replace("$__rate_interval", "1m").replace("$__range", "1h")
            .replace("$__interval", "1m").replace("$cluster", ".*"))


def check_static():
    rc, out = promtool("check", "rules", RULES)
    log("promtool check rules: exit %d %s" % (rc, out.splitlines()[-1] if out else ""))
    check(rc == 0 and "SUCCESS" in out, "promtool check rules: %s" % out)
    rc, out = promtool("test", "rules", *[os.path.basename(f) for f in RULE_TESTS],
                       cwd=os.path.dirname(RULES))
    log("promtool test rules: exit %d %s" % (rc, out.splitlines()[-1] if out else ""))
    check(rc == 0 and "SUCCESS" in out, "promtool test rules: %s" % out[-3000:])

    import yaml
    with open(RULES) as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    tests = []
    for name in RULE_TESTS:
        with open(name) as f:
            tests += yaml.safe_load(f)["tests"]
    alerts = {r["alert"] for r in rules if "alert" in r}
    check(RUNBOOK_ALERTS <= alerts, "runbook alerts missing: %r" % sorted(RUNBOOK_ALERTS - alerts))
    # each alert tested firing and, somewhere, not firing
    fired, quiet = set(), set()
    for t in tests:
        for a in t.get("alert_rule_test", []):
            (fired if a.get("exp_alerts") else quiet).add(a["alertname"])
    check(alerts <= fired, "alerts never tested firing: %r" % sorted(alerts - fired))
    check(alerts <= quiet, "alerts never tested quiet: %r" % sorted(alerts - quiet))
    used = {}
    for r in rules:
        for n in metric_names(r["expr"]):
            used.setdefault(n, set()).add("rule %s" % r.get("alert", r.get("record")))

    with open(DASHBOARD) as f:
        dash = json.load(f)  # valid JSON, or the test stops here
    variables = dash.get("templating", {}).get("list", [])
    ds = [v for v in variables if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    check(len(ds) == 1, "no Prometheus datasource variable: %r" % variables)
    dsname = ds[0]["name"] if ds else "datasource"
    exprs = grafana_exprs(dash)
    check(len(exprs) >= 20, "only %d queries in the dashboard" % len(exprs))
    recording = []
    for i, (where, expr, panel, target) in enumerate(exprs):
        if panel is not None:
            for o in (panel, target):
                uid = (o.get("datasource") or {}).get("uid")
                check(uid == "${%s}" % dsname, "%s does not use the datasource variable: %r"
                      % (where, o.get("datasource")))
        recording.append({"record": "grafana:q%d" % i, "expr": as_promql(expr)})
        for n in metric_names(expr):
            used.setdefault(n, set()).add(where)
    for want in ("redis_commands_processed_total", "redis_connected_slave_lag_seconds",
                 "redis_memory_max_bytes", "redis_connected_clients", "hapanel_quorum_ok",
                 "hapanel_failovers_total", "hapanel_poll_duration_seconds_bucket", "redis_up"):
        check(want in used, "the dashboard or the rules never read %s" % want)
    # every query parses as PromQL
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        json.dump({"groups": [{"name": "grafana", "rules": recording}]}, f)
    try:
        rc, out = promtool("check", "rules", f.name)
    finally:
        os.unlink(f.name)
    check(rc == 0, "a dashboard query is not valid PromQL: %s" % out[-2000:])
    log("%d dashboard queries parse; %d metric names used by the dashboard and the rules"
        % (len(recording), len(used)))
    return used


def families(text):
    """family name -> its type, and the set of sample names with a value."""
    fams = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    samples = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^\n]*\})? \S+$", text, re.M))
    return fams, samples


def served(name, fams):
    """The family that serves sample name (a histogram's _bucket, _sum and
    _count belong to it), or None."""
    if name in fams:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and fams.get(base) == "histogram":
            return base
    return None


def test(env):
    if not shutil.which("promtool") and not tools("promtool"):
        print("SKIP it_prom_files: promtool (Debian's prometheus package) cannot be installed")
        sys.exit(SKIP)
    used = check_static()
    check.done()

    topo = env.topology()
    master = topo.current_master()
    hp = env.hapanel(topo)
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 10)
    r = hp.post("/api/v1/clusters/%s/backups" % NAME, body={})
    if check(r.status == 202, "backup: %r" % r):
        hp.wait_job(r.body["job_id"], 60)
    seen = {}

    def all_served():
        seen["text"] = hp.get("/metrics").text
        fams, samples = families(seen["text"])
        seen["missing"] = sorted(n for n in used if not served(n, fams))
        seen["empty"] = sorted(n for n in used if served(n, fams) and n not in samples)
        return not seen["missing"] and not seen["empty"]
    try:
        wait_for(all_served, 15, 0.5)
    except AssertionError:
        pass  # each missing name is reported below
    for n in seen["missing"]:
        check(False, "%s (used by %s) is not a family of /metrics" % (n, sorted(used[n])))
    for n in seen["empty"]:
        check(False, "%s (used by %s) has no sample in /metrics" % (n, sorted(used[n])))
    log("every one of %d names is served with samples" % len(used))
    check.done()


if __name__ == "__main__":
    run_test(test)
