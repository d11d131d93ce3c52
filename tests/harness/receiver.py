"""harness.receiver — local endpoints for hapanel's notifications
(it_notify*.py, it_alerts*.py): Receiver, an HTTP server on 127.0.0.1
standing in for a webhook or the Telegram Bot API, which records every
request (Received) and answers by a program (statuses per path or per
header value, a delay); start_receiver, a Receiver stopped by the test's
cleanup; start_blackhole, an address whose TCP connect never completes.

They assert nothing: the tests check what arrived. No TLS, no real
Telegram API."""

import json
import socket
import threading
import time

from .procs import free_port, log, wait_for


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
                     otherwise, sent as given (also a non-2xx one, e.g. a
                     veto with its reason); default (200, b'{"ok":true}')
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
                # a scripted failure says so; a default that is itself a
                # failure (default=(403, b"change freeze")) is sent as given
                if status >= 300 and out == recv.default[1] and status != recv.default[0]:
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
