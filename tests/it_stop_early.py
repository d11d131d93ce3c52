#!/usr/bin/env python3
"""it_stop_early: a SIGTERM that comes before hapanel's event-loop threads
have entered their loops (the HTTP edge's and the monitor's) still stops it
within seconds. A loop's thread can be scheduled late on a loaded host; the
stop used event_base_loopbreak, which is forgotten when the loop starts, so
the join waited for ever (it_failover_killpoints hung this way under CI
load, SIGTERM 58 ms after the start). HAPANEL_FAILPOINT=slow-loop-start
makes both threads wait 300 ms before their loops, so the SIGTERM sent as
soon as hapanel blocks it for sigwait (its SigBlk in /proc: before that a
SIGTERM kills any process, which is no hang; a fixed 100 ms was too short
for an ASan build's start on a loaded CI host) always lands first: five
times, each exit 0 within 5 s. The same then without the failpoint."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port, log, run_test  # noqa: E402
from harness.checks import Checks  # noqa: E402

check = Checks()


def sigterm_blocked(pid):
    """True once pid has SIGTERM blocked (main does it before any thread)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigBlk:"):
                    return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except OSError:
        pass
    return False


def test(env):
    topo = env.topology(replicas=0, sentinels=1, quorum=1)
    hp = env.hapanel(topo, start=False)
    hp.port = free_port()
    for failpoint in ("slow-loop-start", None):
        for i in range(5):
            e = hp.env()
            if failpoint:
                e["HAPANEL_FAILPOINT"] = failpoint
            with open(hp.logpath, "ab") as logf:
                p = subprocess.Popen([hp.bin], env=e, stdout=logf, stderr=logf)
            deadline = time.monotonic() + 10
            while not sigterm_blocked(p.pid) and p.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            t0 = time.monotonic()
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = "still running after 5 s"
            took = time.monotonic() - t0
            log("%s #%d: exit %s %.2f s after SIGTERM" % (failpoint or "no failpoint", i, rc, took))
            check(rc == 0, "%s #%d: SIGTERM before the loops started: %s"
                  % (failpoint or "no failpoint", i, rc))
    hp.popen = None
    text = open(hp.logpath, errors="replace").read()
    check("AddressSanitizer" not in text and "runtime error:" not in text, "a clean log")
    check.done()


if __name__ == "__main__":
    run_test(test, limit=120)
