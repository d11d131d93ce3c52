#!/usr/bin/env python3
"""it_failover_hook: the pre-failover hook (issue 14 item 5) is asked before
every switchover hapanel starts, with the plan, signed like the webhooks,
and its answer decides: a veto or silence changes nothing, a yes lets the
switchover happen; its secret is never shown.

1 master + 2 replicas + 3 Sentinels (down-after 1000 ms). hapanel runs with
HAPANEL_PRE_FAILOVER_URL (a path and query that must not be shown), a
secret, and HAPANEL_PRE_FAILOVER_TIMEOUT_MS 1500. In turn:
  - the receiver answers 403 "change freeze" to a graceful switchover with a
    target (which would steer priorities first): the job fails with "change
    freeze" in its error, the hook got the plan (cluster, mode, target,
    checks, actor, reason, job id) with a valid X-Hapanel-Signature, and
    nothing changed: same master for every Sentinel, same replica-priority
    on every node, same min-replicas-to-write / -max-lag on the master, no
    failover row;
  - the receiver reads the request and never answers, to a forced
    switchover (which would set the write fence first): the job fails with
    "no answer within 1500 ms" within the timeout plus a margin, nothing
    changed;
  - the URL is a blackhole (connect never completes): the same;
  - the receiver answers 200: the switchover happens, to the target, and
    the hook's request was signed and carried the plan.
Then the secret is searched for in every job's JSON, the events, the
settings (admin), hapanel's log and its data files: never there; nor the URL's path and
query in the steps and the log."""

import glob
import hashlib
import hmac
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, VIEWER_TOKEN, Hapanel, log, run_test, wait_for  # noqa: E402
from harness.receiver import start_blackhole, start_receiver  # noqa: E402

NAME = "mymaster"
SECRET = "hook-Secret-8q3Zr7Wn"
ADMIN_TOKEN = "admin-Tok-hook-51xk"
TIMEOUT_MS = 1500
PATH = "/veto/check?key=PathTok-77aa"  # a path and query that may hold a credential
MARGIN_S = 3.0


def verify_signature(rec):
    """The request's X-Hapanel-Signature is the HMAC-SHA256 of its body."""
    want = "sha256=" + hmac.new(SECRET.encode(), rec.body, hashlib.sha256).hexdigest()
    got = rec.header("X-Hapanel-Signature")
    assert got == want, "signature %r, want %r over %r" % (got, want, rec.body[:200])


def nothing_changed(topo, hp, before, what):
    master, prio, fence = before
    assert topo.agreed_master(5) == master, "%s: master changed: %s" % (what, topo.sentinel_masters())
    assert topo.role(master) == "master", "%s: %s is no longer a master" % (what, master)
    assert topo.priorities() == prio, "%s: replica-priority changed: %s -> %s" % (
        what, prio, topo.priorities())
    now = state_of_fence(topo, master)
    assert now == fence, "%s: write fence settings changed: %s -> %s" % (what, fence, now)
    assert hp.failovers(cluster=NAME) == [], "%s: a failover row: %s" % (what, hp.failovers())


def state_of_fence(topo, master):
    return (topo.config_get(master, "min-replicas-to-write"),
            topo.config_get(master, "min-replicas-max-lag"))


def wait_plan_ok(hp, body):
    q = "?mode=%s" % body["mode"] + ("&target=%s" % body["target"] if body.get("target") else "")
    seen = {}

    def ok():
        seen["p"] = hp.get("/api/v1/clusters/%s/failover/plan%s" % (NAME, q)).body
        return isinstance(seen["p"], dict) and seen["p"].get("ok")
    wait_for(ok, 20, 0.25, msg=lambda: "the plan passes (now %s)" % json.dumps(seen.get("p"))[:800])
    # the plan (and the dialog) says a hook is asked, never where
    assert seen["p"].get("pre_failover_hook") is True, seen["p"].get("pre_failover_hook")


def switchover(hp, body):
    """POSTs the failover once the plan passes; (job, seconds to its end)."""
    wait_plan_ok(hp, body)
    t0 = time.monotonic()
    r = hp.post("/api/v1/clusters/%s/failover" % NAME, body)
    assert r.status == 202, "POST failover -> %r" % r
    jb = hp.wait_job(r.body["job_id"], 60, 0.05)
    dt = time.monotonic() - t0
    log("job %s %s after %.2f s: %s\n%s" % (jb["id"] if "id" in jb else r.body["job_id"], jb["state"],
                                           dt, jb.get("error"), Hapanel.steps_text(jb)))
    return jb, dt, r.body["job_id"]


