#!/usr/bin/env python3
"""it_backup_stop: hapanel stopped or killed while a backup streams.

1 master + 1 replica + 1 Sentinel, 128 MB of random values by pipelined SETs,
replica in sync.
  - SIGTERM while the transfer is stalled (the source replica SIGSTOPped once
    the job says "streaming"): hapanel exits with status 0 within 10 s (the
    harness's stop limit, and docker stop's grace period before SIGKILL) and
    leaves no *.partial in the backup dir; after a restart the job is failed
    and the catalogue has no row.
  - SIGKILL while the transfer flows: after a restart the job is failed
    ("interrupted by a restart"), the catalogue has no row, and the
    *.partial of the killed transfer is gone from the backup dir (nothing can
    finish it; left alone, one such file of the dataset's size stays per
    crash).
  - then a backup succeeds and is the only file in the backup dir.
Each problem found is reported at the end, so that both cases always run."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hapanel, backup_list, fill_random, log, run_test, wait_for  # noqa: E402

NAME = "mymaster"
DATA = 128 << 20
STOP_LIMIT_S = 10


def test(env):
    topo = env.topology(replicas=1, sentinels=1, quorum=1)
    master = topo.initial_master()
    (replica,) = topo.initial_replicas()
    with topo.client(master, timeout=60) as c:
        fill_random(c, DATA)
    topo.wait_in_sync(master, 60)
    hp = env.hapanel(topo, env_extra={"HAPANEL_BACKUP_DAILY_AT": "", "HAPANEL_BACKUP_INTERVAL_MINUTES": "0",
                                      "HAPANEL_BACKUP_KEEP_LAST": "0"})
    hp.wait_nodes_up([master, replica], NAME, 15)
    bdir = os.path.join(hp.data_dir, "backups")
    problems = []

    def start_streaming():
        r = hp.post("/api/v1/clusters/%s/backups" % NAME, {})
        assert r.status == 202, "POST backups -> %r" % r
        jid = r.body["job_id"]
        seen = {}

        def streaming():
            j = seen["j"] = hp.job(jid)
            assert j["state"] in ("queued", "running"), "job ended too early: %s" % j
            return any(s["message"].startswith("streaming") for s in j.get("steps") or [])
        wait_for(streaming, 60, 0.01, msg=lambda: "job %s streaming: %s" % (jid, seen.get("j")))
        return jid

    # ---- SIGTERM during a stalled transfer
    jid = start_streaming()
    topo.stop(replica)
    time.sleep(0.3)
    assert [f for f in os.listdir(bdir) if f.endswith(".partial")], os.listdir(bdir)
    t0 = time.monotonic()
    hp.popen.send_signal(signal.SIGTERM)
    rc = hp.popen.wait(timeout=90)  # bounded; measured, then judged
    took = time.monotonic() - t0
    log("SIGTERM during a stalled backup: exit status %s after %.1f s; backup dir %s" % (
        rc, took, os.listdir(bdir)))
    hp.check_log_clean()
    if took > STOP_LIMIT_S or rc != 0:
        problems.append("SIGTERM while backup job %s was streaming from a stalled source: hapanel exited "
                        "with status %s after %.1f s (limit %d s); log:\n%s" % (
                            jid, rc, took, STOP_LIMIT_S, "\n".join(hp.log_since_start().splitlines()[-6:])))
    left = [f for f in os.listdir(bdir) if f.endswith(".partial")]
    if left:
        problems.append("after SIGTERM during job %s the backup dir still has %s" % (jid, left))
    topo.cont(replica)
    hp.start()
    hp.wait_nodes_up([master, replica], NAME, 15)
    j = hp.job(jid)
    assert j["state"] == "failed", "job %s after the SIGTERM: %s" % (jid, j)
    assert backup_list(hp) == [], backup_list(hp)

    # ---- SIGKILL while the transfer flows
    jid = start_streaming()
    hp.kill()
    partial = [f for f in os.listdir(bdir) if f.endswith(".partial")]
    assert partial, "no *.partial while job %s streamed: %s" % (jid, os.listdir(bdir))
    hp.start()
    hp.wait_nodes_up([master, replica], NAME, 15)
    j = hp.job(jid)
    assert j["state"] == "failed" and "restart" in (j.get("error") or ""), j
    assert backup_list(hp) == [], backup_list(hp)
    time.sleep(1)
    left = [f for f in os.listdir(bdir) if f.endswith(".partial")]
    log("SIGKILL during job %s, restarted: job %s (%s); backup dir %s" % (jid, j["state"], j["error"],
                                                                          os.listdir(bdir)))
    if left:
        problems.append("job %s was interrupted by a SIGKILL and marked failed at the restart, but its "
                        "temp file stays in the backup dir: %s (%d bytes)" % (
                            jid, left, sum(os.path.getsize(os.path.join(bdir, f)) for f in left)))

    # ---- a backup still works, and is the only complete file
    r = hp.post("/api/v1/clusters/%s/backups" % NAME, {})
    jb = hp.wait_job(r.body["job_id"], 90, 0.05)
    assert jb["state"] == "succeeded", (jb.get("error"), Hapanel.steps_text(jb))
    rdbs = [f for f in os.listdir(bdir) if f.endswith(".rdb")]
    assert rdbs == [f for f in rdbs if f.endswith("-%d.rdb" % jb["id"])] and len(rdbs) == 1, os.listdir(bdir)
    assert not problems, "\n".join(problems)


if __name__ == "__main__":
    os.environ.setdefault("HAPANEL_IT_LIMIT", "170")
    run_test(test)
