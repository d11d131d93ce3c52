#!/usr/bin/env python3
"""harness — the integration-test harness of hapanel: starts real
redis-server / redis-sentinel processes on free loopback ports in a temp dir,
starts the hapanel binary against them, and talks to both (a tiny RESP client
for Redis, urllib for the REST API). It is not a test itself; the it_*.py
scripts import it. Python 3 standard library only.

Each integration test is a plain program run as `python3 tests/it_xxx.py`
(exit 0 = pass). `run_test(fn)` gives a test a temp dir, a global time limit,
cleanup of every process it started (also on failure or SIGTERM), and prints
the hapanel log tail when the test fails.

`python3 -m harness selftest` (from tests/) checks the harness against real
Redis.

Environment:
  HAPANEL_BIN        the binary (default ../build/hapanel relative to tests/,
                     i.e. build/hapanel of this checkout)
  HAPANEL_IT_KEEP=1  keep the temp dir of a failed test (default: remove)
  HAPANEL_IT_LIMIT   global time limit of one test in seconds (default 120)
"""

import ctypes
import ctypes.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/
DEFAULT_BIN = os.path.normpath(os.path.join(HERE, "..", "build", "hapanel"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_SENTINEL = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"

VIEWER_TOKEN = "viewtok"
OPERATOR_TOKEN = "optok"


def log(*args):
    """Progress output of a test, timestamped, on stderr (ctest shows it)."""
    t = time.strftime("%H:%M:%S") + ".%03d" % (int(time.time() * 1000) % 1000)
    print("[%s]" % t, *args, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# ports and processes
# --------------------------------------------------------------------------

def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def addr_of(port):
    return "127.0.0.1:%d" % port


def split_addr(addr):
    host, _, port = addr.rpartition(":")
    return host, int(port)


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


# --------------------------------------------------------------------------
# RESP client
# --------------------------------------------------------------------------

class RedisError(Exception):
    """An error reply (-ERR ...) from Redis."""


def _num(v):
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    if re.fullmatch(r"-?\d+\.\d+", v):
        return float(v)
    return v


def parse_info(text):
    """INFO text -> dict; integer/decimal values become int/float."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        k, _, v = line.partition(":")
        out[k] = _num(v)
    return out


def parse_kv(flat):
    """A flat [k1, v1, k2, v2, ...] reply (SENTINEL MASTER ...) -> dict."""
    return {flat[i]: flat[i + 1] for i in range(0, len(flat) - 1, 2)}


class Redis:
    """A minimal blocking RESP2 client: enough for tests."""

    def __init__(self, host="127.0.0.1", port=6379, password=None, timeout=2):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")
        if password:
            self.cmd("AUTH", password)

    @classmethod
    def at(cls, addr, password=None, timeout=2):
        h, p = split_addr(addr)
        return cls(h, p, password=password, timeout=timeout)

    def close(self):
        try:
            self.f.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def _encode(args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, bytes):
                b = a
            else:
                b = str(a).encode("utf-8")
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        return b"".join(parts)

    def _readline(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("connection closed by %s:%d" % (self.host, self.port))
        if not line.endswith(b"\r\n"):
            raise ConnectionError("short line from %s:%d" % (self.host, self.port))
        return line[:-2]

    def _read(self):
        line = self._readline()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode("utf-8", "replace")
        if t == b"-":
            return RedisError(rest.decode("utf-8", "replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("short bulk from %s:%d" % (self.host, self.port))
            return data[:-2].decode("utf-8", "replace")
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._read() for _ in range(n)]
        raise ConnectionError("bad RESP type byte %r from %s:%d" % (t, self.host, self.port))

    def cmd(self, *args):
        """Sends one command and returns its decoded reply; an error reply
        raises RedisError (errors nested in arrays are returned as values)."""
        self.sock.sendall(self._encode(args))
        r = self._read()
        if isinstance(r, RedisError):
            raise r
        return r

    def pipeline(self, cmds):
        """Sends several commands at once; returns their replies (errors as
        RedisError values)."""
        self.sock.sendall(b"".join(self._encode(c) for c in cmds))
        return [self._read() for _ in cmds]

    def info(self, section=None):
        text = self.cmd("INFO", section) if section else self.cmd("INFO")
        return parse_info(text)


def redis_info(addr, password=None, section=None, timeout=2):
    with Redis.at(addr, password=password, timeout=timeout) as r:
        return r.info(section)


# --------------------------------------------------------------------------
# Topology: 1 master + N replicas + M Sentinels
# --------------------------------------------------------------------------

class Proc:
    def __init__(self, kind, name, port, conf, logpath):
        self.kind, self.name, self.port, self.conf, self.logpath = kind, name, port, conf, logpath
        self.popen = None
        self.stopped = False
        self.argv = None

    @property
    def addr(self):
        return addr_of(self.port)

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig):
        if self.alive():
            try:
                os.kill(self.popen.pid, sig)
            except ProcessLookupError:
                pass


class Topology:
    """1 master + `replicas` replicas per master name (only the first name gets
    a data set; further names in `masters` are monitored on their own master
    with the same number of replicas) and `sentinels` Sentinels, all on free
    127.0.0.1 ports under tmpdir. Use as a context manager, or call close()
    in a finally block."""

    START_TIMEOUT = 20.0

    def __init__(self, tmpdir, masters=("mymaster",), replicas=2, sentinels=3,
                 down_after_ms=1000, failover_timeout_ms=3000, password=None, extra_conf="",
                 quorum=2, no_config_file=False, extra_sentinel_conf=""):
        self.tmpdir = tmpdir
        self.masters = tuple(masters)
        self.nreplicas = replicas
        self.nsentinels = sentinels
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.password = password
        self.extra_conf = extra_conf
        self.quorum = quorum
        # nodes started with their settings as arguments, so CONFIG REWRITE
        # has no file to write (INFO config_file is empty)
        self.no_config_file = no_config_file
        self.extra_sentinel_conf = extra_sentinel_conf
        self.nodes = []        # Proc, all redis-server processes
        self.sentinels = []    # Proc
        self.groups = {}       # master name -> [master Proc, replica Procs...] at start
        self._seq = 0
        os.makedirs(tmpdir, exist_ok=True)

    # --- properties ----------------------------------------------------
    @property
    def master_name(self):
        return self.masters[0]

    @property
    def node_addrs(self):
        return [p.addr for p in self.nodes]

    @property
    def sentinel_addrs(self):
        return [p.addr for p in self.sentinels]

    def initial_master(self, name=None):
        return self.groups[name or self.master_name][0].addr

    def initial_replicas(self, name=None):
        return [p.addr for p in self.groups[name or self.master_name][1:]]

    def proc(self, addr):
        for p in self.nodes + self.sentinels:
            if p.addr == addr:
                return p
        raise KeyError("no process at %s in this topology" % addr)

    # --- process start ---------------------------------------------------
    def _node_conf(self, port, d, logpath, replicaof=None):
        lines = [
            "port %d" % port,
            "bind 127.0.0.1",
            "dir %s" % d,
            'save ""',
            "appendonly no",
            "enable-debug-command local",
            "repl-diskless-sync no",
            "logfile %s" % logpath,
            "daemonize no",
            "dbfilename dump.rdb",
        ]
        if replicaof:
            h, p = split_addr(replicaof)
            lines.append("replicaof %s %d" % (h, p))
        if self.password:
            lines.append("requirepass %s" % self.password)
            lines.append("masterauth %s" % self.password)
        if self.extra_conf:
            lines.append(self.extra_conf)
        return "\n".join(lines) + "\n"

    def _sentinel_conf(self, port, d, logpath, monitored):
        lines = [
            "port %d" % port,
            "bind 127.0.0.1",
            "protected-mode no",
            "dir %s" % d,
            "logfile %s" % logpath,
            "daemonize no",
        ]
        if self.password:
            lines.append("requirepass %s" % self.password)
            lines.append("sentinel sentinel-pass %s" % self.password)
        for name, maddr in monitored:
            h, p = split_addr(maddr)
            lines.append("sentinel monitor %s %s %d %d" % (name, h, p, self.quorum))
            lines.append("sentinel down-after-milliseconds %s %d" % (name, self.down_after_ms))
            lines.append("sentinel failover-timeout %s %d" % (name, self.failover_timeout_ms))
            lines.append("sentinel parallel-syncs %s 1" % name)
            if self.password:
                lines.append("sentinel auth-pass %s %s" % (name, self.password))
            if self.extra_sentinel_conf:
                lines.append(self.extra_sentinel_conf.replace("{name}", name))
        return "\n".join(lines) + "\n"

    def _start_proc(self, kind, conf_fn, binary):
        """Starts one server on a free port; retries with another port when
        the chosen one was taken meanwhile. Waits until it answers PING."""
        last = None
        for attempt in range(4):
            self._seq += 1
            port = free_port()
            name = "%s%d-%d" % (kind, self._seq, port)
            d = os.path.join(self.tmpdir, name)
            os.makedirs(d, exist_ok=True)
            logpath = os.path.join(d, "%s.log" % kind)
            conf = os.path.join(d, "%s.conf" % kind)
            with open(conf, "w") as f:
                f.write(conf_fn(port, d, logpath))
            p = Proc(kind, name, port, conf, logpath)
            p.argv = [binary, conf]
            if kind == "redis" and self.no_config_file:
                p.argv = [binary] + self._conf_as_args(conf)
            p.popen = spawn(p.argv, os.path.join(d, "stdout.log"))
            if self._wait_ping(p, 10):
                return p
            last = "%s on port %d did not start:\n%s\n%s" % (
                kind, port, tail(logpath, 15), tail(os.path.join(d, "stdout.log"), 15))
            if p.alive():
                p.popen.kill()
                p.popen.wait()
                raise RuntimeError(last)
            p.popen.wait()
            if "in use" not in last and "Address already" not in last and "bind" not in last.lower():
                raise RuntimeError(last)
        raise RuntimeError(last)

    @staticmethod
    def _conf_as_args(conf):
        """A config file's lines as redis-server command-line arguments."""
        args = []
        with open(conf) as f:
            for line in f:
                parts = line.strip().split(None, 1)
                if not parts:
                    continue
                args.append("--" + parts[0])
                if len(parts) > 1:
                    v = parts[1]
                    args.extend(v.split() if parts[0] == "replicaof" else
                                [v.strip('"') if v != '""' else ""])
        return args

    def _wait_ping(self, p, timeout):
        """Waits until p answers PING; False if it died or the time passed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not p.alive():
                return False
            try:
                with Redis("127.0.0.1", p.port, password=self.password, timeout=1) as r:
                    if r.cmd("PING") == "PONG":
                        return True
            except (OSError, RedisError):
                pass
            time.sleep(0.05)
        return False

    def restart(self, addr, sig=signal.SIGTERM, wait=True, timeout=10):
        """Stops the process at addr with sig (SIGTERM: a clean shutdown, as a
        host's service manager does) and starts it again with its own argv —
        from its own config file — on the same port. wait: until it answers
        PING. Returns the Proc."""
        p = self.proc(addr)
        p.signal(signal.SIGCONT)
        p.signal(sig)
        if p.popen:
            try:
                p.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()
        p.stopped = False
        p.popen = spawn(p.argv, os.path.join(os.path.dirname(p.logpath), "stdout.log"))
        if wait and not self._wait_ping(p, timeout):
            raise RuntimeError("%s %s did not come back:\n%s" % (p.kind, addr, tail(p.logpath, 15)))
        return p

    def roles(self):
        """{addr: role} from every live node's own INFO ("master", "slave",
        or None when it does not answer)."""
        out = {}
        for p in self.nodes:
            if not p.alive() or p.stopped:
                continue
            try:
                out[p.addr] = self.role(p.addr)
            except (OSError, RedisError):
                out[p.addr] = None
        return out

    def config_get(self, addr, name):
        with self.client(addr, timeout=1) as c:
            r = c.cmd("CONFIG", "GET", name)
        return r[1] if r else None

    def start_node(self, replicaof=None):
        p = self._start_proc("redis", lambda port, d, lp: self._node_conf(port, d, lp, replicaof),
                             REDIS_SERVER)
        self.nodes.append(p)
        return p

    def add_replica(self, master=None):
        """Starts another replica of `master` (default: the current master of
        the first name). Returns its address; does not wait for the sync."""
        master = master or self.current_master()
        return self.start_node(replicaof=master).addr

    def start(self):
        try:
            monitored = []
            for name in self.masters:
                m = self.start_node()
                group = [m] + [self.start_node(replicaof=m.addr) for _ in range(self.nreplicas)]
                self.groups[name] = group
                monitored.append((name, m.addr))
            for _ in range(self.nsentinels):
                p = self._start_proc("sentinel",
                                     lambda port, d, lp: self._sentinel_conf(port, d, lp, monitored),
                                     REDIS_SENTINEL)
                self.sentinels.append(p)
            self.wait_ready(self.START_TIMEOUT)
        except BaseException:
            self.close()
            raise
        return self

    def _ready_problem(self):
        """None when the topology is settled, else what is still missing."""
        for name in self.masters:
            m = self.groups[name][0]
            info = redis_info(m.addr, self.password, "replication")
            online = [k for k, v in info.items()
                      if re.fullmatch(r"slave\d+", k) and "state=online" in str(v)]
            if info.get("connected_slaves") != self.nreplicas or len(online) != self.nreplicas:
                return "%s master %s: connected_slaves=%s online=%d" % (
                    name, m.addr, info.get("connected_slaves"), len(online))
            for r in self.groups[name][1:]:
                ri = redis_info(r.addr, self.password, "replication")
                if ri.get("master_link_status") != "up":
                    return "replica %s link %s" % (r.addr, ri.get("master_link_status"))
            for s in self.sentinels:
                with self.client(s.addr) as c:
                    mm = parse_kv(c.cmd("SENTINEL", "MASTER", name))
                if int(mm.get("num-slaves", -1)) != self.nreplicas or \
                        int(mm.get("num-other-sentinels", -1)) != self.nsentinels - 1:
                    return "sentinel %s sees %s num-slaves=%s num-other-sentinels=%s" % (
                        s.addr, name, mm.get("num-slaves"), mm.get("num-other-sentinels"))
        return None

    def wait_ready(self, timeout=20.0):
        state = {"p": "not checked"}

        def ok():
            state["p"] = self._ready_problem()
            return state["p"] is None
        wait_for(ok, timeout, 0.2, msg=lambda: "topology ready: %s" % state["p"])

    # --- control -----------------------------------------------------------
    def client(self, addr, timeout=2):
        """A new RESP connection to addr (node or Sentinel), authenticated."""
        return Redis.at(addr, password=self.password, timeout=timeout)

    def kill(self, addr):
        p = self.proc(addr)
        p.signal(signal.SIGKILL)
        if p.popen:
            p.popen.wait()

    def stop(self, addr):
        p = self.proc(addr)
        p.signal(signal.SIGSTOP)
        p.stopped = True

    def cont(self, addr):
        p = self.proc(addr)
        p.signal(signal.SIGCONT)
        p.stopped = False

    def current_master(self, name=None, sentinel=None):
        """The master address a Sentinel reports (the first that answers, or
        the given one)."""
        name = name or self.master_name
        err = None
        for s in ([sentinel] if sentinel else self.sentinel_addrs):
            if not self.proc(s).alive() or self.proc(s).stopped:
                continue
            try:
                with self.client(s, timeout=1) as c:
                    r = c.cmd("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
                if r:
                    return "%s:%s" % (r[0], r[1])
            except (OSError, RedisError) as e:
                err = e
        raise RuntimeError("no Sentinel reports a master for %s (%s)" % (name, err))

    def sentinel_masters(self, name=None):
        """{sentinel addr: master addr it reports} for every live Sentinel."""
        name = name or self.master_name
        out = {}
        for s in self.sentinel_addrs:
            try:
                with self.client(s, timeout=1) as c:
                    r = c.cmd("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
                out[s] = "%s:%s" % (r[0], r[1]) if r else None
            except (OSError, RedisError):
                out[s] = None
        return out

    def priorities(self, addrs=None):
        """{addr: replica-priority} of every live node (CONFIG GET), or of addrs."""
        out = {}
        for a in (addrs or [p.addr for p in self.nodes if p.alive() and not p.stopped]):
            with self.client(a, timeout=1) as c:
                r = c.cmd("CONFIG", "GET", "replica-priority")
            out[a] = int(r[1])
        return out

    def role(self, addr, timeout=1):
        """What the node's own INFO replication says: "master" or "slave"."""
        return redis_info(addr, self.password, "replication", timeout=timeout).get("role")

    def agreed_master(self, timeout=30, name=None):
        """Waits until every live Sentinel reports the same master and that
        node says role:master; returns its address."""
        seen = {}

        def ok():
            ms = seen["m"] = self.sentinel_masters(name)
            live = [m for s, m in ms.items() if self.proc(s).alive() and not self.proc(s).stopped]
            if not live or None in live or len(set(live)) != 1:
                return None
            return live[0] if self.role(live[0]) == "master" else None
        return wait_for(ok, timeout, 0.1, msg=lambda: "every Sentinel reports the same master "
                        "and it says role:master (Sentinels say %s)" % seen.get("m"))

    def wait_in_sync(self, master, timeout=15, replicas=None):
        """Waits until every replica of master (INFO replication slaveN lines;
        at least `replicas` of them, default the topology's count, all
        online) has acknowledged the master_repl_offset the master had when
        this was called (so it works while a client keeps writing). Returns
        that offset."""
        want = self.nreplicas if replicas is None else replicas
        seen = {}

        def ok():
            info = seen["i"] = redis_info(master, self.password, "replication")
            if info.get("role") != "master":
                return None
            if "off" not in seen:
                seen["off"] = info.get("master_repl_offset")
            off = seen["off"]
            slaves = [str(v) for k, v in info.items() if re.fullmatch(r"slave\d+", k)]
            if len(slaves) < want:
                return None
            for sl in slaves:
                kv = dict(x.split("=", 1) for x in sl.split(",") if "=" in x)
                if kv.get("state") != "online" or int(kv.get("offset", -1)) < off:
                    return None
            return off or True
        return wait_for(ok, timeout, 0.05, msg=lambda: "replicas of %s in sync (INFO: %s)" % (
            master, {k: v for k, v in (seen.get("i") or {}).items()
                     if k.startswith("slave") or k in ("role", "master_repl_offset")}))

    def close(self):
        """SIGCONT then SIGKILL every process, and reap them. Idempotent."""
        procs = self.nodes + self.sentinels
        for p in procs:
            p.signal(signal.SIGCONT)
        for p in procs:
            p.signal(signal.SIGKILL)
        for p in procs:
            if p.popen is not None:
                try:
                    p.popen.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass

    def logs_tail(self, n=10):
        out = []
        for p in self.nodes + self.sentinels:
            out.append("--- %s %s (%s) ---\n%s" % (p.kind, p.addr, p.logpath, tail(p.logpath, n)))
        return "\n".join(out)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------
# Writer: a Sentinel-aware client that counts acknowledged writes
# --------------------------------------------------------------------------

class Writer:
    """A background thread that writes like a Sentinel-aware client: asks a
    Sentinel (SENTINEL GET-MASTER-ADDR-BY-NAME) for the master, connects and
    sends SET <prefix><n> <n> with n = 0, 1, 2, ... one at a time. A write
    counts as acknowledged only when its +OK reply was read. On any error
    (READONLY or another error reply, connection refused/reset/closed, a reply
    not received within `timeout` seconds) it notes the time, closes, asks the
    next Sentinel (in turn) and retries the SAME n until it is acknowledged;
    so the acknowledged writes are exactly n = 0 .. acked-1 and a write whose
    outcome is unknown is simply written again (SET is idempotent).

    Records: acked (count), the time of every gap between consecutive acks
    longer than GAP_RECORD_S (so max_gap() over any window is exact down to
    that), the errors (time, addr, message; the first MAX_ERRORS), the
    masters it wrote to. `rate` (writes/s, None = as fast as it can) bounds
    the speed. stop() joins; lost(topology) counts acknowledged writes that
    the current master does not have."""

    GAP_RECORD_S = 0.005
    MAX_GAPS = 200000
    MAX_ERRORS = 2000

    def __init__(self, topology, name=None, prefix="w:", timeout=1.0, rate=None,
                 retry_pause=0.01):
        self.topo = topology
        self.name = name or topology.master_name
        self.prefix = prefix
        self.timeout = timeout
        self.rate = rate
        self.retry_pause = retry_pause
        self.acked = 0            # writes 0 .. acked-1 are acknowledged
        self.first_ack = None     # monotonic time of the first / last ack
        self.last_ack = None
        self.gaps = []            # (t_prev_ack, t_ack) of gaps > GAP_RECORD_S
        self.errors = []          # (monotonic time, addr, message)
        self.nerrors = 0
        self.masters = []         # addresses written to, in order of first use
        self.fatal = None         # an exception that stopped the thread
        self._halt = threading.Event()
        self._si = 0
        self._thread = threading.Thread(target=self._run, name="writer", daemon=True)

    # --- control -------------------------------------------------------------
    def start(self, wait_acks=10, timeout=10):
        """Starts the thread and waits for its first `wait_acks` acks."""
        self._thread.start()
        wait_for(lambda: self.acked >= wait_acks or self.fatal, timeout, 0.02,
                 msg="the writer's first %d acknowledged writes" % wait_acks)
        if self.fatal:
            raise AssertionError("writer failed: %r" % (self.fatal,))
        return self

    def stop(self, timeout=10):
        """Stops and joins the thread (bounded: each step has a timeout)."""
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        assert not self._thread.is_alive(), "the writer thread did not stop within %.0f s" % timeout
        if self.fatal:
            raise AssertionError("writer failed: %r" % (self.fatal,))

    def running(self):
        return self._thread.is_alive()

    # --- the thread ------------------------------------------------------------
    def _error(self, addr, e):
        self.nerrors += 1
        if len(self.errors) < self.MAX_ERRORS:
            self.errors.append((time.monotonic(), addr, "%s: %s" % (type(e).__name__, e)))

    def _connect(self):
        """Asks the Sentinels in turn (starting with the next one) for the
        master and connects to it. Returns (Redis, addr), or (None, None)."""
        sents = self.topo.sentinel_addrs
        for i in range(len(sents)):
            s = sents[(self._si + i) % len(sents)]
            p = self.topo.proc(s)
            if not p.alive() or p.stopped:
                continue
            try:
                with Redis.at(s, password=self.topo.password, timeout=0.5) as c:
                    r = c.cmd("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
            except (OSError, RedisError) as e:
                self._error(s, e)
                continue
            if not r:
                continue
            addr = "%s:%s" % (r[0], r[1])
            self._si = (self._si + i) % len(sents)
            try:
                conn = Redis.at(addr, password=self.topo.password, timeout=self.timeout)
            except (OSError, RedisError) as e:
                self._error(addr, e)
                return None, None
            if not self.masters or self.masters[-1] != addr:
                self.masters.append(addr)
            return conn, addr
        return None, None

    def _run(self):
        conn = addr = None
        n = 0
        key_n = None
        interval = 1.0 / self.rate if self.rate else 0.0
        next_t = time.monotonic()
        try:
            while not self._halt.is_set():
                if conn is None:
                    conn, addr = self._connect()
                    if conn is None:
                        self._halt.wait(self.retry_pause)
                        continue
                if key_n != n:
                    key = self.prefix + str(n)
                    payload = Redis._encode(("SET", key, str(n)))
                    key_n = n
                try:
                    conn.sock.sendall(payload)
                    r = conn._read()
                    if isinstance(r, RedisError):
                        raise r
                    if r != "OK":
                        raise RedisError("unexpected reply %r" % (r,))
                except (OSError, RedisError, ValueError) as e:
                    self._error(addr, e)
                    try:
                        conn.close()
                    except OSError:
                        pass
                    conn = None
                    self._si += 1
                    self._halt.wait(self.retry_pause)
                    continue
                now = time.monotonic()
                if self.last_ack is not None:
                    if now - self.last_ack > self.GAP_RECORD_S and len(self.gaps) < self.MAX_GAPS:
                        self.gaps.append((self.last_ack, now))
                else:
                    self.first_ack = now
                self.last_ack = now
                n += 1
                self.acked = n
                if interval:
                    next_t += interval
                    d = next_t - time.monotonic()
                    if d > 0:
                        self._halt.wait(d)
                    else:
                        next_t = time.monotonic()
        except BaseException as e:  # reported by start()/stop()
            self.fatal = e
        finally:
            if conn is not None:
                try:
                    conn.close()
                except OSError:
                    pass

    # --- figures ---------------------------------------------------------------
    def max_gap(self, t0=None, t1=None):
        """The longest time between two consecutive acks whose second ack
        falls in [t0, t1] (monotonic; None = unbounded), in seconds. While
        running, the time since the last ack counts as a gap too."""
        best = 0.0
        for a, b in self.gaps:
            if (t0 is None or b >= t0) and (t1 is None or b <= t1):
                best = max(best, b - a)
        if self.last_ack is not None and self.running():
            now = time.monotonic()
            if t1 is None or now <= t1:
                best = max(best, now - self.last_ack)
        return best

    def gaps_over(self, s=0.1, t0=None, t1=None):
        """[(t_prev_ack, t_ack)] of the gaps longer than s seconds."""
        return [(a, b) for a, b in self.gaps if b - a > s and (t0 is None or b >= t0)
                and (t1 is None or b <= t1)]

    def acked_since(self, t):
        """Whether some write was acknowledged after monotonic time t."""
        return self.last_ack is not None and self.last_ack > t

    def summary(self):
        g = self.gaps_over(0.1)
        return ("acked %d, errors %d, max gap %.0f ms, %d gaps > 100 ms %s, masters %s" % (
            self.acked, self.nerrors, self.max_gap() * 1000, len(g),
            ["%.0f" % ((b - a) * 1000) for a, b in g[:20]], self.masters))

    def lost(self, topology=None, start=0, end=None, sync_timeout=20, chunk=1000):
        """Waits until every Sentinel reports the same master, it says
        role:master and its replicas have its offset (bounded), then reads
        back acknowledged writes start .. end-1 (default: all) from it with
        MGET in chunks. Returns how many are missing or wrong; the first
        missing ones are kept in self.missing (at most 20)."""
        topo = topology or self.topo
        end = self.acked if end is None else end
        master = topo.agreed_master(sync_timeout, self.name)
        topo.wait_in_sync(master, sync_timeout)
        self.lost_master = master
        missing = []
        bad = 0
        with topo.client(master, timeout=5) as c:
            for lo in range(start, end, chunk):
                hi = min(end, lo + chunk)
                vals = c.cmd("MGET", *[self.prefix + str(i) for i in range(lo, hi)])
                for i, v in zip(range(lo, hi), vals):
                    if v != str(i):
                        bad += 1
                        if len(missing) < 20:
                            missing.append(i)
        self.missing = missing
        return bad


class RoleWatcher:
    """Polls INFO replication on every given node every `interval` seconds
    from a thread (one connection each, reopened after an error) and records
    each node's role changes: changes = [(monotonic time, addr, role)]. The
    time is when the reply was read (so it is late by at most one interval
    plus a round trip)."""

    def __init__(self, topology, addrs=None, interval=0.02):
        self.topo = topology
        self.addrs = list(addrs or topology.node_addrs)
        self.interval = interval
        self.roles = {}
        self.changes = []
        self.polls = 0
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rolewatcher", daemon=True)

    def start(self):
        self._thread.start()
        wait_for(lambda: len(self.roles) == len(self.addrs), 5, 0.02,
                 msg=lambda: "first role of every node (have %s)" % self.roles)
        return self

    def stop(self, timeout=5):
        self._halt.set()
        self._thread.join(timeout)

    def _run(self):
        conns = {}
        while not self._halt.is_set():
            for a in self.addrs:
                try:
                    if a not in conns:
                        conns[a] = Redis.at(a, password=self.topo.password, timeout=0.5)
                    role = parse_info(conns[a].cmd("INFO", "replication")).get("role")
                except (OSError, RedisError, ValueError):
                    c = conns.pop(a, None)
                    if c:
                        try:
                            c.close()
                        except OSError:
                            pass
                    continue
                now = time.monotonic()
                if self.roles.get(a) != role:
                    self.roles[a] = role
                    self.changes.append((now, a, role))
            self.polls += 1
            self._halt.wait(self.interval)
        for c in conns.values():
            try:
                c.close()
            except OSError:
                pass

    def first(self, addr, role, after=0.0):
        """The first time after `after` at which addr was seen with role."""
        for t, a, r in self.changes:
            if a == addr and r == role and t >= after:
                return t
        return None


# --------------------------------------------------------------------------
# Hapanel
# --------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


# no proxies from the environment, no redirects followed
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


class Response:
    """What the server answered: status, body (parsed JSON when the
    Content-Type says JSON and it parses, else text), headers, raw bytes."""

    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.text = raw.decode("utf-8", "replace")
        self.ctype = (headers.get("Content-Type") or "") if headers is not None else ""
        self.body = self.text
        if "json" in self.ctype.lower():
            try:
                self.body = json.loads(self.text)
            except ValueError:
                pass

    def __iter__(self):  # status, body, headers = hp.get(...)
        return iter((self.status, self.body, self.headers))

    def __repr__(self):
        return "<%d %s %s>" % (self.status, self.ctype, self.text[:300])


class Hapanel:
    """The hapanel binary running against a Topology."""

    def __init__(self, topology, tmpdir, env_extra=None, extra_sentinel_hosts=(), port=None):
        self.topo = topology
        self.tmpdir = tmpdir
        self.bin = os.environ.get("HAPANEL_BIN") or DEFAULT_BIN
        self.data_dir = os.path.join(tmpdir, "data")
        self.logpath = os.path.join(tmpdir, "hapanel.log")
        self.env_extra = dict(env_extra or {})
        self.extra_sentinel_hosts = list(extra_sentinel_hosts)
        self.port = port
        self.popen = None
        self.starts = 0

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("HAPANEL_") and not k.startswith("REDIS_")}
        env.update({
            "REDIS_SENTINEL_HOSTS": ",".join(self.topo.sentinel_addrs + self.extra_sentinel_hosts),
            "HAPANEL_LISTEN": "127.0.0.1:%d" % self.port,
            "HAPANEL_DATA_DIR": self.data_dir,
            "HAPANEL_API_TOKENS": "viewer:%s,operator:%s" % (VIEWER_TOKEN, OPERATOR_TOKEN),
            "HAPANEL_POLL_INTERVAL_MS": "250",
        })
        if self.topo.password:
            env["REDIS_PASSWORD"] = self.topo.password
            env["REDIS_SENTINEL_PASSWORD"] = self.topo.password
        env.update(self.env_extra)
        return env

    def running(self):
        return self.popen is not None and self.popen.poll() is None

    def start(self, timeout=10.0):
        """Starts hapanel (on the same port as last time when restarted) and
        waits until GET /api/v1/health answers 200."""
        assert not self.running(), "hapanel is already running"
        if not os.path.exists(self.bin):
            raise AssertionError("hapanel binary %s does not exist (build it, or set HAPANEL_BIN)"
                                 % self.bin)
        os.makedirs(self.data_dir, exist_ok=True)
        fixed_port = self.port is not None
        for attempt in range(3):
            if not fixed_port:
                self.port = free_port()
            self.starts += 1
            with open(self.logpath, "ab") as f:
                f.write(("==== hapanel start #%d on port %d ====\n" % (self.starts, self.port)).encode())
            self._log_offset = os.path.getsize(self.logpath)
            self.popen = spawn([self.bin], self.logpath, env=self.env())
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.running():
                try:
                    r = self.get("/api/v1/health", token=None, timeout=1)
                    if r.status == 200:
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            if self.running():
                self.kill()
                raise AssertionError("hapanel did not answer GET /api/v1/health with 200 within %.0f s"
                                     % timeout)
            rc = self.popen.wait()
            text = self.log_since_start()
            if not fixed_port and re.search(r"in use|EADDRINUSE|cannot bind|bind\b", text, re.I):
                log("hapanel could not bind port %d, retrying on another port" % self.port)
                continue
            raise AssertionError("hapanel exited with status %s during start-up" % rc)
        raise AssertionError("hapanel could not start on a free port (3 attempts)")

    def log_text(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_since_start(self):
        try:
            with open(self.logpath, "rb") as f:
                f.seek(getattr(self, "_log_offset", 0))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=60):
        return tail(self.logpath, n)

    def stop(self, timeout=10.0):
        """SIGTERM; asserts a clean exit (status 0) within timeout and no
        sanitizer report in the log."""
        assert self.popen is not None, "hapanel was never started"
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                rc = self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
                raise AssertionError("hapanel did not exit within %.0f s of SIGTERM" % timeout)
        else:
            rc = self.popen.returncode
        self.check_log_clean()
        assert rc == 0, "hapanel exited with status %s after SIGTERM (expected 0)" % rc
        return rc

    def check_log_clean(self):
        text = self.log_text()
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "ThreadSanitizer"):
            if bad in text:
                i = text.index(bad)
                raise AssertionError("hapanel log contains %r:\n%s" % (bad, text[max(0, i - 500):i + 3000]))

    def kill(self):
        """SIGKILL (a crash, for restart tests)."""
        if self.running():
            self.popen.kill()
        if self.popen is not None:
            self.popen.wait()

    def wait_exit(self, timeout):
        """Waits (bounded) for hapanel to exit by itself, e.g. at a failpoint;
        returns its exit status. Checks the log for sanitizer reports."""
        assert self.popen is not None, "hapanel was never started"
        try:
            rc = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("hapanel did not exit within %.0f s" % timeout)
        self.check_log_clean()
        return rc

    # --- HTTP -------------------------------------------------------------
    def request(self, method, path, body=None, token=VIEWER_TOKEN, headers=None, timeout=5):
        """Any request. body: dict/list (sent as JSON), str or bytes (raw).
        Returns a Response; 4xx/5xx are returned, not raised."""
        hdrs = {}
        data = None
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            elif isinstance(body, str):
                data = body.encode("utf-8")
            else:
                data = bytes(body)
        if token is not None:
            hdrs["Authorization"] = "Bearer %s" % token
        hdrs.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, headers=hdrs, method=method)
        try:
            with _opener.open(req, timeout=timeout) as resp:
                return Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as e:
            try:
                raw = e.read()
            except Exception:
                raw = b""
            return Response(e.code, e.headers, raw)

    def get(self, path, token=VIEWER_TOKEN, timeout=5, headers=None):
        return self.request("GET", path, token=token, timeout=timeout, headers=headers)

    def post(self, path, body=None, token=OPERATOR_TOKEN, timeout=5, headers=None):
        return self.request("POST", path, body=body, token=token, timeout=timeout, headers=headers)

    def raw(self, data, timeout=10):
        """Sends raw bytes on a new connection and returns (status, headers
        dict with lower-case names, body bytes) of the response, reading until
        the server closes or Content-Length is satisfied. A reset while
        sending is tolerated as long as a response can still be read."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        send_error = None
        buf = b""
        try:
            try:
                view = memoryview(data)
                while view:
                    n = s.send(view[:65536])
                    view = view[n:]
            except OSError as e:
                send_error = e
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                except OSError as e:
                    if not buf:
                        raise ConnectionError("no response (send: %s; recv: %s)" % (send_error, e))
                    break
                if not chunk:
                    break
                buf += chunk
                if self._complete(buf):
                    break
        finally:
            s.close()
        if not buf:
            raise ConnectionError("no response at all (send error: %s)" % send_error)
        head, _, body = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        return status, hdrs, body

    @staticmethod
    def _complete(buf):
        if b"\r\n\r\n" not in buf:
            return False
        head, _, body = buf.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        return bool(m) and len(body) >= int(m.group(1))

    # --- API conveniences ---------------------------------------------------
    def json_ok(self, path, token=VIEWER_TOKEN):
        r = self.get(path, token=token)
        assert r.status == 200, "GET %s -> %d %s" % (path, r.status, r.text[:500])
        assert isinstance(r.body, (dict, list)), "GET %s: not JSON (%s): %s" % (path, r.ctype, r.text[:300])
        return r.body

    def cluster(self, name="mymaster"):
        return self.json_ok("/api/v1/clusters/%s" % urllib.parse.quote(name, safe=""))

    def clusters(self):
        return self.json_ok("/api/v1/clusters")

    def events(self, **params):
        """GET /api/v1/events with the given query parameters; returns the
        whole body ({events, next_before})."""
        q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return self.json_ok("/api/v1/events" + ("?" + q if q else ""))

    @staticmethod
    def node(snap, addr):
        """The node dict with addr in a cluster body (master or replica)."""
        for n in [snap.get("master") or {}] + list(snap.get("replicas") or []):
            if n.get("addr") == addr:
                return n
        return None

    def job(self, job_id):
        return self.json_ok("/api/v1/jobs/%s" % job_id)

    def jobs(self, **params):
        """The job list of GET /api/v1/jobs (newest first)."""
        q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return self.json_ok("/api/v1/jobs" + ("?" + q if q else "")).get("jobs") or []

    def failovers(self, **params):
        """The rows of GET /api/v1/failovers (newest first)."""
        q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return self.json_ok("/api/v1/failovers" + ("?" + q if q else "")).get("failovers") or []

    def wait_job(self, job_id, timeout=60, interval=0.1):
        """Polls GET /api/v1/jobs/{id} until its state is succeeded or failed
        (bounded); returns the job."""
        seen = {}

        def done():
            j = seen["j"] = self.job(job_id)
            return j if j.get("state") in ("succeeded", "failed") else None
        return wait_for(done, timeout, interval, msg=lambda: "job %s ends (now: %s)" % (
            job_id, json.dumps(seen.get("j"))[:3000]))

    @staticmethod
    def steps_text(jb):
        return "\n".join("  %s %s" % (s.get("ts"), s.get("message")) for s in jb.get("steps") or [])

    def wait_for(self, fn, timeout, interval=0.1, msg=None):
        return wait_for(fn, timeout, interval, msg)

    def wait_nodes_up(self, addrs, name="mymaster", timeout=10):
        """Waits until the cluster body lists exactly addrs (master first),
        all up: the state a test starts from before it breaks something."""
        seen = {}

        def ok():
            s = seen["s"] = self.cluster(name)
            nodes = [s.get("master") or {}] + list(s.get("replicas") or [])
            return ([n.get("addr") for n in nodes[:1]] == list(addrs[:1])
                    and sorted(n.get("addr") for n in nodes) == sorted(addrs)
                    and all(n.get("up") is True for n in nodes))

        def msg():
            s = seen.get("s") or {}
            nodes = [s.get("master") or {}] + list(s.get("replicas") or [])
            return "%s shows %s (master first) all up; it shows %s" % (
                name, list(addrs), [(n.get("addr"), n.get("role"), n.get("up")) for n in nodes])
        wait_for(ok, timeout, 0.1, msg=msg)


# --------------------------------------------------------------------------
# backups: data sets, RDB files, downloads (it_backup*.py, bench/backup_bench.py)
# --------------------------------------------------------------------------

BACKUP_TTL_MS = 3600 * 1000  # long enough that no key expires during a test


def _check_replies(replies, what):
    bad = [r for r in replies if isinstance(r, RedisError)]
    if bad:
        raise RedisError("%s: %d error replies, first: %s" % (what, len(bad), bad[0]))


def fill_varied(client, n, prefix="k:", batch=1000):
    """Writes keys prefix0 .. prefix<n-1> on client (a master) with real
    pipelined commands, `batch` per round trip (DEBUG POPULATE is not
    replicated, this is). Key i's type follows i % 100: 0 a hash (2-8
    fields), 1 a list (1-9 items), 2 a set, 3 a sorted set, else a string of
    2 .. ~210 bytes; every i % 1000 == 7 a 12 KB string; strings with i % 10 ==
    5 and hashes with i % 300 == 0 get a TTL of an hour. Values are ASCII
    (the harness client decodes replies as text) and depend on i only, so
    expected_value(i) can be recomputed. Returns n."""
    for lo in range(0, n, batch):
        cmds = []
        for i in range(lo, min(n, lo + batch)):
            k = "%s%d" % (prefix, i)
            r = i % 100
            if r == 0:
                args = ["HSET", k]
                for f in range(2 + i % 7):
                    args += ["f%d" % f, "h%d-%d" % (i, f)]
                cmds.append(args)
                if i % 300 == 0:
                    cmds.append(["PEXPIRE", k, BACKUP_TTL_MS])
            elif r == 1:
                cmds.append(["RPUSH", k] + ["l%d-%d" % (i, j) for j in range(1 + i % 9)])
            elif r == 2:
                cmds.append(["SADD", k] + ["s%d-%d" % (i, j) for j in range(1 + i % 5)])
            elif r == 3:
                args = ["ZADD", k]
                for j in range(1 + i % 6):
                    args += ["%d.5" % (j * 3 - i % 4), "z%d-%d" % (i, j)]
                cmds.append(args)
            else:
                v = ("v%d-" % i) + ("x" * 12000 if i % 1000 == 7 else "abcdefghij" * (i % 21))
                if i % 10 == 5:
                    cmds.append(["SET", k, v, "PX", BACKUP_TTL_MS])
                else:
                    cmds.append(["SET", k, v])
        _check_replies(client.pipeline(cmds), "fill_varied")
    return n


def fill_random(client, total_bytes, value_size=1 << 20, prefix="blob:", batch=16):
    """Writes ceil(total_bytes / value_size) string keys of value_size random
    (incompressible: rdbcompression gains nothing) bytes with pipelined SETs
    on client (a master). Returns the number of keys."""
    n = (total_bytes + value_size - 1) // value_size
    for lo in range(0, n, batch):
        cmds = [["SET", "%s%d" % (prefix, i), os.urandom(value_size)]
                for i in range(lo, min(n, lo + batch))]
        _check_replies(client.pipeline(cmds), "fill_random")
    return n


def key_state(client, key):
    """(type, value, PEXPIRETIME) of a key in a form comparable across servers:
    GET / HGETALL / LRANGE / SMEMBERS / ZRANGE WITHSCORES by type, sorted where
    the order is not part of the value."""
    t = client.cmd("TYPE", key)
    if t == "string":
        v = client.cmd("GET", key)
    elif t == "hash":
        flat = client.cmd("HGETALL", key)
        v = sorted(zip(flat[0::2], flat[1::2]))
    elif t == "list":
        v = client.cmd("LRANGE", key, 0, -1)
    elif t == "set":
        v = sorted(client.cmd("SMEMBERS", key))
    elif t == "zset":
        v = client.cmd("ZRANGE", key, 0, -1, "WITHSCORES")
    elif t == "none":
        v = None
    else:
        v = client.cmd("DUMP", key)
    return (t, v, client.cmd("PEXPIRETIME", key))


def start_redis_from_rdb(env, rdb_path, tries=3, timeout=60):
    """A fresh standalone redis-server (free loopback port, no persistence)
    that loads a copy of rdb_path at start; killed by env's cleanup. Waits
    until it has loaded (DBSIZE answers). Returns its Proc."""
    last = None
    for attempt in range(tries):
        port = free_port()
        d = tempfile.mkdtemp(prefix="restore-", dir=env.tmpdir)
        shutil.copyfile(rdb_path, os.path.join(d, "restore.rdb"))
        logpath = os.path.join(d, "redis.log")
        p = Proc("redis", "restore-%d" % port, port, None, logpath)
        p.popen = spawn([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                         "--dbfilename", "restore.rdb", "--save", "", "--appendonly", "no",
                         "--logfile", logpath, "--daemonize", "no"],
                        os.path.join(d, "stdout.log"))

        def halt(p=p):
            p.signal(signal.SIGKILL)
            p.popen.wait()
        env.on_cleanup(halt)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and p.alive():
            try:
                with Redis("127.0.0.1", port, timeout=2) as r:
                    r.cmd("DBSIZE")
                    return p
            except (OSError, RedisError) as e:
                last = e
            time.sleep(0.05)
        last = "redis-server loading %s on port %d did not answer DBSIZE (%s):\n%s" % (
            rdb_path, port, last, tail(logpath, 15))
        halt()
        if "Address already in use" not in last:
            break
    raise AssertionError(last)


def redis_check_rdb(path, timeout=120):
    """Runs redis-check-rdb on path: (exit status, output)."""
    exe = shutil.which("redis-check-rdb") or "/usr/bin/redis-check-rdb"
    r = subprocess.run([exe, path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def hapanel_verify_rdb(path, binary=None, timeout=120):
    """Runs `hapanel --verify-rdb path`: (exit status, stdout + stderr)."""
    exe = binary or os.environ.get("HAPANEL_BIN") or DEFAULT_BIN
    r = subprocess.run([exe, "--verify-rdb", path], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def file_sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def backup_list(hp, name="mymaster", token=VIEWER_TOKEN):
    """The rows of GET /api/v1/clusters/{name}/backups (newest first)."""
    r = hp.get("/api/v1/clusters/%s/backups" % urllib.parse.quote(name, safe=""), token=token)
    assert r.status == 200 and isinstance(r.body, dict), "GET backups -> %r" % (r,)
    return r.body.get("backups") or []


def backup_download(hp, path, dest, token=VIEWER_TOKEN, timeout=120):
    """GET path (a backup's "download" URL) streamed into the file dest.
    Returns (status, headers, size, sha256 hex); on a non-200 status the body
    is in dest as well."""
    import hashlib
    h = hashlib.sha256()
    size = 0
    req = urllib.request.Request(hp.base + path, headers={"Authorization": "Bearer %s" % token}
                                 if token else {})
    try:
        resp = _opener.open(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        resp = e
    with resp, open(dest, "wb") as f:
        while True:
            b = resp.read(1 << 20)
            if not b:
                break
            h.update(b)
            f.write(b)
            size += len(b)
        status = resp.status if hasattr(resp, "status") else resp.code
        return status, resp.headers, size, h.hexdigest()


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



# --------------------------------------------------------------------------
# Receiver: a local HTTP endpoint standing in for a webhook or the Telegram
# Bot API (it_notify*.py, it_alerts*.py)
# --------------------------------------------------------------------------

class Received:
    """One request a Receiver got: wall-clock time (time.time(), when the
    body was read), method, path, headers (an email.message.Message: case-
    insensitive get()), raw body bytes, and the status it was answered with
    (None while the answer is delayed, or when the receiver was stopped
    first)."""

    def __init__(self, t, method, path, headers, body):
        self.t, self.method, self.path, self.headers, self.body = t, method, path, headers, body
        self.status = None

    def json(self):
        """The body parsed as JSON, or None."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError:
            return None

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def __repr__(self):
        return "<%s %s at %.3f -> %s: %s>" % (self.method, self.path, self.t, self.status,
                                             self.body[:200].decode("utf-8", "replace"))


class Receiver:
    """A ThreadingHTTPServer on 127.0.0.1 recording every request (see
    Received) and answering by a program:

      default        (status, body bytes) of every answer not programmed
                     otherwise; default (200, b'{"ok":true}')
      script(path, [500, 500, 200])
                     successive requests to that path (exact, or None for
                     any path) get these statuses in order; the last one
                     repeats once the list is used up
      per_key(header, [500, 500, 200])
                     the same, but counted separately for each distinct
                     value of a request header (e.g. X-Hapanel-Delivery:
                     every new delivery gets 500, 500, then 200)
      delay(seconds) every answer waits this long first (a slow endpoint);
                     stop() cuts the wait short

    port=None takes a free port; a fixed port lets a test start the
    receiver on an address that was dead until then. `url` is
    http://127.0.0.1:<port>. Receiver.dead_url() is an address nothing
    listens on. stop() shuts the server down and closes its socket; it is
    idempotent, and start_receiver(env, ...) registers it as a cleanup."""

    def __init__(self, port=None, default=(200, b'{"ok":true}')):
        self.port = port
        self.default = default
        self.requests = []
        self._lock = threading.Lock()
        self._scripts = {}        # path (or None) -> [statuses]
        self._counts = {}         # path (or None) -> requests seen
        self._key_header = None
        self._key_script = None
        self._key_counts = {}
        self._delay = 0.0
        self._halt = threading.Event()
        self._srv = None
        self._thread = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @staticmethod
    def dead_url():
        """A URL on a loopback port that was free a moment ago (connection
        refused)."""
        return "http://127.0.0.1:%d" % free_port()

    # --- programming ---------------------------------------------------------
    def script(self, path, statuses):
        with self._lock:
            self._scripts[path] = list(statuses)
            self._counts[path] = 0
        return self

    def per_key(self, header, statuses):
        with self._lock:
            self._key_header = header
            self._key_script = list(statuses)
            self._key_counts = {}
        return self

    def delay(self, seconds):
        self._delay = float(seconds)
        return self

    def _answer(self, rec):
        """(status, body) for rec, by the program."""
        with self._lock:
            if self._key_header and rec.headers.get(self._key_header) is not None:
                k = rec.headers.get(self._key_header)
                i = self._key_counts.get(k, 0)
                self._key_counts[k] = i + 1
                s = self._key_script
                return s[min(i, len(s) - 1)], self.default[1]
            for p in (rec.path, None):
                if p in self._scripts and self._scripts[p]:
                    i = self._counts[p]
                    self._counts[p] = i + 1
                    s = self._scripts[p]
                    return s[min(i, len(s) - 1)], self.default[1]
        return self.default

    # --- life ------------------------------------------------------------------
    def start(self):
        import http.server
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # so "Expect: 100-continue" is answered at once

            def log_message(self, *a):
                pass

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n > 0 else b""
                rec = Received(time.time(), self.command, self.path, self.headers, body)
                with recv._lock:
                    recv.requests.append(rec)
                if recv._delay > 0:
                    recv._halt.wait(recv._delay)
                status, out = recv._answer(rec)
                if status >= 300 and out == recv.default[1]:
                    out = b'{"ok":false,"error":"programmed failure"}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(out)
                    rec.status = status
                except OSError:
                    pass
                self.close_connection = True

            do_POST = do_GET = do_PUT = _handle

        last = None
        for attempt in range(3):
            port = self.port or free_port()
            try:
                srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
            except OSError as e:
                last = e
                if self.port:  # a fixed port must be this one
                    raise
                continue
            srv.daemon_threads = True
            self.port = port
            self._srv = srv
            self._halt.clear()
            self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="receiver-%d" % port, daemon=True)
            self._thread.start()
            return self
        raise OSError("receiver could not bind a free port: %s" % last)

    def stop(self):
        """Stops serving and closes the socket (the port refuses connections
        afterwards). Delayed answers are cut short. Idempotent."""
        self._halt.set()
        srv, self._srv = self._srv, None
        if srv is not None:
            srv.shutdown()
            srv.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def running(self):
        return self._srv is not None

    # --- what arrived ----------------------------------------------------------
    def got(self, pred=None):
        """The requests so far (a copy), those for which pred(rec) is true."""
        with self._lock:
            reqs = list(self.requests)
        return [r for r in reqs if pred is None or pred(r)]

    def wait(self, pred, n=1, timeout=10, msg=None):
        """Waits (bounded) until at least n requests satisfy pred; returns
        them."""
        def enough():
            g = self.got(pred)
            return g if len(g) >= n else None
        return wait_for(enough, timeout, 0.02, msg=msg or (lambda: "%d request(s) at %s matching "
                        "the condition; got %s" % (n, self.url, self.got())))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def start_receiver(env, port=None, **kw):
    """A started Receiver, stopped by env's cleanup whatever happens."""
    r = Receiver(port=port, **kw).start()
    env.on_cleanup(r.stop)
    log("receiver listening on %s" % r.url)
    return r


