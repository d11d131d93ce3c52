"""harness.panel — the hapanel binary under test (Hapanel): started against a
Topology with the environment the harness sets (Sentinel addresses, a free
port, a data dir, the API tokens), restarted on the same port, stopped with
a check of a clean exit and of a log free of sanitizer reports; and its REST
API: request/get/post return a Response (4xx/5xx too), raw() sends
hand-made HTTP bytes, and conveniences read clusters, events, jobs and
failovers. Also where the binary's path (HAPANEL_BIN, else DEFAULT_BIN =
../build/hapanel relative to tests/) and the harness's tokens
(VIEWER_TOKEN, OPERATOR_TOKEN) are defined.

Backup-specific helpers (data sets, RDB checks, downloads) are in
backup.py; TestEnv.hapanel() in runner.py starts one that is stopped
whatever happens."""

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from .procs import free_port, log, spawn, tail, wait_for

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/
DEFAULT_BIN = os.path.normpath(os.path.join(HERE, "..", "build", "hapanel"))

VIEWER_TOKEN = "viewtok"
OPERATOR_TOKEN = "optok"


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

    def __init__(self, topology, tmpdir, env_extra=None, extra_sentinel_hosts=(), port=None,
                 ssl_context=None, ha=None, config_text=None):
        """ssl_context: an ssl.SSLContext to speak HTTPS with (hapanel run
        with HAPANEL_TLS_CERT); it may carry a client certificate.
        ha: the [ha] environment of a panel of an HA fleet (etcd.ha_env());
        HAPANEL_ADVERTISE_URL is then set to this panel's base URL.
        config_text: written to tmpdir/hapanel.ini and passed as --config."""
        self.ha = dict(ha or {})
        self.ha_name = self.ha.get("HAPANEL_INSTANCE_NAME")
        self.config_text = config_text
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
        self.ssl_context = ssl_context
        self._opener = _opener
        if ssl_context is not None:
            self._opener = urllib.request.build_opener(
                urllib.request.ProxyHandler({}), _NoRedirect(),
                urllib.request.HTTPSHandler(context=ssl_context))

    @property
    def base(self):
        return "%s://127.0.0.1:%d" % ("https" if self.ssl_context else "http", self.port)

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
        if self.ha:
            env.update(self.ha)
            env.setdefault("HAPANEL_ADVERTISE_URL", self.base)
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
            argv = [self.bin]
            if self.config_text is not None:
                cfg = os.path.join(self.tmpdir, "hapanel.ini")
                with open(cfg, "w") as f:
                    f.write(self.config_text)
                argv += ["--config", cfg]
            self.popen = spawn(argv, self.logpath, env=self.env())
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
                stacks = self.thread_stacks()
                self.popen.kill()
                self.popen.wait()
                raise AssertionError("hapanel did not exit within %.0f s of SIGTERM; its threads:\n%s"
                                     % (timeout, stacks))
        else:
            rc = self.popen.returncode
        self.check_log_clean()
        assert rc == 0, "hapanel exited with status %s after SIGTERM (expected 0)" % rc
        return rc

    def thread_stacks(self):
        """Every thread's stack of the running hapanel (gdb, when installed),
        for a hang's report."""
        import shutil
        if not shutil.which("gdb"):
            return "(gdb not installed)"
        try:
            r = subprocess.run(["gdb", "-p", str(self.popen.pid), "-batch", "-ex",
                                "thread apply all bt 12"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            return "(gdb: %s)" % e
        return "\n".join(ln for ln in r.stdout.splitlines() if ln.startswith(("Thread", "#")))[-12000:]

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
            with self._opener.open(req, timeout=timeout) as resp:
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
