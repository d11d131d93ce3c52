#!/usr/bin/env python3
"""it_demo_children: the processes of `hapanel --demo` (3 redis-server, 3
redis-sentinel) end with hapanel however it ends. After a SIGKILL of hapanel
(no cleanup code runs) every child is gone within 3 s: each one gets SIGKILL
from the kernel when its parent dies (PR_SET_PDEATHSIG). Before, they kept
running, orphaned, on their ports. A SIGTERM still stops the demo cleanly:
exit status 0, every child gone, the demo directory removed."""

import json
import os
import re
import shutil
import signal
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import DEFAULT_BIN, free_port, log, run_test, spawn, tail, wait_for  # noqa: E402


def proc_stat(pid):
    """(comm, state, ppid) of pid, or None when it does not exist."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index("(") + 1:s.rindex(")")]
    rest = s[s.rindex(")") + 2:].split()
    return comm, rest[0], int(rest[1])


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st and st[2] == ppid and st[1] != "Z":
                out.append((int(d), st[0]))
    return sorted(out)


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[1] != "Z"


def start_demo(env, n):
    port = free_port()
    logpath = os.path.join(env.tmpdir, "demo%d.log" % n)
    penv = {k: v for k, v in os.environ.items() if not k.startswith(("HAPANEL_", "REDIS_"))}
    penv["HAPANEL_LISTEN"] = "127.0.0.1:%d" % port
    binary = os.environ.get("HAPANEL_BIN") or DEFAULT_BIN
    p = spawn([binary, "--demo"], logpath, env=penv)
    state = {"kids": []}

    def cleanup():
        # whatever happened, nothing of this demo outlives the test
        for pid, _ in state["kids"]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if p.poll() is None:
            p.kill()
            p.wait()
        if state.get("dir", "").startswith("/tmp/hapanel-demo-"):
            shutil.rmtree(state["dir"], ignore_errors=True)
    env.on_cleanup(cleanup)

    def printed():
        with open(logpath, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        m = re.search(r"Viewer token:\s+(\S+)", text)
        d = re.search(r"Redis and Sentinel files in (\S+?)\)", text)
        return (m.group(1), d.group(1)) if m and d else None
    token, demo_dir = wait_for(printed, 30, 0.1, msg=lambda: "the demo banner (log: %s)" % tail(logpath, 20))
    state["dir"] = demo_dir

    def demo_cluster():
        req = urllib.request.Request("http://127.0.0.1:%d/api/v1/clusters" % port,
                                     headers={"Authorization": "Bearer %s" % token})
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=2) as r:
            body = json.loads(r.read().decode("utf-8"))
        return any(c.get("name") == "demo" for c in body.get("clusters") or [])
    wait_for(demo_cluster, 20, 0.2, msg="/api/v1/clusters shows the demo cluster")
    kids = wait_for(lambda: (lambda k: k if len(k) == 6 else None)(children(p.pid)), 5, 0.1,
                    msg=lambda: "6 children of hapanel (have %s)" % children(p.pid))
    state["kids"] = kids
    assert all(c.startswith("redis-") for _, c in kids), kids
    log("demo %d: hapanel pid %d, children %s, dir %s" % (n, p.pid, kids, demo_dir))
    return p, kids, demo_dir, logpath


def check_log(logpath):
    text = tail(logpath, 400)
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        assert bad not in text, "sanitizer report in %s:\n%s" % (logpath, text[-3000:])


def test(env):
    # SIGKILL: nothing in hapanel runs, the kernel ends the children
    p, kids, demo_dir, logpath = start_demo(env, 1)
    p.send_signal(signal.SIGKILL)
    p.wait()
    t0 = time.monotonic()
    wait_for(lambda: not [k for k in kids if alive(k[0])], 3, 0.05,
                    msg=lambda: "every demo child gone after SIGKILL of hapanel (alive: %s)"
                    % [k for k in kids if alive(k[0])])
    log("children gone %.2f s after the SIGKILL" % (time.monotonic() - t0))
    shutil.rmtree(demo_dir, ignore_errors=True)

    # SIGTERM: the normal shutdown, the directory removed
    p, kids, demo_dir, logpath = start_demo(env, 2)
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=15)
    except Exception:
        raise AssertionError("hapanel --demo did not exit within 15 s of SIGTERM")
    assert rc == 0, "exit status %d after SIGTERM, want 0:\n%s" % (rc, tail(logpath, 30))
    assert not [k for k in kids if alive(k[0])], "children left after SIGTERM: %s" % [
        k for k in kids if alive(k[0])]
    assert not os.path.exists(demo_dir), "the demo directory %s is still there" % demo_dir
    check_log(logpath)


if __name__ == "__main__":
    run_test(test)
