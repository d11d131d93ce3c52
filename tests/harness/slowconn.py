#!/usr/bin/env python3
"""slowconn.py — holds N slow connections open against a server, as an
attacker or a crowd of idle browsers would, and keeps them held: each one
that the server closes is opened again. Three kinds, in turn:

  idle   sends one complete GET /api/v1/health, reads the answer, then stays
         open saying nothing (an idle keep-alive connection, a dashboard tab);
  head   sends a request line, then one byte of a header every second and
         never the blank line that ends the head (slowloris);
  body   sends a complete POST head announcing a 1,000-byte body, then one
         byte of it a second.

Connections come from several loopback source addresses (127.0.1.2,
127.0.1.3, ...; Linux routes all of 127/8 to lo), per_addr per address, so a
per-address cap does not refuse them all. Runs as its own process (one
select loop; nothing shares the measuring process's interpreter) and prints
one JSON line a second: {"open": n, "opened": total, "closed": n,
"status": {"408": n, ...}}, the statuses being those of answers the server
sent before it closed a connection. It stops after --seconds, or when its
stdin closes (the parent went away). Test and benchmark both use it
(tests/it_http_slowconn.py, bench/slowconn_bench.py).

usage: slowconn.py --port P --n N [--per-addr K] [--seconds S] [--host 127.0.0.1]
"""

import argparse
import errno
import json
import os
import selectors
import socket
import sys
import time

KINDS = ("idle", "head", "body")


def source_addr(i, per_addr):
    k = i // per_addr
    return "127.0.%d.%d" % (1 + k // 250, 2 + k % 250)


class Conn:
    def __init__(self, i, kind, src):
        self.i, self.kind, self.src = i, kind, src
        self.sock = None
        self.state = "new"
        self.buf = b""
        self.sent = 0
        self.next_byte = 0.0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--per-addr", type=int, default=100)
    p.add_argument("--seconds", type=float, default=600)
    a = p.parse_args()
    if not (1 <= a.n <= 20000 and 1 <= a.per_addr and 1 <= a.seconds <= 7200):
        p.error("out of range")
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    conns = [Conn(i, KINDS[i % 3], source_addr(i, a.per_addr)) for i in range(a.n)]
    stats = {"opened": 0, "closed": 0, "status": {}}
    end = time.monotonic() + a.seconds
    next_report = 0.0

    def drop(c):
        if c.sock is not None:
            m = c.buf[9:12] if c.buf.startswith(b"HTTP/1.") else b""
            if m:
                k = m.decode("ascii", "replace")
                stats["status"][k] = stats["status"].get(k, 0) + 1
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
            stats["closed"] += 1
        c.sock, c.state, c.buf, c.sent = None, "new", b"", 0

    def open_(c, now):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((c.src, 0))
        except OSError:
            s.close()
            return
        err = s.connect_ex((a.host, a.port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            return
        c.sock, c.state, c.buf = s, "connecting", b""
        c.next_byte = now + 1.0
        stats["opened"] += 1
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ, c)

    def start(c):
        if c.kind == "idle":
            c.sock.send(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            c.state = "idle"
        elif c.kind == "head":
            c.sock.send(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            c.state = "trickle"
        else:
            c.sock.send(b"POST /api/v1/clusters/x/failover HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            c.state = "trickle"
        sel.modify(c.sock, selectors.EVENT_READ, c)

    while True:
        now = time.monotonic()
        if now >= end:
            break
        for c in conns:
            if c.sock is None:
                open_(c, now)
            elif c.state == "trickle" and now >= c.next_byte:
                c.next_byte = now + 1.0
                try:
                    c.sock.send(b"a")
                except OSError:
                    drop(c)
        for key, ev in sel.select(timeout=0.1):
            if key.data is None:  # stdin: the parent closed it
                if not os.read(sys.stdin.fileno(), 4096):
                    return
                continue
            c = key.data
            if c.state == "connecting":
                if c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    drop(c)
                    continue
                try:
                    start(c)
                except OSError:
                    drop(c)
                continue
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                drop(c)
                continue
            if c.state == "idle" and data.startswith(b"HTTP/1.1 200"):
                c.state = "idle-done"  # the answer to its own GET: now it idles
                continue
            if len(c.buf) < 4096:
                c.buf += data
        if now >= next_report:
            next_report = now + 1.0
            n_open = sum(1 for c in conns if c.sock is not None and c.state != "connecting")
            line = dict(stats, open=n_open)
            sys.stdout.write(json.dumps(line) + "\n")
            sys.stdout.flush()


class Holders:
    """Runs this script as a child process holding n connections; .last is
    its newest status line (a dict), .wait_open(k, timeout) waits until k are
    open. Use as a context manager: leaving it stops the child."""

    def __init__(self, port, n, per_addr=100, seconds=600):
        import subprocess
        import threading
        self.last = {}
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--port", str(port), "--n", str(n),
             "--per-addr", str(per_addr), "--seconds", str(seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.last = json.loads(line)
            except ValueError:
                pass

    def wait_open(self, k, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.last.get("open", 0) >= k:
                return True
            time.sleep(0.1)
        return False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001 - a child that hangs is killed
            self.proc.kill()
            self.proc.wait()
        return False


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
