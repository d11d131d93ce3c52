#!/usr/bin/env python3
"""it_datadir_lock: one hapanel per data dir. A second hapanel started on the
data dir of a running one exits at once with status 2 and one line naming
the first one's pid, before it opens the database (so it neither stores
events a second time nor "recovers" the first one's running jobs); the first
one goes on undisturbed. Once the first one has stopped, by SIGTERM or by
SIGKILL (the lock file stays, the kernel drops the lock), a new one starts."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port, log, run_test  # noqa: E402


def panel_started(hp):
    return [e for e in hp.events(limit=1000).get("events") or [] if e.get("type") == "panel-started"]


def test(env):
    topo = env.topology(replicas=0, sentinels=1, quorum=1)
    first = env.hapanel(topo)
    lockfile = os.path.join(first.data_dir, "hapanel.lock")

    second = env.hapanel(topo, start=False, env_extra={"HAPANEL_DATA_DIR": first.data_dir})
    second.port = free_port()
    t0 = time.monotonic()
    p = subprocess.Popen([second.bin], env=second.env(), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError("a second hapanel on the same data dir kept running: %r"
                             % err.decode("utf-8", "replace")[-500:])
    err = err.decode("utf-8", "replace")
    log("second hapanel: status %d after %.2f s: %r" % (p.returncode, time.monotonic() - t0, err))
    assert p.returncode == 2, "second hapanel: exit status %d, want 2: %r" % (p.returncode, err)
    lines = [l for l in err.splitlines() if l.strip()]
    want = "hapanel: data dir %s is in use by another hapanel (pid %d)" % (first.data_dir,
                                                                          first.popen.pid)
    assert lines == [want], "second hapanel's stderr %r, want one line %r" % (err, want)

    # the first one is undisturbed: it answers, and it started once
    time.sleep(0.5)
    assert first.running(), "the first hapanel died"
    assert first.get("/api/v1/health", token=None).status == 200
    n = len(panel_started(first))
    assert n == 1, "%d panel-started events, want 1" % n
    with open(lockfile) as f:
        text = f.read().strip()
    assert text == str(first.popen.pid), "lock file holds %r, want the pid %d" % (text, first.popen.pid)

    # after a clean stop, and after a SIGKILL (stale lock file), a new one starts
    first.stop()
    first.start()
    log("restarted after SIGTERM: pid %d" % first.popen.pid)
    first.kill()
    assert os.path.exists(lockfile), "the lock file should outlive a SIGKILLed hapanel"
    first.start()
    log("restarted after SIGKILL: pid %d" % first.popen.pid)
    with open(lockfile) as f:
        assert f.read().strip() == str(first.popen.pid), "the lock file names the new pid"
    assert len(panel_started(first)) == 3, "three starts, three panel-started events"


if __name__ == "__main__":
    run_test(test)
