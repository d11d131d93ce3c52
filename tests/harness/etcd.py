"""harness.etcd — a real etcd cluster for the HA tests (EtcdCluster): n
members (3 by default) of /usr/bin/etcd (Debian's etcd-server, 3.4) on free
loopback ports, data in the test's temp dir, started with short raft timers
(heartbeat 50 ms, election 500 ms, --unsafe-no-fsync), waited for until every
member says healthy. Members can be paused (SIGSTOP: quorum loss without a
restart's cost), resumed, killed and restarted on the same ports and data.
A few calls of the v3 JSON gateway (range, put, delete, the leader key of a
hapanel fleet) read and write keys the way hapanel does, with base64 keys
and values.

ha_env() gives the environment of one HA panel (the [ha] settings); the
Hapanel class (panel.py) takes it through its `ha` argument.

If etcd is not installed, require_etcd() exits 77 (ctest's skip): it is
installable (scripts/deps installs etcd-server), so a skip means a machine
that did not run scripts/deps.

Disk: each member preallocates a 64 MB WAL (~123 MB per data dir), so a
3-member cluster takes ~370 MB of the temp dir; stop() removes it."""

import base64
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from .procs import free_port, log, spawn, tail, wait_for

ETCD = shutil.which("etcd") or "/usr/bin/etcd"

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def have_etcd():
    return os.path.exists(ETCD) and os.access(ETCD, os.X_OK)


def require_etcd():
    """Exits 77 (skip) when the etcd binary is missing."""
    if not have_etcd():
        print("SKIP: etcd is not installed (apt-get install etcd-server; scripts/deps does)",
              file=sys.stderr, flush=True)
        sys.exit(77)


def b64(s):
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def unb64(s):
    return base64.b64decode(s or "")


def prefix_end(prefix):
    """range_end of a prefix scan: the prefix with its last byte + 1."""
    b = bytearray(prefix.encode() if isinstance(prefix, str) else prefix)
    b[-1] += 1
    return bytes(b)


