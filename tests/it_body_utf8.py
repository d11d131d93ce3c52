#!/usr/bin/env python3
"""it_body_utf8: strings in request bodies must be valid UTF-8 without NUL,
whether raw bytes or \\u escapes (\\u0000, lone surrogates), and a body has no
NUL byte anywhere; otherwise 400, and nothing is stored. Before, such a
"reason" was stored raw in the job, after which GET /api/v1/jobs (and the
events) were no longer valid JSON. Valid non-ASCII text is kept as sent."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, log, run_test  # noqa: E402

NAME = "mymaster"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        log("FAILED: %s" % what)
    return cond


def strict(raw):
    """raw bytes as JSON, decoded strictly (invalid UTF-8 raises)."""
    return json.loads(raw.decode("utf-8"))


def post(hp, path, body):
    return hp.request("POST", path, body=body, token=OPERATOR_TOKEN,
                      headers={"Content-Type": "application/json"})


def test(env):
    topo = env.topology(replicas=1)
    hp = env.hapanel(topo)
    replica = topo.initial_replicas()[0]
    hp.wait_nodes_up([topo.initial_master(), replica], NAME, 10)
    bgsave = "/api/v1/clusters/%s/nodes/%s/bgsave" % (NAME, replica)

    bad = [
        ("raw 0xff", b'{"reason":"bad \xff byte"}'),
        ("overlong encoding", b'{"reason":"\xc0\xaf"}'),
        ("encoded surrogate", b'{"reason":"\xed\xa0\x80"}'),
        ("truncated sequence", b'{"reason":"\xe2\x82x"}'),
        ("above U+10FFFF", b'{"reason":"\xf4\x90\x80\x80"}'),
        ("raw NUL in a string", b'{"reason":"a\x00b"}'),
        ("escaped NUL", b'{"reason":"a\\u0000b"}'),
        ("lone high surrogate", b'{"reason":"\\ud800"}'),
        ("lone low surrogate", b'{"reason":"\\udc00x"}'),
        ("high surrogate before a non-surrogate", b'{"reason":"\\ud800\\u0041"}'),
        ("invalid UTF-8 in a key", b'{"re\xffason":"x"}'),
        ("NUL after the object", b'{"reason":"x"}\x00junk'),
    ]
    for what, body in bad:
        r = post(hp, bgsave, body)
        log("%s -> %d %r" % (what, r.status, r.raw[:150]))
        check(r.status == 400, "%s: status %d, want 400: %r" % (what, r.status, r.raw[:200]))
        try:
            e = strict(r.raw)["error"]
            check(e["code"] == "bad_request", "%s: code %r" % (what, e["code"]))
        except (ValueError, KeyError, TypeError) as ex:
            check(False, "%s: the error is not strict JSON (%s): %r" % (what, ex, r.raw[:200]))

    # nothing was stored, and every list is still strict JSON
    for path in ("/api/v1/events?limit=1000", "/api/v1/jobs", "/api/v1/failovers"):
        r = hp.get(path)
        try:
            strict(r.raw)
            ok = r.status == 200
        except ValueError as ex:
            ok = False
            log("%s: %s" % (path, ex))
        check(ok, "GET %s is not strict JSON: %d %r" % (path, r.status, r.raw[:300]))
    jobs = hp.jobs()
    check(jobs == [], "refused bodies created jobs: %r" % [(j.get("id"), j.get("reason")) for j in jobs])

    # valid UTF-8, raw and escaped (a surrogate pair), is accepted and kept
    reason = "caf\u00e9 \u2713 \U0001F600"
    body = b'{"reason":"caf\xc3\xa9 \xe2\x9c\x93 \\ud83d\\ude00"}'
    r = post(hp, bgsave, body)
    check(r.status == 202, "valid UTF-8 reason: %d %r" % (r.status, r.raw[:200]))
    if r.status == 202:
        job = hp.wait_job(r.body["job_id"], 30)
        raw = hp.get("/api/v1/jobs/%s" % r.body["job_id"]).raw
        check(strict(raw).get("reason") == reason, "reason stored as %r, want %r" % (
            job.get("reason"), reason))
    assert not failures, "%d checks failed:\n  - %s" % (len(failures), "\n  - ".join(failures))


if __name__ == "__main__":
    run_test(test)
