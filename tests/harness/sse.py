"""sse — a Server-Sent Events client for the tests and benches: one
connection to hapanel, read on a thread, each event parsed (id, event,
data) with the time it arrived. Not a browser: it keeps no reconnect loop;
a test reconnects itself, with the last id, to check resuming."""

import queue
import socket
import threading
import time


class Event:
    def __init__(self, ident, name, data, at):
        self.id, self.event, self.data, self.at = ident, name, data, at

    def __repr__(self):
        return "Event(id=%r, event=%r, %d bytes)" % (self.id, self.event, len(self.data))


class Stream:
    """GET path on 127.0.0.1:port with the token; status and headers once
    the head arrived, events on self.events (a Queue), self.closed when the
    server closed the stream."""

    def __init__(self, port, path, token=None, headers=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1", "Accept: text/event-stream"]
        if token:
            lines.append("Authorization: Bearer %s" % token)
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.events = queue.Queue()
        self.closed = threading.Event()
        self.last_id = None
        self.retry = None
        self.comments = 0
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        hl = head.decode("latin-1").split("\r\n")
        self.status = int(hl[0].split()[1]) if hl and len(hl[0].split()) > 1 else 0
        self.headers = {}
        for line in hl[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.body = rest  # for an error answer (not a stream)
        if self.status == 200:
            self.sock.settimeout(None)
            self._t = threading.Thread(target=self._read, args=(rest,), daemon=True)
            self._t.start()
        else:
            n = int(self.headers.get("content-length", "0") or 0)
            while len(self.body) < n:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.body += chunk
            self.sock.close()
            self.closed.set()

    def _read(self, pending):
        ident = name = None
        data = []
        buf = pending
        try:
            while True:
                while b"\n" in buf:
                    line, _, buf = buf.partition(b"\n")
                    line = line.rstrip(b"\r").decode("utf-8", "replace")
                    if line == "":
                        if ident is not None:
                            self.last_id = ident
                        if data:
                            self.events.put(Event(ident, name or "message", "\n".join(data),
                                                  time.monotonic()))
                        ident = name = None
                        data = []
                        continue
                    if line.startswith(":"):
                        self.comments += 1
                        continue
                    field, _, value = line.partition(":")
                    if value.startswith(" "):
                        value = value[1:]
                    if field == "id":
                        ident = value
                    elif field == "event":
                        name = value
                    elif field == "data":
                        data.append(value)
                    elif field == "retry":
                        self.retry = int(value)
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except OSError:
            pass
        self.closed.set()

    def next(self, timeout, event=None):
        """The next event (named event, if given) within timeout, else None."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                e = self.events.get(timeout=left)
            except queue.Empty:
                return None
            if event is None or e.event == event:
                return e

    def drain(self):
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Switches:
    """The +switch-master announcements of the Sentinels (one address or a
    list: subscribe to all of them, since the Sentinel that ran the
    failover announces it first and the others a second or so later), each
    switch once, stamped with time.monotonic() as its first announcement
    arrived (read on threads, so a test busy elsewhere does not delay the
    stamp)."""

    def __init__(self, sentinel_addrs, timeout=120):
        from .resp import Redis
        if isinstance(sentinel_addrs, str):
            sentinel_addrs = [sentinel_addrs]
        self.q = queue.Queue()
        self.lock = threading.Lock()
        self.seen = {}  # new master -> when its switch was first announced
        self.conns = []
        for a in sentinel_addrs:
            r = Redis.at(a, timeout=timeout)
            r.cmd("SUBSCRIBE", "+switch-master")
            self.conns.append(r)
            threading.Thread(target=self._read, args=(r,), daemon=True).start()

    def _read(self, r):
        try:
            while True:
                m = r._read()
                at = time.monotonic()
                if isinstance(m, list) and len(m) == 3 and m[0] == "message":
                    w = m[2].split()
                    new = "%s:%s" % (w[3], w[4])
                    with self.lock:
                        if at - self.seen.get(new, -1e9) < 30:
                            continue  # another Sentinel telling the same switch
                        self.seen[new] = at
                    self.q.put((at, new, m[2]))
        except (OSError, ConnectionError, ValueError):
            pass

    def next(self, timeout):
        """(arrival time, new master address, the message) or None."""
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        for r in self.conns:
            try:  # wakes the reader thread, which holds the file's lock
                r.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            r.close()