def check_veto(jb, dt, want, what):
    steps = Hapanel.steps_text(jb)
    assert jb["state"] == "failed", "%s: the job did not fail: %s" % (what, steps)
    err = jb.get("error") or ""
    assert want in err, "%s: error %r does not say %r" % (what, err, want)
    assert "pre-failover hook" in err, "%s: error %r does not name the hook" % (what, err)
    assert "vetoed" in steps, "%s: no step records the veto:\n%s" % (what, steps)
    for change in ("write fence on", "replica-priority of", "writes paused on", "SENTINEL FAILOVER sent"):
        assert change not in steps, "%s: a change was made (%r):\n%s" % (what, change, steps)
    res = (jb.get("result") or {}).get("pre_failover_hook") or {}
    assert res.get("answer") == "vetoed", "%s: result.pre_failover_hook %r" % (what, res)
    assert "PathTok" not in steps and "/veto/check" not in steps, \
        "%s: the hook URL's path is shown:\n%s" % (what, steps)
    return res


def check_plan_body(rec, job_id, mode, target, old):
    verify_signature(rec)
    assert rec.method == "POST" and rec.path == PATH, (rec.method, rec.path)
    assert rec.header("Content-Type") == "application/json", rec.header("Content-Type")
    b = rec.json()
    assert isinstance(b, dict), "the hook's body is not JSON: %r" % rec.body[:300]
    assert b.get("event") == "pre_failover", b.get("event")
    assert b.get("cluster") == NAME and b.get("mode") == mode, (b.get("cluster"), b.get("mode"))
    assert b.get("job_id") == job_id, "job_id %r, want %r" % (b.get("job_id"), job_id)
    assert b.get("target") == target, "target %r, want %r" % (b.get("target"), target)
    assert b.get("old_master") == old, b.get("old_master")
    if target:
        assert b.get("expected") == target, b.get("expected")
    else:
        assert b.get("expected") and b.get("expected") == b.get("choice"), (b.get("expected"),
                                                                          b.get("choice"))
    assert b.get("reason") == "hook test", b.get("reason")
    actor = b.get("actor")
    assert isinstance(actor, str) and actor and OPERATOR_TOKEN not in actor, "actor %r" % actor
    checks = b.get("checks")
    assert isinstance(checks, list) and checks and all(
        {"name", "state", "message"} <= set(c) for c in checks), "checks %r" % checks
    assert b.get("ok") is True, "the plan sent is not ok: %s" % b
    assert SECRET not in rec.body.decode("utf-8", "replace"), "the secret is in the hook's body"


