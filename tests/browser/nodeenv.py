"""tests/browser/nodeenv.py — what the browser scripts need on this machine,
for tests/it_browser.py and bench/page_latency.py: Debian's chromium
(/usr/bin/chromium), node and npm (installed with apt-get when missing and
we are root), and playwright-core and axe-core at the versions
package-lock.json pins, installed once with `npm ci` into
tests/browser/node_modules (not committed). A lock file serialises
installers running at the same time. Python 3 standard library only.

ensure() returns the node binary, or raises Unavailable when chromium or
node cannot be installed here (the test then exits 77); an `npm ci` that
fails is an error, not a skip."""

import fcntl
import json
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = "/usr/bin/chromium"
MODULES = os.path.join(HERE, "node_modules")
LOCK = "/tmp/hapanel-browser-install.lock"


class Unavailable(Exception):
    pass


def _apt(pkgs):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for attempt in range(2):
        r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + pkgs,
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=900)
        if r.returncode == 0:
            return True
        subprocess.run(["apt-get", "update", "-qq"], env=env, timeout=600,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return False


def _system():
    """chromium, node and npm, from Debian when missing. npm separately:
    a node that brings its own npm (NodeSource's) conflicts with Debian's."""
    want = []
    if not os.access(CHROMIUM, os.X_OK):
        want += ["chromium", "fonts-dejavu-core"]
    if not shutil.which("node"):
        want.append("nodejs")
    if want:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise Unavailable("%s missing and not root with apt-get" % " ".join(want))
        _apt(want)
    if not shutil.which("npm") and shutil.which("node") and os.geteuid() == 0 \
            and shutil.which("apt-get"):
        _apt(["npm"])
    missing = [n for n, ok in (("chromium", os.access(CHROMIUM, os.X_OK)),
                               ("node", shutil.which("node")), ("npm", shutil.which("npm"))) if not ok]
    if missing:
        raise Unavailable("cannot install %s" % ", ".join(missing))
    return shutil.which("node")


def _pinned():
    with open(os.path.join(HERE, "package-lock.json")) as f:
        lock = json.load(f)
    return {k[len("node_modules/"):]: v["version"] for k, v in lock["packages"].items()
            if k.startswith("node_modules/") and "/node_modules/" not in k[len("node_modules/"):]}


def _installed(pins):
    for name, ver in pins.items():
        try:
            with open(os.path.join(MODULES, name, "package.json")) as f:
                if json.load(f).get("version") != ver:
                    return False
        except (OSError, ValueError):
            return False
    return True


def ensure(log=None):
    with open(LOCK, "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        node = _system()
        pins = _pinned()
        if not _installed(pins):
            if log:
                log("npm ci in %s (%s)" % (HERE, ", ".join("%s@%s" % kv for kv in pins.items())))
            r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=HERE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
            if r.returncode != 0 or not _installed(pins):
                raise RuntimeError("npm ci in %s failed (exit %d):\n%s" % (
                    HERE, r.returncode, r.stdout.decode("utf-8", "replace")[-3000:]))
        return node


def versions(node):
    v = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    c = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    return "node %s, %s, %s" % (v, c, ", ".join("%s@%s" % kv for kv in _pinned().items()))


class NodeScript:
    """A node script of this folder (or the bench's) run with the line
    protocol of lib.mjs: every stdout line is one JSON object; {"ask": X,
    ...} is answered on stdin with handlers[X](msg) (a dict; an exception
    becomes {"error": text}); {"event": ...} goes to on_event; {"result":
    ...} ends it. Its stderr goes to ours (progress). Killed at close()."""

    def __init__(self, node, script, env, handlers=None, on_event=None):
        import queue
        import sys
        import threading
        sys.path.insert(0, os.path.dirname(HERE))
        from harness.procs import _die_with_parent
        self.handlers = handlers or {}
        self.on_event = on_event
        self.lines = queue.Queue()
        full = dict(os.environ)
        full.update(env)
        self.p = subprocess.Popen([node, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  env=full, preexec_fn=_die_with_parent, close_fds=True)

        def reader():
            for raw in self.p.stdout:
                self.lines.put(raw.decode("utf-8", "replace"))
            self.lines.put(None)
        self.t = threading.Thread(target=reader, daemon=True)
        self.t.start()

    def run(self, timeout):
        """Serves asks until the result line; returns the result dict.
        Raises AssertionError when the script ends without one or the time
        passes."""
        import queue
        import time
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("the browser script gave no result within %.0f s" % timeout)
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                rc = self.p.wait(10)
                raise AssertionError("the browser script ended (exit %s) without a result" % rc)
            try:
                msg = json.loads(line)
            except ValueError:
                raise AssertionError("the browser script wrote a line that is not JSON: %r" % line[:300])
            if "result" in msg:
                self.p.wait(30)
                return msg["result"]
            if "event" in msg:
                if self.on_event:
                    self.on_event(msg)
                continue
            what = msg.get("ask")
            try:
                if what not in self.handlers:
                    raise KeyError("unknown request %r" % what)
                answer = self.handlers[what](msg)
            except Exception as e:  # tell the script, which reports it as a failure
                answer = {"error": "%s: %s" % (type(e).__name__, e)}
            self.p.stdin.write((json.dumps(answer) + "\n").encode())
            self.p.stdin.flush()

    def tell(self, obj):
        """One JSON line to the script's stdin (not while it waits for an
        answer to an ask)."""
        self.p.stdin.write((json.dumps(obj) + "\n").encode())
        self.p.stdin.flush()

    def close(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
