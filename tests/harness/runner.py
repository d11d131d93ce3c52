"""harness.runner — how one integration test runs: run_test(fn) calls fn(env)
with a TestEnv (a temp dir, and factories for topologies, hapanel processes
and writers whose products are cleaned up whatever happens), enforces the
global time limit (HAPANEL_IT_LIMIT, default 120 s), turns SIGTERM into a
failure, on failure prints the reason and the hapanel and Redis log tails,
removes the temp dir (kept on failure when HAPANEL_IT_KEEP=1), and exits 0
(pass) or 1 (fail). A passing test also proves that hapanel stops cleanly.
A sys.exit(code) inside the test is no failure: after the same cleanup the
process exits with that code (77, SKIP: ctest's skip; a string is printed
and exits 1, as Python does).

It does not find, select or schedule tests: ctest runs each tests/it_*.py
as a program of its own."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

from .panel import Hapanel
from .procs import log
from .topology import Topology
from .writer import Writer


class TestEnv:
    """What run_test gives a test: a temp dir, and factories whose products
    are cleaned up whatever happens."""

    def __init__(self, tmpdir):
        self.tmpdir = tmpdir
        self.topologies = []
        self.panels = []
        self.cleanups = []
        self.etcds = []

    def topology(self, **kw):
        d = os.path.join(self.tmpdir, "topo%d" % len(self.topologies))
        t = Topology(d, **kw)
        self.topologies.append(t)
        log("starting topology (%d replicas, %d sentinels)" % (t.nreplicas, t.nsentinels))
        t.start()
        log("topology ready: master %s replicas %s sentinels %s" % (
            t.initial_master(), t.initial_replicas(), t.sentinel_addrs))
        return t

    def hapanel(self, topo, start=True, **kw):
        d = os.path.join(self.tmpdir, "hapanel%d" % len(self.panels))
        os.makedirs(d, exist_ok=True)
        h = Hapanel(topo, d, **kw)
        self.panels.append(h)
        if start:
            h.start()
            log("hapanel up on %s (log %s)" % (h.base, h.logpath))
        return h

    def writer(self, topo, start=True, **kw):
        """A Writer on topo, stopped whatever happens."""
        w = Writer(topo, **kw)

        def halt():
            w._halt.set()
            if w._thread.is_alive():
                w._thread.join(5)
        self.cleanups.append(halt)
        if start:
            w.start()
            log("writer started: writing through Sentinel to %s" % (w.masters,))
        return w

    def on_cleanup(self, fn):
        self.cleanups.append(fn)

    def etcd(self, n=3, start=True):
        """An EtcdCluster of n members in the temp dir (exit 77 when etcd is
        not installed), stopped and removed whatever happens."""
        from .etcd import EtcdCluster
        c = EtcdCluster(os.path.join(self.tmpdir, "etcd%d" % len(self.etcds)), n=n)
        self.etcds.append(c)
        if start:
            log("starting etcd (%d members)" % n)
            c.start()
        return c

    def ha_panels(self, topo, etcd, n=2, ttl=3, env_extra=None, start=True, names=None, **kw):
        """n panels of one HA fleet on etcd (instance names p1..pn, TTL ttl,
        one peer secret); env_extra: a dict for all, or a list of dicts,
        one per panel."""
        from .etcd import ha_env
        out = []
        for i in range(n):
            name = names[i] if names else "p%d" % (i + 1)
            extra = env_extra[i] if isinstance(env_extra, (list, tuple)) else env_extra
            out.append(self.hapanel(topo, start=False, ha=ha_env(etcd, name, ttl=ttl),
                                    env_extra=extra, **kw))
        if start:
            for h in out:
                h.start()
                log("hapanel %s up on %s (log %s)" % (h.ha_name, h.base, h.logpath))
        return out


def _eprint(*a):
    """print to stderr that never raises (a closed pipe must not stop the
    cleanup)."""
    try:
        print(*a, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


SKIP = 77  # ctest's SKIP_RETURN_CODE for the it_*.py tests


class _Terminated(Exception):
    pass


def _on_sigterm(signum, frame):
    raise _Terminated("terminated by signal %d" % signum)


def _on_alarm(signum, frame):
    raise AssertionError("test exceeded its global time limit (HAPANEL_IT_LIMIT)")


def run_test(fn, name=None, limit=None):
    """Runs fn(env) and exits: 0 on pass, 1 on failure (with the reason, the
    hapanel log tail and the Redis log tails on stderr). limit: the global
    time limit in seconds, when the test needs more than HAPANEL_IT_LIMIT's
    default."""
    name = name or os.path.basename(sys.argv[0])
    if limit and "HAPANEL_IT_LIMIT" not in os.environ:
        os.environ["HAPANEL_IT_LIMIT"] = str(limit)
    tmpdir = tempfile.mkdtemp(prefix="hapanel-it-")
    env = TestEnv(tmpdir)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(int(os.environ.get("HAPANEL_IT_LIMIT", "120")))
    failed = None
    exit_code = None
    t0 = time.monotonic()
    try:
        fn(env)
        # a passing test also proves hapanel stops cleanly
        for h in env.panels:
            if h.running():
                h.stop()
            elif h.popen is not None:
                h.check_log_clean()
    except SystemExit as e:  # the test's own exit (77: skip): its code, after the cleanup
        signal.alarm(0)
        exit_code = e.code
        if exit_code is None:
            exit_code = 0
        elif not isinstance(exit_code, int):
            _eprint(exit_code)
            exit_code = 1
        _eprint("%s %s: the test exited with %d" % ("SKIP" if exit_code == SKIP else "EXIT", name,
                                                    exit_code))
    except BaseException as e:  # noqa: B902 - report everything, then clean up
        failed = e
        signal.alarm(0)
        _eprint("\nFAIL %s: %s: %s" % (name, type(e).__name__, e))
        if not isinstance(e, AssertionError):
            _eprint("".join(traceback.format_exception(e)))
        else:
            tb = traceback.extract_tb(e.__traceback__)
            for fr in tb[-3:]:
                _eprint("  at %s:%d in %s: %s" % (os.path.basename(fr.filename), fr.lineno, fr.name,
                                                  fr.line))
        for h in env.panels:
            _eprint("\n--- hapanel log tail (%s) ---\n%s" % (h.logpath, h.log_tail(80)))
    finally:
        signal.alarm(0)
        for c in reversed(env.cleanups):
            try:
                c()
            except Exception as e:
                _eprint("cleanup error: %s" % e)
        for h in env.panels:
            if h.running():
                h.popen.send_signal(signal.SIGTERM)
                try:
                    h.popen.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    h.kill()
        if failed is not None:
            for t in env.topologies:
                _eprint("\n--- redis/sentinel log tails ---\n%s" % t.logs_tail(8))
            for c in env.etcds:
                _eprint("\n--- etcd log tails ---\n%s" % c.logs_tail(8))
        for c in env.etcds:
            try:
                c.stop()
            except Exception as e:
                _eprint("etcd stop error: %s" % e)
        for t in env.topologies:
            t.close()
        if failed is not None and os.environ.get("HAPANEL_IT_KEEP") == "1":
            _eprint("kept %s" % tmpdir)
        else:
            shutil.rmtree(tmpdir, ignore_errors=True)
    if failed is not None:
        sys.exit(1)
    if exit_code is not None:
        sys.exit(exit_code)
    _eprint("PASS %s (%.1f s)" % (name, time.monotonic() - t0))
    sys.exit(0)