def test(env):
    topo = env.topology(down_after_ms=1000, failover_timeout_ms=3000)
    rcv = start_receiver(env, default=(403, b"change freeze: release 4.2 in progress"))
    extra = {
        "HAPANEL_API_TOKENS": "viewer:%s,operator:%s,admin:root:%s" % (
            VIEWER_TOKEN, OPERATOR_TOKEN, ADMIN_TOKEN),
        "HAPANEL_PRE_FAILOVER_URL": rcv.url + PATH,
        "HAPANEL_PRE_FAILOVER_SECRET": SECRET,
        "HAPANEL_PRE_FAILOVER_TIMEOUT_MS": str(TIMEOUT_MS),
    }
    hp = env.hapanel(topo, env_extra=extra)
    old = topo.current_master()
    r1, r2 = topo.initial_replicas()
    hp.wait_nodes_up([old, r1, r2], NAME, 10)
    before = (old, topo.priorities(), state_of_fence(topo, old))
    log("before: master %s, priorities %s, fence settings %s" % before)

    # 1. a veto with its reason
    jb, dt, jid = switchover(hp, {"mode": "graceful", "target": r2, "reason": "hook test"})
    check_veto(jb, dt, "change freeze", "403")
    assert "HTTP 403" in jb["error"], jb["error"]
    reqs = rcv.got()
    assert len(reqs) == 1, "the hook was asked %d times: %s" % (len(reqs), reqs)
    check_plan_body(reqs[0], jid, "graceful", r2, old)
    nothing_changed(topo, hp, before, "after the 403")
    log("403: vetoed (%s), nothing changed" % jb["error"])

    # 2. a hook that reads the request and never answers
    rcv.default = (200, b'{"ok":true}')
    rcv.delay(30)
    jb, dt, jid = switchover(hp, {"mode": "force", "reason": "hook test"})
    res = check_veto(jb, dt, "no answer within %d ms" % TIMEOUT_MS, "silent")
    assert TIMEOUT_MS - 100 <= res.get("ms", -1) <= TIMEOUT_MS + 1000, \
        "the silent hook was given %r ms, want about %d" % (res.get("ms"), TIMEOUT_MS)
    assert dt <= TIMEOUT_MS / 1000.0 + MARGIN_S, "the job took %.2f s (timeout %d ms)" % (dt, TIMEOUT_MS)
    reqs = rcv.got()
    assert len(reqs) == 2, "the silent hook was not asked once: %s" % reqs
    check_plan_body(reqs[1], jid, "force", None, old)
    nothing_changed(topo, hp, before, "after the silence")
    log("silent: vetoed after %s ms (job %.2f s)" % (res.get("ms"), dt))

    # 3. a blackhole: the connection never completes
    hp.stop()
    hp.env_extra["HAPANEL_PRE_FAILOVER_URL"] = start_blackhole(env) + PATH
    hp.start()
    hp.wait_nodes_up([old, r1, r2], NAME, 10)
    jb, dt, jid = switchover(hp, {"mode": "graceful", "reason": "hook test"})
    res = check_veto(jb, dt, "no answer within %d ms" % TIMEOUT_MS, "blackhole")
    assert TIMEOUT_MS - 100 <= res.get("ms", -1) <= TIMEOUT_MS + 1000, res
    assert dt <= TIMEOUT_MS / 1000.0 + MARGIN_S, "the job took %.2f s" % dt
    nothing_changed(topo, hp, before, "after the blackhole")
    log("blackhole: vetoed after %s ms (job %.2f s)" % (res.get("ms"), dt))

    # 4. a yes: the switchover happens
    hp.stop()
    rcv.stop()
    rcv = start_receiver(env)
    hp.env_extra["HAPANEL_PRE_FAILOVER_URL"] = rcv.url + PATH
    hp.start()
    hp.wait_nodes_up([old, r1, r2], NAME, 10)
    jb, dt, jid = switchover(hp, {"mode": "graceful", "target": r2, "reason": "hook test"})
    steps = Hapanel.steps_text(jb)
    assert jb["state"] == "succeeded", "the allowed switchover failed: %s\n%s" % (jb.get("error"), steps)
    assert (jb.get("result") or {}).get("new_master") == r2, jb.get("result")
    assert ((jb.get("result") or {}).get("pre_failover_hook") or {}).get("answer") == "allowed", \
        jb.get("result")
    assert steps.index("allowed the switchover") < steps.index("replica-priority of"), \
        "the hook was not asked before the first change:\n%s" % steps
    assert topo.agreed_master(10) == r2, topo.sentinel_masters()
    reqs = rcv.got()
    assert len(reqs) == 1, reqs
    check_plan_body(reqs[0], jid, "graceful", r2, old)
    log("200: switched over to %s" % r2)

    # the secret and the URL's path and query are shown nowhere
    everything = [json.dumps(hp.job(j["id"])) for j in hp.jobs()]
    everything.append(json.dumps(hp.json_ok("/api/v1/jobs")))
    everything.append(json.dumps(hp.json_ok("/api/v1/events?limit=500")))
    st = hp.get("/api/v1/settings", token=ADMIN_TOKEN)
    assert st.status == 200, st
    settings = json.dumps(st.body)
    sec = [x for x in st.body.get("settings") or [] if x.get("env") == "HAPANEL_PRE_FAILOVER_SECRET"]
    assert sec and sec[0].get("value") is None and sec[0].get("set") is True, \
        "settings: the hook secret is not withheld and set: %s" % sec
    everything.append(settings)
    hp.stop()
    logtext = hp.log_text()
    assert "pre-failover hook" in logtext, "the hook's steps are not in the log"
    for i, text in enumerate(everything + [logtext]):
        assert SECRET not in text, "the hook secret appears in %s" % (
            "the log" if i == len(everything) else text[:300])
    for i, text in enumerate(everything[:-1] + [logtext]):  # settings show the URL as configured
        assert "PathTok" not in text, "the hook URL's query appears in %s" % text[:300]
    for path in glob.glob(os.path.join(hp.data_dir, "*")):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                assert SECRET.encode() not in f.read(), "the hook secret is stored in %s" % path
    log("secret shown nowhere (%d documents, the log, the data files)" % len(everything))


if __name__ == "__main__":
    run_test(test)