def start_blackhole(env):
    """The URL of an endpoint that never completes a TCP connect: a
    loopback socket listening with a backlog of 0 whose accept queue is
    filled by connections nobody accepts, so further SYNs are dropped and a
    client waits for its connect timeout (a host that is down, not a port
    that refuses). Closed by env's cleanup."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(0)
    port = s.getsockname()[1]
    fillers = []
    for _ in range(3):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except (BlockingIOError, InterruptedError):
            pass
        fillers.append(c)

    def close():
        for c in fillers + [s]:
            try:
                c.close()
            except OSError:
                pass
    env.on_cleanup(close)
    time.sleep(0.1)  # the handshakes of the fillers complete
    return "http://127.0.0.1:%d" % port



# --------------------------------------------------------------------------
# test runner
# --------------------------------------------------------------------------

class TestEnv:
    """What run_test gives a test: a temp dir, and factories whose products
    are cleaned up whatever happens."""

    def __init__(self, tmpdir):
        self.tmpdir = tmpdir
        self.topologies = []
        self.panels = []
        self.cleanups = []

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


def _eprint(*a):
    """print to stderr that never raises (a closed pipe must not stop the
    cleanup)."""
    try:
        print(*a, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


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
    t0 = time.monotonic()
    try:
        fn(env)
        # a passing test also proves hapanel stops cleanly
        for h in env.panels:
            if h.running():
                h.stop()
            elif h.popen is not None:
                h.check_log_clean()
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
        for t in env.topologies:
            t.close()
        if failed is not None and os.environ.get("HAPANEL_IT_KEEP") == "1":
            _eprint("kept %s" % tmpdir)
        else:
            shutil.rmtree(tmpdir, ignore_errors=True)
    if failed is not None:
        sys.exit(1)
    _eprint("PASS %s (%.1f s)" % (name, time.monotonic() - t0))
    sys.exit(0)


# --------------------------------------------------------------------------
# self-check of the harness against real Redis (no hapanel needed)
# --------------------------------------------------------------------------

_FAKE_PANEL = r'''
import http.server, json, os, signal, sys, threading
host, port = os.environ["HAPANEL_LISTEN"].rsplit(":", 1)
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/api/v1/health":
            b = json.dumps({"status": "ok", "version": "fake", "uptime_s": 0}).encode()
            self.send_response(200)
        elif self.headers.get("Authorization") != "Bearer viewtok":
            b = json.dumps({"error": {"code": "unauthorized", "message": "no"}}).encode()
            self.send_response(401)
        else:
            b = json.dumps({"env": os.environ["REDIS_SENTINEL_HOSTS"]}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers(); self.wfile.write(b)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n > 1 << 20:
            b = b'{"error":{"code":"too_large","message":"body too large"}}'
            self.send_response(413)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b)))
            self.send_header("Connection", "close")
            self.end_headers(); self.wfile.write(b); return
        self.rfile.read(n)
        self.send_response(405); self.send_header("Allow", "GET")
        self.send_header("Content-Length", "0"); self.end_headers()
srv = http.server.ThreadingHTTPServer((host, int(port)), H)
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
print("fake hapanel listening", flush=True)
srv.serve_forever()
sys.exit(0)
'''


def selftest(env):
    # password topology: start, auth, close
    tp = env.topology(replicas=1, sentinels=3, password="s3cret")
    with tp.client(tp.initial_master()) as c:
        assert c.cmd("SET", "k", "v") == "OK"
        assert c.cmd("GET", "k") == "v"
    try:
        Redis.at(tp.initial_master()).cmd("GET", "k")
        raise AssertionError("unauthenticated GET should fail")
    except RedisError as e:
        assert "NOAUTH" in str(e), e
    assert tp.current_master() == tp.initial_master()
    tp.close()
    log("password topology ok")

    t = env.topology()
    m = t.current_master()
    assert m == t.initial_master(), (m, t.initial_master())
    assert len(t.node_addrs) == 3 and len(t.sentinel_addrs) == 3
    with t.client(m) as c:
        assert c.cmd("PING") == "PONG"
        assert c.cmd("SET", "a", "1") == "OK"
        assert c.cmd("GET", "missing") is None
        assert c.cmd("INCR", "n") == 1
        assert c.cmd("RPUSH", "l", "x", "y") == 2
        assert c.cmd("LRANGE", "l", 0, -1) == ["x", "y"]
        try:
            c.cmd("NOSUCHCMD")
            raise AssertionError("error reply not raised")
        except RedisError as e:
            assert "unknown command" in str(e).lower(), e
        info = c.info()
        assert info["role"] == "master" and info["connected_slaves"] == 2, info
        assert isinstance(info["used_memory"], int)
        assert c.cmd("DEBUG", "SLEEP", 0) == "OK"
    with t.client(t.sentinel_addrs[0]) as c:
        mm = parse_kv(c.cmd("SENTINEL", "MASTER", "mymaster"))
        assert mm["num-slaves"] == "2" and mm["num-other-sentinels"] == "2" and mm["quorum"] == "2", mm

    # stop / cont a replica: the master loses it, then gets it back
    r0, r1 = t.initial_replicas()
    t.stop(r0)
    try:
        with t.client(r0, timeout=0.5) as c:
            c.cmd("PING")
        raise AssertionError("a stopped replica answered")
    except (OSError, socket.timeout):
        pass
    t.cont(r0)
    with t.client(r0) as c:
        assert c.cmd("PING") == "PONG"
    # kill a replica: the master sees 1 replica, Sentinel flags it s_down
    t.kill(r1)
    wait_for(lambda: redis_info(m, section="replication")["connected_slaves"] == 1, 5,
             msg="master notices the dead replica")

    def sdown():
        with t.client(t.sentinel_addrs[0]) as c:
            reps = [parse_kv(x) for x in c.cmd("SENTINEL", "REPLICAS", "mymaster")]
        return any(x["name"] == r1 and "s_down" in x["flags"] for x in reps)
    wait_for(sdown, 5, 0.2, msg="Sentinel flags the dead replica s_down")
    log("replica kill/stop/cont ok")

    # kill the master: the Sentinels fail over to the remaining replica
    t.kill(m)
    t0 = time.monotonic()
    wait_for(lambda: t.current_master() == r0, 30, 0.2, msg="failover to %s" % r0)
    log("failover to %s after %.1f s; sentinels: %s" % (r0, time.monotonic() - t0, t.sentinel_masters()))
    wait_for(lambda: set(t.sentinel_masters().values()) == {r0}, 10, 0.2,
             msg="every Sentinel reports the new master")
    # a replica added later follows the new master
    r2 = t.add_replica()
    wait_for(lambda: redis_info(r2, section="replication").get("master_link_status") == "up", 10,
             msg="added replica syncs")
    log("added replica ok")

    # Hapanel class against a fake panel (the real binary may not exist yet)
    fake = os.path.join(env.tmpdir, "fakepanel.py")
    with open(fake, "w") as f:
        f.write("#!%s\n%s" % (sys.executable, _FAKE_PANEL))
    os.chmod(fake, 0o755)
    os.environ["HAPANEL_BIN"] = fake
    h = env.hapanel(t, extra_sentinel_hosts=["127.0.0.1:1"])
    st, body, hdrs = h.get("/api/v1/health", token=None)
    assert st == 200 and body["status"] == "ok", (st, body)
    st, body, hdrs = h.get("/x")
    assert st == 200 and body["env"] == ",".join(t.sentinel_addrs + ["127.0.0.1:1"]), body
    r = h.get("/x", token="bad")
    assert r.status == 401 and r.body["error"]["code"] == "unauthorized", r
    r = h.request("POST", "/x", body={"a": 1})
    assert r.status == 405 and r.headers["Allow"] == "GET", r
    st, hd, b = h.raw(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n" + b"x" * 2097152)
    assert st == 413, (st, b)
    try:
        wait_for(lambda: False, 0.3, msg="never")
        raise RuntimeError("wait_for did not time out")
    except AssertionError as e:
        assert "never" in str(e)
    h.stop()
    h.start()  # restart on the same port
    assert h.get("/api/v1/health", token=None).status == 200
    h.stop()
    del os.environ["HAPANEL_BIN"]
    log("Hapanel class ok against a fake panel")
