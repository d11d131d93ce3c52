"""harness.checks — what the tests that check many things at once share
(the edge's, the deployment's): Checks collects failed checks so that one run
reports every broken case; call() makes one HTTP request with raw control of
its headers (http.client: cookies, CSRF tokens, a source address) and parses
a JSON answer; hashed() stores a secret the way hapanel's config wants it
(--hash-token or --hash-password of the binary under test)."""

import http.client
import json
import os
import subprocess

from .panel import DEFAULT_BIN
from .procs import log


class Checks:
    def __init__(self):
        self.failures = []

    def __call__(self, cond, what):
        if not cond:
            self.failures.append(what)
            log("FAILED: %s" % what)
        return cond

    def done(self, most=40):
        """Raises with every failure, if any."""
        assert not self.failures, "%d checks failed:\n  - %s" % (
            len(self.failures), "\n  - ".join(self.failures[:most]))


def read_body(r, c, window=1.0):
    """The body of response r on connection c; a stream (text/event-stream
    has no end) is read for window seconds only."""
    if not (r.getheader("Content-Type") or "").startswith("text/event-stream"):
        return r.read()
    # the connection gave its socket to the response (the stream ends with a close)
    sock = c.sock or getattr(getattr(r.fp, "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(window)
    out = b""
    try:
        while True:
            chunk = r.read1(65536)
            if not chunk:
                break
            out += chunk
    except (TimeoutError, OSError):
        pass
    return out


def call(port, method, path, headers=None, body=None, source="127.0.0.1", timeout=10):
    """(status, headers with lower-case names, JSON body or None); a stream's
    first second of body counts as its body."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body)
            h["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = read_body(r, c)
        try:
            j = json.loads(raw)
        except ValueError:
            j = None
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), j
    finally:
        c.close()


def binary():
    return os.environ.get("HAPANEL_BIN") or DEFAULT_BIN


def hashed(secret, flag="--hash-token"):
    """The stored form of secret: flag is --hash-token or --hash-password."""
    return subprocess.run([binary(), flag], input=(secret + "\n").encode(), capture_output=True,
                          check=True).stdout.decode().strip()
