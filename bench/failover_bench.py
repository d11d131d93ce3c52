#!/usr/bin/env python3
"""failover_bench.py — acknowledged writes lost and client write gaps: 20
graceful switchovers through hapanel, then 20 plain `SENTINEL FAILOVER`s
(what most runbooks do), in the same run, under the same continuous writer.

One topology: 1 master + 2 replicas + 3 Sentinels on 127.0.0.1 (quorum 2,
down-after 5000 ms by default, the runbook-like value; failover-timeout
60000 ms), hapanel (HAPANEL_BIN, default build-bench/hapanel) polling every
1000 ms. A harness.Writer writes SET w:<n> <n> through Sentinel as fast as it
can the whole time (one write in flight; on any error it asks Sentinel again
and rewrites the same n), and a harness.RoleWatcher polls INFO replication on
every node every 20 ms.

Phase 1, graceful: N times POST /api/v1/clusters/mymaster/failover
{mode: graceful} (no target: Sentinel picks; --target names one, which adds
the ~10 s priority steering each time), wait for the job to succeed, for
every Sentinel to report the new master, for the API to show the new
topology with every replica linked, and for the writer to be acknowledged by
the new master, then settle 1 s.

Phase 2, plain: N times, once every Sentinel has settled on the master
(no failover in progress, every replica seen reporting role slave and
linked: without it a SENTINEL FAILOVER right after the previous demotion
can be undone by a Sentinel with a stale view), `SENTINEL FAILOVER
mymaster` sent straight to a Sentinel (in turn), wait for a Sentinel to report a new master
(+switch-master), for every Sentinel to agree, for the old master to be
demoted by Sentinel itself (role:slave, ~8-10 s: nobody fences it), for the
replicas to catch up and for the writer to be acknowledged by the new
master, then settle 1 s.

Per phase it prints: switchovers done, writes acknowledged, acknowledged
writes lost (read back from the current master once its replicas caught up;
graceful must be 0), the median and maximum of each switchover's longest
write gap, the old master's demotion delay after the promotion (RoleWatcher),
the duration of a switchover, and for graceful hapanel's writes_paused_ms.
Also what hapanel recorded (failover rows by kind, +switch-master events).
Exit 0 when the graceful phase lost nothing and every switchover succeeded.

usage: python3 bench/failover_bench.py [--switchovers 20] [--failovers 20]
           [--down-after 5000] [--failover-timeout 60000] [--target] [--rate 0]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402

NAME = "mymaster"
SETTLE_S = 1.0
log = harness.log


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--switchovers", type=int, default=20, help="graceful switchovers (20)")
    p.add_argument("--failovers", type=int, default=20, help="plain SENTINEL FAILOVERs (20)")
    p.add_argument("--down-after", type=int, default=5000,
                   help="Sentinel down-after-milliseconds (5000, runbook-like; the graceful "
                        "pause limit defaults to half of it)")
    p.add_argument("--failover-timeout", type=int, default=60000,
                   help="Sentinel failover-timeout in ms (60000)")
    p.add_argument("--target", action="store_true",
                   help="name a target replica in each graceful switchover (adds the ~10 s "
                        "replica-priority steering to each)")
    p.add_argument("--rate", type=int, default=0, help="writes per second, 0 = as fast as it can (0)")
    a = p.parse_args()
    if not (1 <= a.switchovers <= 200 and 0 <= a.failovers <= 200 and 1000 <= a.down_after <= 60000
            and 3000 <= a.failover_timeout <= 600000 and 0 <= a.rate <= 1000000):
        p.error("out of range")
    return a


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def mx(xs):
    return max(xs) if xs else float("nan")


class Phase:
    def __init__(self, name):
        self.name = name
        self.done = 0
        self.failed = []          # (i, why)
        self.gaps = []            # longest write gap of each switchover, s
        self.demotion = []        # old master role:slave - new master role:master, s
        self.durations = []       # request -> switch complete, s
        self.paused = []          # hapanel's writes_paused_ms
        self.retries = {}         # status -> count (graceful POST retried)
        self.n0 = self.n1 = 0     # writer ack range of the phase
        self.t0 = self.t1 = 0.0
        self.lost = None
        self.missing = []


def wait_api(hp, topo, master, timeout=20):
    """The API shows master as the up master and every other node as an up
    replica of it with its link up (what POST /failover checks)."""
    want = set(topo.node_addrs)
    seen = {}

    def ok():
        c = seen["c"] = hp.cluster(NAME)
        m = c.get("master") or {}
        reps = c.get("replicas") or []
        if m.get("addr") != master or m.get("up") is not True or m.get("role") != "master":
            return False
        if {r.get("addr") for r in reps} | {master} != want:
            return False
        return all(r.get("up") is True and r.get("role") == "replica" and r.get("link") == "up"
                   and r.get("master_addr") == master for r in reps)
    harness.wait_for(ok, timeout, 0.1, msg=lambda: "API shows %s as master with every replica "
                     "linked (%s)" % (master, [(n.get("addr"), n.get("role"), n.get("up"), n.get("link"))
                                               for n in [(seen.get("c") or {}).get("master") or {}]
                                               + list((seen.get("c") or {}).get("replicas") or [])]))


def settle_on(topo, w, new, t_after, timeout=30):
    """Every Sentinel reports new, it says role:master, and the writer got an
    acknowledgement from it after t_after; then SETTLE_S more."""
    got = topo.agreed_master(timeout)
    assert got == new, "Sentinels agree on %s, expected %s" % (got, new)
    harness.wait_for(lambda: w.acked_since(t_after) and w.masters and w.masters[-1] == new,
                     timeout, 0.02, msg=lambda: "writer acknowledged by %s (%s)" % (new, w.summary()))
    time.sleep(SETTLE_S)


def sentinels_settled(topo, master, timeout=40):
    """Every Sentinel has master as its master (flags exactly "master": no
    failover in progress, not down) and lists every other node as a replica
    that itself reported role slave, following master with its link ok.
    Without this a SENTINEL FAILOVER right after Sentinel demoted the old
    master can be undone: a Sentinel that has not re-read the old master's
    INFO since it turned replica (every 10 s) still holds its "role master"
    report and sends +convert-to-slave to the replica just promoted."""
    others = set(topo.node_addrs) - {master}
    seen = {}

    def ok():
        for s in topo.sentinel_addrs:
            with topo.client(s, timeout=1) as c:
                mm = harness.parse_kv(c.cmd("SENTINEL", "MASTER", NAME))
                reps = [harness.parse_kv(x) for x in c.cmd("SENTINEL", "REPLICAS", NAME)]
            seen["s"] = (s, mm.get("flags"), [(r.get("name"), r.get("flags"), r.get("role-reported"),
                                               r.get("master-port"), r.get("master-link-status"))
                                              for r in reps])
            if "%s:%s" % (mm.get("ip"), mm.get("port")) != master or mm.get("flags") != "master":
                return False
            good = {r.get("name") for r in reps
                    if r.get("flags") == "slave" and r.get("role-reported") == "slave"
                    and "%s:%s" % (r.get("master-host"), r.get("master-port")) == master
                    and r.get("master-link-status") == "ok"}
            if not others <= good:
                return False
        return True
    harness.wait_for(ok, timeout, 0.2, msg=lambda: "every Sentinel settled on %s (last: %s)" % (
        master, seen.get("s")))


def graceful_phase(a, env, topo, hp, w, watch, ph):
    master = topo.agreed_master(30)
    ph.t0, ph.n0 = time.monotonic(), w.acked
    for i in range(1, a.switchovers + 1):
        wait_api(hp, topo, master)
        others = [x for x in topo.node_addrs if x != master]
        body = {"mode": "graceful", "reason": "bench graceful %d" % i}
        if a.target:
            body["target"] = others[i % len(others)]
        t_req = time.monotonic()
        deadline = t_req + 30
        while True:
            r = hp.post("/api/v1/clusters/%s/failover" % NAME, body)
            if r.status == 202 or time.monotonic() > deadline:
                break
            ph.retries[r.status] = ph.retries.get(r.status, 0) + 1
            log("graceful %d: POST -> %d %s; retrying" % (i, r.status, r.text[:200]))
            time.sleep(0.5)
        if r.status != 202:
            ph.failed.append((i, "POST -> %r" % r))
            break
        t_req = time.monotonic()  # accepted: from here the job runs
        jb = hp.wait_job(r.body["job_id"], 120, 0.05)
        t_end = time.monotonic()
        res = jb.get("result") or {}
        if jb.get("state") != "succeeded":
            ph.failed.append((i, "job %s failed: %s" % (jb.get("id"), jb.get("error"))))
            log("graceful %d FAILED: %s\n%s" % (i, jb.get("error"), hp.steps_text(jb)))
            master = topo.agreed_master(60)
            continue
        new = res.get("new_master")
        settle_on(topo, w, new, t_end)
        t_set = time.monotonic()
        ph.done += 1
        ph.durations.append(t_end - t_req)
        ph.gaps.append(w.max_gap(t_req, t_set))
        if isinstance(res.get("writes_paused_ms"), (int, float)):
            ph.paused.append(res["writes_paused_ms"])
        tn, to = watch.first(new, "master", t_req), watch.first(master, "slave", t_req)
        if tn is not None and to is not None:
            ph.demotion.append(to - tn)
        log("graceful %2d: %s -> %s in %.2f s, paused %s ms, longest write gap %.0f ms, "
            "demoted %s ms after the promotion" % (
                i, master, new, t_end - t_req, res.get("writes_paused_ms"), ph.gaps[-1] * 1000,
                "%.0f" % ((to - tn) * 1000) if tn is not None and to is not None else "?"))
        master = new
    ph.t1, ph.n1 = time.monotonic(), w.acked


def plain_phase(a, env, topo, hp, w, watch, ph):
    master = topo.agreed_master(30)
    ph.t0, ph.n0 = time.monotonic(), w.acked
    sents = topo.sentinel_addrs
    for i in range(1, a.failovers + 1):
        topo.wait_in_sync(master, 60)
        sentinels_settled(topo, master)
        s = sents[i % len(sents)]
        t_req = time.monotonic()
        deadline = t_req + 30
        while True:
            try:
                with topo.client(s) as c:
                    c.cmd("SENTINEL", "FAILOVER", NAME)
                break
            except harness.RedisError as e:  # INPROG / NOGOODSLAVE: not yet
                ph.retries[str(e).split()[0]] = ph.retries.get(str(e).split()[0], 0) + 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

        def switched():
            m = topo.current_master(sentinel=s)
            return m if m != master else None
        try:
            new = harness.wait_for(switched, 30, 0.01, msg="Sentinel %s reports a new master" % s)
            t_switch = time.monotonic()
            got = topo.agreed_master(60)
            assert got == new, "Sentinels agree on %s, not %s" % (got, new)
            # nobody fences the old master: Sentinel converts it after ~8-10 s
            harness.wait_for(lambda: watch.roles.get(master) == "slave", 60, 0.02,
                             msg="Sentinel demotes the old master %s" % master)
            settle_on(topo, w, new, time.monotonic())
        except AssertionError as e:
            ph.failed.append((i, str(e)))
            log("plain    %2d FAILED: %s" % (i, e))
            master = topo.agreed_master(120)
            continue
        t_set = time.monotonic()
        ph.done += 1
        ph.durations.append(t_switch - t_req)
        ph.gaps.append(w.max_gap(t_req, t_set))
        tn, to = watch.first(new, "master", t_req), watch.first(master, "slave", t_req)
        if tn is not None and to is not None:
            ph.demotion.append(to - tn)
        log("plain    %2d: %s -> %s, switch seen after %.2f s, longest write gap %.0f ms, old "
            "master demoted %s ms after the promotion" % (
                i, master, new, t_switch - t_req, ph.gaps[-1] * 1000,
                "%.0f" % ((to - tn) * 1000) if tn is not None and to is not None else "?"))
        master = new
    ph.t1, ph.n1 = time.monotonic(), w.acked


def count_lost(topo, w, ph):
    ph.lost = w.lost(topo, start=ph.n0, end=ph.n1, sync_timeout=60)
    ph.missing = list(w.missing)


def bench(env, lines):
    a = ARGS
    topo = env.topology(down_after_ms=a.down_after, failover_timeout_ms=a.failover_timeout,
                        extra_conf="loglevel warning")
    hp = env.hapanel(topo, env_extra={"HAPANEL_POLL_INTERVAL_MS": "1000"})
    wait_api(hp, topo, topo.initial_master())
    watch = harness.RoleWatcher(topo, interval=0.02).start()
    env.on_cleanup(watch.stop)
    w = env.writer(topo, rate=a.rate or None)
    time.sleep(2.0)
    phases = []

    g = Phase("graceful (hapanel)")
    phases.append(g)
    log("phase 1: %d graceful switchovers through hapanel" % a.switchovers)
    graceful_phase(a, env, topo, hp, w, watch, g)
    count_lost(topo, w, g)
    log("graceful phase: %d done, %d acked, %d lost" % (g.done, g.n1 - g.n0, g.lost))

    p = Phase("plain SENTINEL FAILOVER")
    if a.failovers:
        phases.append(p)
        log("phase 2: %d plain SENTINEL FAILOVERs" % a.failovers)
        time.sleep(2.0)
        plain_phase(a, env, topo, hp, w, watch, p)
        time.sleep(1.0)
        count_lost(topo, w, p)
        log("plain phase: %d done, %d acked, %d lost" % (p.done, p.n1 - p.n0, p.lost))
    w.stop()
    watch.stop()
    time.sleep(2.0)
    rows = hp.failovers(cluster=NAME, limit=1000)
    kinds = {}
    for r in rows:
        kinds[r.get("kind")] = kinds.get(r.get("kind"), 0) + 1
    sw = hp.events(cluster=NAME, type="+switch-master", limit=1000).get("events") or []

    lines.append("setup: 1 master + 2 replicas + 3 Sentinels on loopback, quorum 2, "
                 "down-after-milliseconds %d%s, failover-timeout %d ms, parallel-syncs 1; "
                 "hapanel %s polling every 1000 ms; %d CPUs" % (
                     a.down_after, " (runbook-like)" if a.down_after == 5000 else "",
                     a.failover_timeout, hp.bin, os.cpu_count() or 0))
    lines.append("writer: SET w:<n> <n> through Sentinel, one in flight, %s; %d writes acknowledged "
                 "in %.0f s, %d errors retried" % (
                     "%d/s" % a.rate if a.rate else "as fast as it can",
                     w.acked, (w.last_ack or 0) - (w.first_ack or 0), w.nerrors))
    lines.append("graceful switchovers: %s" % (
        "named target each time (includes ~10 s priority steering)" if a.target
        else "no target (Sentinel picks among the caught-up replicas)"))
    for ph in phases:
        acked = ph.n1 - ph.n0
        lines.append("")
        lines.append("[%s]" % ph.name)
        lines.append("  switchovers done:        %d of %d%s" % (
            ph.done, a.switchovers if ph is g else a.failovers,
            "  FAILED: %s" % ph.failed if ph.failed else ""))
        lines.append("  writes acknowledged:     %d (in %.0f s)" % (acked, ph.t1 - ph.t0))
        lines.append("  acked writes lost:       %d%s%s" % (
            ph.lost, " (%.1f%%)" % (100.0 * ph.lost / acked) if acked else "",
            "  e.g. n=%s" % ph.missing[:5] if ph.lost else ""))
        lines.append("  longest write gap:       median %.0f ms, max %.0f ms (per switchover)" % (
            med(ph.gaps) * 1000, mx(ph.gaps) * 1000))
        lines.append("  old master demoted:      median %.0f ms, max %.0f ms after the new one "
                     "said role:master" % (med(ph.demotion) * 1000, mx(ph.demotion) * 1000))
        lines.append("  switchover time:         median %.2f s, max %.2f s (%s)" % (
            med(ph.durations), mx(ph.durations),
            "202 -> job succeeded" if ph is g else "SENTINEL FAILOVER -> new master reported"))
        if ph is g:
            lines.append("  writes_paused_ms:        median %.0f, max %.0f (hapanel's figure; limit %d)"
                         % (med(ph.paused), mx(ph.paused), a.down_after // 2))
        if ph.retries:
            lines.append("  retried requests:        %s" % ph.retries)
    lines.append("")
    lines.append("hapanel recorded: failover rows %s; +switch-master events %d (for %d switchovers)" % (
        kinds, len(sw), g.done + p.done))
    lines.append("")
    lines.append("SUMMARY")
    lines.append("  graceful: %d/%d switchovers, %d acked writes lost (goal 0: %s), write gap median "
                 "%.0f ms / max %.0f ms, paused median %.0f / max %.0f ms" % (
                     g.done, a.switchovers, g.lost, "met" if g.lost == 0 else "MISSED",
                     med(g.gaps) * 1000, mx(g.gaps) * 1000, med(g.paused), mx(g.paused)))
    if a.failovers:
        lines.append("  plain SENTINEL FAILOVER: %d/%d, %d of %d acked writes lost, write gap median "
                     "%.0f ms / max %.0f ms, old master writable for a median %.1f s after the "
                     "promotion" % (p.done, a.failovers, p.lost, p.n1 - p.n0, med(p.gaps) * 1000,
                                    mx(p.gaps) * 1000, med(p.demotion)))
    RESULT["ok"] = (g.lost == 0 and not g.failed and g.done == a.switchovers
                    and (not a.failovers or p.done == a.failovers))


RESULT = {"ok": False}


def main():
    lines = []
    code = 1
    try:
        harness.run_test(lambda env: bench(env, lines), "failover_bench")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    if lines:
        print("\n== failover_bench results ==")
        for l in lines:
            print(l)
        sys.stdout.flush()
    if code == 0 and not RESULT["ok"]:
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    ARGS = parse_args()
    benchlib.setup(limit_s=1500)
    main()
