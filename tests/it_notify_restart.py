#!/usr/bin/env python3
"""it_notify_restart: the outbox survives a crash, and what was delivered is
never sent again. The webhook points at a loopback port where nothing
listens yet. The master is SIGKILLed; the failover message goes to the
outbox and its first attempt fails (the row is pending with a last_error).
hapanel is SIGKILLed while the row is pending; the receiver starts on that
port; hapanel starts again (same data dir, same environment) and delivers the
message within a few seconds, exactly once. hapanel is then stopped (SIGTERM)
and started again: the receiver does not get the message a second time, and
the outbox still holds one row for it, delivered."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Receiver, free_port, log, run_test, wait_for  # noqa: E402

NAME = "mymaster"
RESUME_S = 3.0  # after the restart; the first retry was due 1 s after the failed attempt


def test(env):
    port = free_port()
    url = "http://127.0.0.1:%d/hook" % port
    topo = env.topology()
    hp = env.hapanel(topo, env_extra={"HAPANEL_WEBHOOK_URLS": url})
    old = topo.current_master()
    hp.wait_nodes_up([old] + topo.initial_replicas(), NAME, 10)

    topo.kill(old)
    log("killed master %s; the webhook at %s is down" % (old, url))
    fos = wait_for(lambda: [f for f in hp.failovers(cluster=NAME) if f.get("old_master") == old], 30,
                   0.1, msg="the failover is recorded")
    key = "failover:%d" % fos[0]["id"]
    new = fos[0]["new_master"]
    seen = {}

    def rows():
        return [x for x in hp.json_ok("/api/v1/notifications?limit=1000").get("notifications") or []
                if x.get("key") == key]

    def failed_once():
        r = seen["r"] = rows()
        return r[0] if len(r) == 1 and r[0].get("state") == "pending" and r[0].get("attempts") == 1 \
            and r[0].get("last_error") else None
    row = wait_for(failed_once, 5, 0.05, msg=lambda: "the outbox row of %s is pending after one "
                   "failed attempt (rows: %s)" % (key, seen.get("r")))
    log("pending before the crash: %s" % row)
    first_id = row["id"]
    hp.kill()
    log("hapanel killed (SIGKILL) with %s pending" % key)

    recv = Receiver(port=port).start()
    env.on_cleanup(recv.stop)
    log("receiver started on the webhook's port %d" % port)
    t_start = time.time()
    hp.start()
    log("hapanel started again (%.2f s)" % (time.time() - t_start))

    def is_msg(q):
        return q.header("X-Hapanel-Delivery") == key
    got = recv.wait(is_msg, 1, RESUME_S + 5, msg="the pending %s is delivered after the restart" % key)
    lat = got[0].t - t_start
    log("delivered %.0f ms after hapanel was started again" % (lat * 1000))
    assert lat <= RESUME_S, "the pending message came %.2f s after the restart (want <= %.1f s)" % (
        lat, RESUME_S)
    b = got[0].json()
    assert b.get("type") == "failover" and (b.get("details") or {}).get("old_master") == old, b

    def delivered():
        r = seen["r"] = rows()
        return r[0] if len(r) == 1 and r[0].get("state") == "delivered" else None
    row = wait_for(delivered, 3, 0.05, msg=lambda: "one outbox row of %s, delivered (rows: %s)" % (
        key, seen.get("r")))
    assert row.get("attempts") == 2 and row["id"] == first_id, (row, first_id)
    log("after the restart: %s" % row)

    time.sleep(2)
    assert len(recv.got(is_msg)) == 1, "want %s exactly once, got %s" % (key, recv.got(is_msg))

    # a clean restart: what was delivered is not sent again
    hp.stop()
    hp.start()
    log("hapanel stopped (SIGTERM) and started again")
    time.sleep(4)
    msgs = recv.got(is_msg)
    assert len(msgs) == 1, "%s was sent again after a restart: %s" % (key, msgs)
    r = rows()
    assert len(r) == 1 and r[0].get("state") == "delivered" and r[0].get("attempts") == 2, r
    log("receiver got %d request(s) in all: %s" % (len(recv.got()), recv.got()))

    # One failover, one message: hapanel was SIGKILLed a moment after the
    # first +switch-master, and a Sentinel that publishes its +switch-master
    # later (the leader does so after reconfiguring the replicas) must not
    # make the restarted hapanel record, and notify, the same failover again.
    # (Under load Sentinel may fail over once more right after, new -> x:
    # that one is another failover, with its own message; only old -> new
    # counts here.)
    allf = hp.failovers(cluster=NAME)
    log("failover records: %s" % [(f.get("id"), f.get("kind"), f.get("old_master"),
                                   f.get("new_master"), f.get("started_at"), f.get("ended_at"))
                                  for f in allf])
    fos = [f for f in allf if (f.get("old_master"), f.get("new_master")) == (old, new)]
    fo_msgs = recv.got(lambda q: (q.json() or {}).get("type") == "failover" and
                       ((q.json() or {}).get("details") or {}).get("old_master") == old)
    assert len(fos) == 1, "the one failover %s -> %s is recorded %d times after hapanel restarted " \
        "during it (a late +switch-master of another Sentinel counted again): %s" % (
            old, new, len(fos), fos)
    assert len(fo_msgs) == 1, "want one message about the failover %s -> %s over both restarts, " \
        "got %d: %s" % (old, new, len(fo_msgs), fo_msgs)


if __name__ == "__main__":
    run_test(test)
