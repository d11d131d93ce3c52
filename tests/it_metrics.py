#!/usr/bin/env python3
"""it_metrics: /metrics is valid Prometheus text with HELP and TYPE for
every family (`promtool check metrics` accepts it with no complaint), and
its redis_exporter families say what the nodes say (issue 13, item 4, first
part): redis_up 1 for each node, redis_connected_slaves 2 on the master,
redis_master_link_up 1 on each replica, redis_instance_info with the role,
the master's per-replica offsets labelled slave_ip/slave_port, each
Sentinel seeing 3 Sentinels and 2 replicas; hapanel's per-cluster quorum
families; answers counted by class (a worker's 404 and the edge's 400),
jobs by state after a backup. Issue 13, item 4, the rest: a node's
redis_commands_processed_total grows after 200 commands are sent to it;
the poll-duration histogram is well formed (buckets cumulative and
monotonic, _count equal to the +Inf bucket) and its _count grows between
two scrapes; hapanel_notifications has pending and failed even at zero;
the backup's hapanel_backup_last_success_timestamp_seconds is the backup's
time; replicas carry master_host/master_port and Sentinels
master_name/master_address as redis_exporter labels them; each Sentinel
watches one master (redis_sentinel_masters 1). A replica stopped (SIGSTOP)
is down to hapanel while its master's lag for it grows past 3 s in
redis_connected_slave_lag_seconds (the lag alert's input). A replica then killed shows
redis_up 0, its Sentinels' ok_slaves drop to 1, and
hapanel_events_written_total grows (node-down is stored). A cluster name with a
quote, a backslash and a newline would break the text: label values are
escaped (checked by promtool on a hostile master name), and one that is not
UTF-8 (bytes \\xff\\xfe) has each bad byte written '?', so the scrape stays
valid UTF-8 and promtool accepts it. promtool comes from
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
    """promtool on text (str, or the raw bytes of a scrape)."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       timeout=60)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace").strip()


def value(text, name, **labels):
    """The sample of name whose labels include labels, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all('%s="%s"' % (k, v) in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def samples(text, name):
    """Every sample of name (exactly that name) as (labels text, value)."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), line)
        if m:
            out.append((m.group(1) or "", float(m.group(2))))
    return out


def histogram(text, name):
    """(buckets [(le, cumulative count)], sum, count) of a histogram."""
    buckets = [(float(re.search(r'le="([^"]+)"', lb).group(1).replace("+Inf", "inf")), v)
               for lb, v in samples(text, name + "_bucket")]
    s = samples(text, name + "_sum")
    c = samples(text, name + "_count")
    return buckets, s[0][1] if s else None, c[0][1] if c else None


