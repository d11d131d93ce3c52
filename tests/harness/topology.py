"""harness.topology — a Redis Sentinel deployment of real processes for one
test (Topology): 1 master + N replicas per master name and M Sentinels, each
a redis-server / redis-sentinel (Proc) on a free 127.0.0.1 port with its own
config file, data dir and log under the test's temp dir. It starts them and
waits until replication and the Sentinels have settled; stops (SIGSTOP),
continues, kills and restarts nodes; adds replicas; and asks the nodes and
the Sentinels what they see (current_master, roles, wait_in_sync, ...).

It writes no data (writer.py does) and runs no hapanel (panel.py);
TestEnv.topology() in runner.py starts one that is closed whatever happens."""

import os
import re
import shutil
import signal
import subprocess
import time

from .procs import free_port, spawn, tail, wait_for
from .resp import Redis, RedisError, addr_of, parse_kv, redis_info, split_addr

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_SENTINEL = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"


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
                 quorum=2, no_config_file=False, extra_sentinel_conf="", acl_user=None,
                 tls=None):
        """acl_user: (name, password) of an ACL user added to every node and
        Sentinel beside the default one (whose password is password), with
        every permission; hapanel can be given it instead of the default.
        tls: {"cert":, "key":, "ca":} PEM files: every node also serves TLS
        on a port of its own (tls_ports: node address -> TLS address),
        client certificates not required; the plain port stays (for the
        harness and the Sentinels)."""
        self.tmpdir = tmpdir
        self.masters = tuple(masters)
        self.nreplicas = replicas
        self.nsentinels = sentinels
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.password = password
        self.acl_user = acl_user
        self.tls = tls
        self.tls_ports = {}
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

    def group_section(self, group, sentinels=None, **keys):
        """The INI text of a [sentinel GROUP] section for this topology: its
        Sentinels' addresses (or the ones given), its password for both the
        Sentinels and the nodes when it has one, and further keys
        (masters=, address_map=) as given."""
        lines = ["[sentinel %s]" % group,
                 "hosts = %s" % ",".join(sentinels or self.sentinel_addrs)]
        if self.password:
            lines += ["password = %s" % self.password, "redis_password = %s" % self.password]
        lines += ["%s = %s" % kv for kv in keys.items()]
        return "\n".join(lines) + "\n"

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
        if self.acl_user:
            lines.append("user %s on >%s ~* &* +@all" % self.acl_user)
        if self.tls:
            tp = self.tls_ports.get("127.0.0.1:%d" % port)
            if not tp:
                tp = self.tls_ports["127.0.0.1:%d" % port] = "127.0.0.1:%d" % free_port()
            lines += ["tls-port %s" % tp.split(":")[1], "tls-cert-file %s" % self.tls["cert"],
                      "tls-key-file %s" % self.tls["key"], "tls-ca-cert-file %s" % self.tls["ca"],
                      "tls-auth-clients no"]
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
        if self.acl_user:
            lines.append("user %s on >%s ~* &* +@all" % self.acl_user)
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

    def _spawn_proc(self, kind, conf_fn, binary, port):
        """Writes the config of a server on port into a directory of its own
        and spawns it; does not wait for it."""
        self._seq += 1
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
        return p

    def _start_proc(self, kind, conf_fn, binary):
        """Starts one server on a free port; retries with another port when
        the chosen one was taken meanwhile. Waits until it answers PING."""
        last = None
        for attempt in range(4):
            port = free_port()
            p = self._spawn_proc(kind, conf_fn, binary, port)
            if self._wait_ping(p, 10):
                return p
            d = os.path.dirname(p.logpath)
            last = "%s on port %d did not start:\n%s\n%s" % (
                kind, port, tail(p.logpath, 15), tail(os.path.join(d, "stdout.log"), 15))
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