def http_json(url, body=None, timeout=1.0):
    """POST (body given) or GET url; returns the parsed JSON answer, also of
    an HTTP error status. Raises OSError on a transport error/timeout."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with _opener.open(req, timeout=timeout) as r:
            raw = r.read()
    except urllib.error.HTTPError as e:
        raw = e.read()
    try:
        return json.loads(raw.decode("utf-8", "replace") or "{}")
    except ValueError:
        return {"_raw": raw.decode("utf-8", "replace")}


class EtcdMember:
    def __init__(self, idx, datadir, client_port, peer_port, logpath):
        self.idx = idx
        self.name = "e%d" % idx
        self.datadir = datadir
        self.client_port = client_port
        self.peer_port = peer_port
        self.logpath = logpath
        self.popen = None
        self.paused = False

    @property
    def client_url(self):
        return "http://127.0.0.1:%d" % self.client_port

    @property
    def peer_url(self):
        return "http://127.0.0.1:%d" % self.peer_port

    def running(self):
        return self.popen is not None and self.popen.poll() is None


class EtcdCluster:
    """n etcd members on loopback. Use as: c = EtcdCluster(dir); c.start();
    ... c.endpoints ...; c.stop() (TestEnv.etcd() does the start and the
    stop)."""

    def __init__(self, tmpdir, n=3):
        require_etcd()
        self.tmpdir = tmpdir
        self.n = n
        self.members = []
        self.token = "hp-%08x" % random.getrandbits(32)

    # --- processes ---------------------------------------------------------
    def _argv(self, m, state):
        ic = ",".join("%s=%s" % (x.name, x.peer_url) for x in self.members)
        return [ETCD, "--name", m.name, "--data-dir", m.datadir,
                "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", ic, "--initial-cluster-state", state,
                "--initial-cluster-token", self.token,
                "--heartbeat-interval", "50", "--election-timeout", "500",
                "--unsafe-no-fsync", "--log-level", "warn", "--logger", "zap"]

    def start(self, timeout=15.0):
        """Starts every member (fresh ports; up to 3 attempts on a port
        clash) and waits until each one's /health says true."""
        os.makedirs(self.tmpdir, exist_ok=True)
        last = None
        for attempt in range(3):
            self._kill_all()
            self.members = []
            ports = set()
            while len(ports) < 2 * self.n:
                ports.add(free_port())
            ports = list(ports)
            for i in range(self.n):
                d = os.path.join(self.tmpdir, "etcd-%d" % i)
                shutil.rmtree(d, ignore_errors=True)
                self.members.append(EtcdMember(i, d, ports[2 * i], ports[2 * i + 1],
                                               os.path.join(self.tmpdir, "etcd-%d.log" % i)))
            t0 = time.monotonic()
            for m in self.members:
                m.popen = spawn(self._argv(m, "new"), m.logpath)
            try:
                self.wait_healthy(timeout)
                log("etcd: %d members healthy after %.2f s: %s" % (
                    self.n, time.monotonic() - t0, self.endpoints))
                return self
            except AssertionError as e:
                last = e
                text = "\n".join(tail(m.logpath, 20) for m in self.members)
                if "address already in use" in text:
                    log("etcd: a port was taken, retrying")
                    continue
                break
        self._kill_all()
        raise AssertionError("etcd cluster did not become healthy: %s\n%s" % (
            last, "\n".join("--- %s ---\n%s" % (m.logpath, tail(m.logpath, 20))
                            for m in self.members)))

    def member_healthy(self, i, timeout=1.0):
        m = self.members[i]
        if not m.running() or m.paused:
            return False
        try:
            return http_json(m.client_url + "/health", timeout=timeout).get("health") == "true"
        except OSError:
            return False

    def wait_healthy(self, timeout=15.0, members=None):
        """Waits until every (given) running member's /health says true
        (needs a raft leader, so quorum)."""
        idx = list(range(self.n)) if members is None else list(members)

        def ok():
            for i in idx:
                if not self.members[i].running():
                    raise AssertionError("etcd member %d exited (status %s)" % (
                        i, self.members[i].popen.poll()))
            return all(self.member_healthy(i) for i in idx)
        wait_for(ok, timeout, 0.05, msg="etcd members %s healthy" % idx)

    @property
    def endpoints(self):
        """The value of HAPANEL_ETCD_ENDPOINTS: every member's client URL."""
        return ",".join(m.client_url for m in self.members)

    def endpoint(self, i):
        return self.members[i].client_url

    def pause(self, i):
        """SIGSTOP member i (pausing 2 of 3 loses quorum)."""
        m = self.members[i]
        if m.running() and not m.paused:
            os.kill(m.popen.pid, signal.SIGSTOP)
            m.paused = True

    def resume(self, i):
        m = self.members[i]
        if m.running() and m.paused:
            os.kill(m.popen.pid, signal.SIGCONT)
        m.paused = False

    def kill(self, i):
        """SIGKILL member i (its data dir stays, for restart)."""
        m = self.members[i]
        if m.popen is not None:
            if m.running():
                if m.paused:
                    os.kill(m.popen.pid, signal.SIGCONT)
                m.popen.kill()
            m.popen.wait()
        m.paused = False

    def restart(self, i, wait=True, timeout=10.0):
        """Starts a killed member again on its ports and data dir."""
        m = self.members[i]
        assert not m.running(), "etcd member %d is still running" % i
        m.popen = spawn(self._argv(m, "existing"), m.logpath)
        m.paused = False
        if wait:
            self.wait_healthy(timeout, members=[i])

    def _kill_all(self):
        for m in self.members:
            if m.popen is not None and m.popen.poll() is None:
                try:
                    if m.paused:
                        os.kill(m.popen.pid, signal.SIGCONT)
                    m.popen.kill()
                except OSError:
                    pass
                m.popen.wait()

    def stop(self, remove=True):
        """SIGTERM (after SIGCONT of the paused), 5 s, then SIGKILL; removes
        the data dirs (~123 MB each) unless remove=False."""
        for m in self.members:
            if m.running():
                try:
                    if m.paused:
                        os.kill(m.popen.pid, signal.SIGCONT)
                        m.paused = False
                    m.popen.send_signal(signal.SIGTERM)
                except OSError:
                    pass
        deadline = time.monotonic() + 5
        for m in self.members:
            if m.popen is None:
                continue
            try:
                m.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                m.popen.kill()
                m.popen.wait()
        if remove:
            for m in self.members:
                shutil.rmtree(m.datadir, ignore_errors=True)

    def logs_tail(self, n=10):
        return "\n".join("--- etcd %s (%s) ---\n%s" % (m.name, m.logpath, tail(m.logpath, n))
                         for m in self.members)

    # --- the v3 JSON gateway ----------------------------------------------
    def _live(self):
        return [m for m in self.members if m.running() and not m.paused]

    def call(self, path, body, timeout=1.0):
        """POST body to /v3/<path> on the first live member that answers;
        returns the parsed answer. Raises OSError if none does."""
        last = None
        for m in self._live():
            try:
                return http_json(m.client_url + "/v3/" + path, body, timeout=timeout)
            except OSError as e:
                last = e
        raise OSError("no etcd member answered /v3/%s (%s)" % (path, last))

    def range(self, key, prefix=False, serializable=False, timeout=1.0):
        """[(key str, value bytes, kv dict)] of key (or of the keys under
        prefix)."""
        body = {"key": b64(key)}
        if prefix:
            body["range_end"] = b64(prefix_end(key))
        if serializable:
            body["serializable"] = True
        r = self.call("kv/range", body, timeout=timeout)
        if "error" in r:
            raise OSError("etcd range %s: %s" % (key, r))
        return [(unb64(kv["key"]).decode("utf-8", "replace"), unb64(kv.get("value")), kv)
                for kv in r.get("kvs") or []]

    def get(self, key, **kw):
        """The value (bytes) of key, or None."""
        rows = self.range(key, **kw)
        return rows[0][1] if rows else None

    def get_json(self, key, **kw):
        v = self.get(key, **kw)
        if v is None:
            return None
        try:
            return json.loads(v.decode("utf-8", "replace"))
        except ValueError:
            return {"_raw": v.decode("utf-8", "replace")}

    def put(self, key, value, lease=None):
        body = {"key": b64(key), "value": b64(value if isinstance(value, (str, bytes))
                                                 else json.dumps(value))}
        if lease:
            body["lease"] = str(lease)
        return self.call("kv/put", body)

    def delete(self, key, prefix=False):
        body = {"key": b64(key)}
        if prefix:
            body["range_end"] = b64(prefix_end(key))
        return int(self.call("kv/deleterange", body).get("deleted") or 0)

    def leader_key(self, prefix="hapanel", serializable=False):
        """The hapanel leader key's JSON value ({"id","url","since",...})
        plus "_create_revision" (the term) and "_lease", or None."""
        rows = self.range(prefix + "/leader", serializable=serializable)
        if not rows:
            return None
        _, value, kv = rows[0]
        try:
            d = json.loads(value.decode("utf-8", "replace"))
        except ValueError:
            d = {"_raw": value.decode("utf-8", "replace")}
        if not isinstance(d, dict):
            d = {"_raw": d}
        d["_create_revision"] = int(kv.get("create_revision") or 0)
        d["_lease"] = kv.get("lease")
        return d

    def claims(self, prefix="hapanel"):
        """{key: value str} of every key under <prefix>/claims/."""
        return {k: v.decode("utf-8", "replace")
                for k, v, _ in self.range(prefix + "/claims/", prefix=True)}


