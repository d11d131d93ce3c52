"""harness.procs — what the harness needs from the local machine: progress
output (log), free loopback ports (free_port), child processes that are
killed when the test dies (spawn), the tail of a log file (tail), a field of
/proc/<pid>/status (proc_status_kb), and the bounded polling loop that every
wait of the harness and the tests goes through (wait_for).

Nothing here knows Redis or hapanel, except that wait_for counts a
RedisError as "not yet". The servers of a topology are started by
topology.py, hapanel by panel.py; "host:port" strings are in resp.py."""

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time

from .resp import RedisError


def log(*args):
    """Progress output of a test, timestamped, on stderr (ctest shows it)."""
    t = time.strftime("%H:%M:%S") + ".%03d" % (int(time.time() * 1000) % 1000)
    print("[%s]" % t, *args, file=sys.stderr, flush=True)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


_libc = None


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when this (test) process dies, so a
    test killed by ctest's timeout leaves no redis-server behind."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass
    # own process group: a SIGINT on the terminal goes to the test only
    os.setpgrp()


def spawn(argv, logpath, env=None):
    """Starts argv with stdout+stderr appended to logpath."""
    f = open(logpath, "ab")
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                                env=env, preexec_fn=_die_with_parent, close_fds=True)
    finally:
        f.close()


def tail(path, n=60):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)
    return "\n".join(lines[-n:])


def proc_status_kb(pid, field):
    """A "<field>:  N kB" line of /proc/<pid>/status (VmRSS, VmHWM, ...), or -1."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def wait_for(fn, timeout, interval=0.1, msg=None):
    """Calls fn() until it returns a truthy value, which is returned. An
    exception raised by fn counts as "not yet" (the last one is reported).
    After timeout seconds raises AssertionError naming msg (a string, or a
    callable giving one, evaluated at the time of failure)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    last_val = None
    while True:
        try:
            last_val = fn()
            if last_val:
                return last_val
            last_exc = None
        except AssertionError as e:
            last_exc = e
        except (OSError, RedisError, ValueError, KeyError, TypeError, IndexError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    what = msg() if callable(msg) else (msg or getattr(fn, "__name__", "condition"))
    extra = ""
    if last_exc is not None:
        extra = " (last error: %s: %s)" % (type(last_exc).__name__, last_exc)
    elif last_val is not None and last_val is not False:
        extra = " (last value: %r)" % (last_val,)
    raise AssertionError("timed out after %.1f s waiting for: %s%s" % (timeout, what, extra))
