#!/usr/bin/env python3
"""it_notify_shutdown: hapanel stopped (SIGTERM) while a notification
sender is in the middle of a delivery to a webhook that never completes a
connect (curl waits 3 s) stops cleanly: the sender finishes that attempt
and stops before the history writer is freed (before the fix it marked the
outbox through the freed writer: an AddressSanitizer heap-use-after-free at
exit, seen in it_notify_retry). The message is not lost: after the restart
it is still in the outbox, pending or retried.

The notification comes from a graceful switchover (a failover row, critical
for the webhook); SIGTERM is sent when its first attempt has begun (the
outbox row exists, not yet delivered), three times in a row."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, log, run_test, start_blackhole, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402

check = Checks()
NAME = "mymaster"


def test(env):
    hole = start_blackhole(env)
    topo = env.topology()
    hp = env.hapanel(topo, env_extra={"HAPANEL_WEBHOOK_URLS": hole + "/hole",
                                      "HAPANEL_NOTIFY_MAX_ATTEMPTS": "5"})
    hp.wait_nodes_up([topo.current_master()] + topo.initial_replicas(), NAME, 10)
    keys = set()
    for round_ in range(3):
        r = hp.post("/api/v1/clusters/%s/failover" % NAME, {"mode": "graceful"}, token=OPERATOR_TOKEN)
        check(r.status == 202, "switchover %d accepted: %r" % (round_, r))
        hp.wait_job(r.body["job_id"], 60)

        def sending():
            rows = hp.json_ok("/api/v1/notifications?limit=100").get("notifications") or []
            new = [x for x in rows if x["key"] not in keys and x["state"] == "pending"]
            return new
        new = wait_for(sending, 20, 0.05, msg="the switchover's notification in the outbox")
        keys.update(x["key"] for x in new)
        time.sleep(0.5)  # the sender is inside its 3 s connect now
        t0 = time.monotonic()
        hp.stop()  # raises if it does not exit within 10 s; the log must be clean
        took = time.monotonic() - t0
        log("round %d: stopped %.2f s after SIGTERM with %s in flight" % (round_, took, new[0]["key"]))
        check(took < 6, "stopped within the attempt's 3 s and a margin: %.2f s" % took)
        hp.check_log_clean()
        hp.start()
        m = topo.agreed_master(30)
        hp.wait_nodes_up([m] + [a for a in topo.node_addrs if a != m], NAME, 15)
        rows = hp.json_ok("/api/v1/notifications?limit=100").get("notifications") or []
        kept = [x for x in rows if x["key"] == new[0]["key"]]
        check(kept and kept[0]["state"] in ("pending", "failed"),
              "the message kept in the outbox across the stop: %r" % kept)
    check.done()


if __name__ == "__main__":
    run_test(test, limit=200)