PEER_SECRET = "peer-secret-for-tests-0123456789"


class NoRedis:
    """A Topology stand-in for panels whose Redis side does not matter (the
    HA tests): one Sentinel address nothing listens on."""
    sentinel_addrs = ["127.0.0.1:9"]
    password = None


def ha_env(etcd, name, ttl=3, prefix=None, secret=PEER_SECRET):
    """The [ha] environment of one panel of a fleet on etcd (a dict for
    Hapanel(..., ha=...) or env_extra). The advertise URL is added by
    Hapanel.env() once the port is known."""
    env = {
        "HAPANEL_ETCD_ENDPOINTS": etcd.endpoints if hasattr(etcd, "endpoints") else str(etcd),
        "HAPANEL_HA_LEASE_TTL_S": str(ttl),
        "HAPANEL_INSTANCE_NAME": name,
        "HAPANEL_HA_PEER_SECRET": secret,
    }
    if prefix:
        env["HAPANEL_HA_PREFIX"] = prefix
    return env


def ha_of(panel, timeout=2):
    """The "ha" object of a panel's GET /api/v1/health (None when it does
    not answer or has none)."""
    try:
        r = panel.get("/api/v1/health", token=None, timeout=timeout)
    except OSError:
        return None
    if r.status != 200 or not isinstance(r.body, dict):
        return None
    return r.body.get("ha")


def role_of(panel, timeout=2):
    h = ha_of(panel, timeout=timeout)
    return (h or {}).get("role")


def leaders(panels, timeout=1):
    """The running panels whose health says role leader."""
    return [p for p in panels if p.running() and role_of(p, timeout=timeout) == "leader"]


def wait_one_leader(panels, timeout, interval=0.05):
    """Waits until exactly one running panel says leader and every other
    running one names it (health ha.leader.instance); returns the leader."""
    seen = {}

    def ok():
        live = [p for p in panels if p.running()]
        hs = {p: ha_of(p, timeout=1) for p in live}
        seen["hs"] = {p.ha_name: h for p, h in hs.items()}
        ls = [p for p, h in hs.items() if h and h.get("role") == "leader"]
        if len(ls) != 1:
            return None
        name = ls[0].ha_name
        for p, h in hs.items():
            if not h or ((h.get("leader") or {}).get("instance") != name):
                return None
        return ls[0]

    return wait_for(ok, timeout, interval, msg=lambda: "exactly one leader named by all; health ha: %s"
                    % json.dumps(seen.get("hs"))[:2000])