def check_histogram(text, name):
    buckets, total, count = histogram(text, name)
    les = [le for le, _ in buckets]
    counts = [v for _, v in buckets]
    check(len(buckets) >= 5 and les == sorted(les) and les[-1] == float("inf"),
          "%s buckets: %r" % (name, les))
    check(counts == sorted(counts), "%s buckets not cumulative: %r" % (name, counts))
    check(count is not None and counts and counts[-1] == count,
          "%s _count %r != +Inf bucket %r" % (name, count, counts[-1:]))
    check(total is not None and total >= 0, "%s _sum %r" % (name, total))
    return count or 0


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
    for a in replicas:
        mh, mp = master.rsplit(":", 1)
        check(value(text, "redis_master_link_up", addr=a, master_host=mh, master_port=mp) == 1,
              "redis_master_link_up of %s names its master" % a)
        check(value(text, "redis_slave_repl_offset", addr=a) is not None, "offset of %s" % a)
    for s in topo.sentinel_addrs:
        check(value(text, "redis_sentinel_masters", addr=s) == 1, "masters of Sentinel %s" % s)
        check(value(text, "redis_sentinel_master_status", addr=s, master_name=NAME,
                    master_address=master, master_status="ok") == 1, "master status on %s" % s)
        check(value(text, "redis_sentinel_master_setting_ckquorum", addr=s) == 2,
              "quorum setting on %s" % s)
    check(value(text, "hapanel_cluster_master", cluster=NAME, addr=master) == 1, "cluster master")
    for st in ("pending", "delivered", "failed"):
        check(value(text, "hapanel_notifications", state=st) == 0,
              "hapanel_notifications{state=%s} present at 0" % st)
    for k in ("automatic", "graceful", "forced"):
        check(value(text, "hapanel_failovers_total", kind=k) == 0, "failovers %s at 0" % k)

    # commands processed: 200 PINGs to the master show in its counter
    before = value(text, "redis_commands_processed_total", cluster=NAME, addr=master)
    check(before is not None and before > 0, "redis_commands_processed_total of the master: %r"
          % before)
    check("# TYPE redis_commands_processed_total counter" in text, "commands counter's type")
    with Redis.at(master) as c:
        for _ in range(200):
            c.cmd("PING")
    wait_for(lambda: (value(hp.get("/metrics").text, "redis_commands_processed_total",
                            addr=master) or 0) >= before + 200, 10, 0.2,
             msg="redis_commands_processed_total grows by the 200 commands sent")

    # the poll histogram: well formed, and it keeps counting
    text = hp.get("/metrics").text
    n1 = check_histogram(text, "hapanel_poll_duration_seconds")
    check(n1 > 0, "poll histogram counted nothing: %r" % n1)
    wait_for(lambda: histogram(hp.get("/metrics").text, "hapanel_poll_duration_seconds")[2] > n1,
             10, 0.2, msg="hapanel_poll_duration_seconds_count grows")
    n2 = check_histogram(hp.get("/metrics").text, "hapanel_poll_duration_seconds")
    log("poll histogram: %d then %d round trips" % (n1, n2))

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
        text = hp.get("/metrics").text
        check(value(text, "hapanel_jobs", state="succeeded") == 1,
              "hapanel_jobs{state=succeeded} after a backup")
        bks = hp.get("/api/v1/clusters/%s/backups" % NAME).body["backups"]
        ts = value(text, "hapanel_backup_last_success_timestamp_seconds", cluster=NAME)
        check(ts is not None and bks and abs(ts * 1000 - bks[0]["created_at"]) < 1000,
              "backup timestamp %r against the catalogue's %r" % (ts, bks[:1]))
        check((value(text, "hapanel_backup_last_size_bytes", cluster=NAME) or 0) > 0,
              "backup size")

    # a hung replica: down to hapanel, still listed by its master, whose
    # view of its lag keeps growing (what the lag alert reads)
    hung = replicas[1]
    hh, hport = hung.rsplit(":", 1)
    topo.stop(hung)
    try:
        def hung_lag():
            t = hp.get("/metrics").text
            lag = value(t, "redis_connected_slave_lag_seconds", addr=master, slave_ip=hh,
                        slave_port=hport)
            seen["hung"] = (value(t, "redis_up", addr=hung), lag)
            return value(t, "redis_up", addr=hung) == 0 and lag is not None and lag >= 3
        wait_for(hung_lag, 15, 0.3, msg=lambda: "a hung replica's lag grows on its master "
                 "(redis_up, lag): %r" % (seen.get("hung"),))
    finally:
        topo.cont(hung)
    wait_for(lambda: value(hp.get("/metrics").text, "redis_up", addr=hung) == 1, 15, 0.3,
             msg="the hung replica back")

    written = samples(hp.get("/metrics").text, "hapanel_events_written_total")[0][1]
    topo.kill(replicas[0])
    wait_for(lambda: value(hp.get("/metrics").text, "redis_up", addr=replicas[0]) == 0, 10, 0.2,
             msg="redis_up 0 for the killed replica")
    wait_for(lambda: samples(hp.get("/metrics").text, "hapanel_events_written_total")[0][1]
             > written, 10, 0.2, msg="hapanel_events_written_total grows after a replica kill")
    wait_for(lambda: all(value(hp.get("/metrics").text, "redis_sentinel_master_ok_slaves", addr=s)
                         == 1 for s in topo.sentinel_addrs), 15, 0.3,
             msg="each Sentinel's ok_slaves drops to 1 once it has the replica down")
    text = hp.get("/metrics").text
    check(value(text, "redis_sentinel_master_slaves", addr=topo.sentinel_addrs[0]) == 2,
          "the killed replica is still known to the Sentinels")
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
    rc, out = promtool_check(hp.get("/metrics").raw)
    check(rc == 0 and out == "", "promtool on the hostile name: exit %d: %s" % (rc, out[:500]))
    check.done()

    # a master name that is not UTF-8: Prometheus refuses the whole scrape
    # over one bad byte, so each is written '?' (as the API writes it)
    nonutf8 = b"bad\xff\xfename"
    with Redis.at(s0) as c:
        assert c.cmd("SENTINEL", "MONITOR", nonutf8, "127.0.0.1", master.rsplit(":", 1)[1],
                     2) == "OK"
    env.on_cleanup(lambda: Redis.at(s0).cmd("SENTINEL", "REMOVE", nonutf8))
    wait_for(lambda: b'master_name="bad??name"' in hp.get("/metrics").raw, 15, 0.2,
             msg="the non-UTF-8 name, repaired, in /metrics")
    raw = hp.get("/metrics").raw
    try:
        raw.decode("utf-8")
        valid = True
    except UnicodeDecodeError as e:
        valid = False
        log("not UTF-8 at %d: %r" % (e.start, raw[max(0, e.start - 80):e.start + 20]))
    check(valid, "/metrics is valid UTF-8 with a master named %r" % nonutf8)
    rc, out = promtool_check(raw)
    check(rc == 0 and out == "", "promtool on the non-UTF-8 name: exit %d: %s" % (rc, out[:500]))
    check.done()


if __name__ == "__main__":
    run_test(test)
