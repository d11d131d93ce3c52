#!/usr/bin/env python3
"""it_metrics: /metrics is valid Prometheus text with HELP and TYPE for
every family (`promtool check metrics` accepts it with no complaint), and
its redis_exporter families say what the nodes say (issue 13, item 4, first
part): redis_up 1 for each node, redis_connected_slaves 2 on the master,
redis_master_link_up 1 on each replica, redis_instance_info with the role,
the master's per-replica offsets labelled slave_ip/slave_port, each
Sentinel seeing 3 Sentinels and 2 replicas; hapanel's per-cluster quorum
families; answers counted by class (a worker's 404 and the edge's 400),
jobs by state after a backup. A replica then killed shows redis_up 0. A cluster name with a
quote, a backslash and a newline would break the text: label values are
escaped (checked by promtool on a hostile master name). promtool comes from
Debian's prometheus package, installed when missing (exit 77, skipped, only
where it cannot be)."""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.debroot import SKIP, tools  # noqa: E402
from harness.resp import Redis  # noqa: E402

NAME = "mymaster"
check = Checks()


def promtool_check(text):
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def value(text, name, **labels):
    """The sample of name whose labels include labels, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all('%s="%s"' % (k, v) in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test(env):
    if not shutil.which("promtool") and not tools("promtool"):
        print("SKIP it_metrics: promtool (Debian's prometheus package) cannot be installed")
        sys.exit(SKIP)
    topo = env.topology()
    master = topo.current_master()
    replicas = topo.initial_replicas()
    hp = env.hapanel(topo)
    hp.wait_nodes_up([master] + replicas, NAME, 10)
    seen = {}

    def full():
        seen["t"] = hp.get("/metrics").text
        return all(value(seen["t"], "redis_sentinel_master_ok_slaves", addr=s) == 2
                   for s in topo.sentinel_addrs) and value(seen["t"], "redis_connected_slaves", addr=master) == 2
    wait_for(full, 15, 0.3, msg=lambda: "every family filled in: %s" % seen.get("t", "")[-800:])
    text = seen["t"]
    rc, out = promtool_check(text)
    log("promtool check metrics: exit %d %r" % (rc, out[:300]))
    check(rc == 0 and out == "", "promtool check metrics: exit %d: %s" % (rc, out[:1000]))
    fams = re.findall(r"^# TYPE (\S+) ", text, re.M)
    helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
    check(set(fams) == helps and len(fams) == len(set(fams)), "families without HELP or twice: %r"
          % sorted(set(fams) ^ helps))
    log("%d families" % len(fams))
    for a in [master] + replicas:
        check(value(text, "redis_up", cluster=NAME, addr=a) == 1, "redis_up of %s" % a)
    check(value(text, "redis_instance_info", addr=master, role="master") == 1, "master's info")
    for a in replicas:
        check(value(text, "redis_instance_info", addr=a, role="slave") == 1, "info of %s" % a)
        check(value(text, "redis_master_link_up", addr=a) == 1, "link of %s" % a)
        h, p = a.rsplit(":", 1)
        check(value(text, "redis_connected_slave_offset_bytes", addr=master, slave_ip=h,
                    slave_port=p) is not None, "offset of %s on the master" % a)
    for s in topo.sentinel_addrs:
        check(value(text, "redis_sentinel_master_ok_sentinels", addr=s) == 3, "Sentinels seen by %s" % s)
    check(value(text, "hapanel_quorum_configured", cluster=NAME) == 2, "quorum configured")
    check(value(text, "hapanel_quorum_reachable", cluster=NAME) == 3, "quorum reachable")
    check(value(text, "hapanel_failover_in_progress", cluster=NAME) == 0, "failover in progress")
    check(value(text, "redis_memory_used_bytes", addr=master) > 0, "memory of the master")

    # answers by class, the edge's own refusals included; jobs and
    # notifications by state, failovers by kind
    before4 = value(text, "hapanel_http_responses_total", code="4xx") or 0
    hp.get("/api/v1/nope")
    st, _, _ = hp.raw(b"BAD REQUEST LINE\r\n\r\n")
    check(st == 400, "a malformed request line: %d" % st)
    text = hp.get("/metrics").text
    check(value(text, "hapanel_http_responses_total", code="2xx") >= 3, "2xx answers counted")
    check(value(text, "hapanel_http_responses_total", code="4xx") >= before4 + 2,
          "4xx answers (a 404 of a worker, a 400 of the edge): %r -> %r" % (
              before4, value(text, "hapanel_http_responses_total", code="4xx")))
    for fam in ("hapanel_jobs", "hapanel_failovers_total", "hapanel_notifications"):
        check("# TYPE %s " % fam in text, "no %s family" % fam)
    r = hp.post("/api/v1/clusters/%s/backups" % NAME, body={})
    if check(r.status == 202, "backup: %r" % r):
        hp.wait_job(r.body["job_id"], 60)
        check(value(hp.get("/metrics").text, "hapanel_jobs", state="succeeded") == 1,
              "hapanel_jobs{state=succeeded} after a backup")

    topo.kill(replicas[0])
    wait_for(lambda: value(hp.get("/metrics").text, "redis_up", addr=replicas[0]) == 0, 10, 0.2,
             msg="redis_up 0 for the killed replica")
    check.done()

    # a master name that would break an unescaped label: Sentinel takes
    # any bytes in SENTINEL MONITOR
    bad = 'we"ird\\na\nme'
    s0 = topo.sentinel_addrs[0]
    with Redis.at(s0) as c:
        assert c.cmd("SENTINEL", "MONITOR", bad, "127.0.0.1", master.rsplit(":", 1)[1], 2) == "OK"
    env.on_cleanup(lambda: Redis.at(s0).cmd("SENTINEL", "REMOVE", bad))
    wait_for(lambda: 'we\\"ird\\\\na\\nme' in hp.get("/metrics").text, 15, 0.2,
             msg="the hostile name, escaped, in /metrics")
    rc, out = promtool_check(hp.get("/metrics").text)
    check(rc == 0 and out == "", "promtool on the hostile name: exit %d: %s" % (rc, out[:500]))
    check.done()


if __name__ == "__main__":
    run_test(test)
