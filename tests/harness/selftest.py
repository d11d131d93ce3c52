"""harness.selftest — the harness's check of itself against real
redis-server and redis-sentinel: RESP replies and error replies, a
password topology, SIGSTOP/SIGCONT and SIGKILL of replicas, a Sentinel
failover, an added replica, wait_for's timeout; and the Hapanel class
(requests, raw HTTP, restart on the same port) against a fake panel, a
small Python HTTP server standing in for the binary, so no build is needed;
and run_test's exit status (a test's own sys.exit(77) is a skip, 77).

Run it from tests/ with `python3 -m harness selftest` (__main__.py). It is
not one of the ctest tests and tests nothing of hapanel itself."""

import os
import socket
import sys
import time

from .procs import log, wait_for
from .resp import Redis, RedisError, parse_kv, redis_info


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


_EXITS = r'''
import sys
sys.path.insert(0, sys.argv[1])
from harness.runner import run_test
how = sys.argv[2]
def fn(env):
    if how == "skip":
        sys.exit(77)
    if how == "three":
        sys.exit(3)
    if how == "text":
        sys.exit("a reason")
    if how == "fail":
        raise AssertionError("failed on purpose")
run_test(fn, "exit-" + how)
'''


def exit_codes():
    """run_test's exit status for a test that passes (0), fails (1), or
    calls sys.exit itself: 77 stays 77 (ctest's skip), 3 stays 3, a string
    is 1. Subprocesses, no Redis; also `python3 -m harness exitcodes`."""
    import subprocess
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for how, want in (("pass", 0), ("fail", 1), ("skip", 77), ("three", 3), ("text", 1)):
        r = subprocess.run([sys.executable, "-c", _EXITS, here, how], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == want, "a test that does %r exits %d, want %d:\n%s" % (
            how, r.returncode, want, r.stderr[-800:])
        if how == "skip":
            assert "SKIP exit-skip" in r.stderr and "FAIL" not in r.stderr, r.stderr
    log("run_test exit codes ok (pass 0, fail 1, sys.exit(77) 77, sys.exit(3) 3)")


def selftest(env):
    exit_codes()
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
