"""harness.debroot — a Debian 12 root file system for the packaging tests
(it_image, it_deb): made once with mmdebstrap (--variant=minbase, from this
machine's own apt sources) and kept as a tar in /var/tmp; the tools are
installed with apt-get when missing. tools() says False where they cannot
be (not root, no apt-get): the tests then exit 77, reported as skipped."""

import contextlib
import fcntl
import os
import shutil
import subprocess
import urllib.request

from .procs import log, wait_for

BASE_TAR = "/var/tmp/hapanel-debian12-minbase.tar"
LOCK = "/var/tmp/hapanel-debroot.lock"
SKIP = 77


@contextlib.contextmanager
def _locked():
    """it_image and it_deb start together (ctest -j2): one apt-get and one
    mmdebstrap at a time."""
    with open(LOCK, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def tools(*names):
    """The commands names (and the packages of the same names), installed
    when missing; False when they cannot be."""
    with _locked():
        return _tools(names)


def _tools(names):
    pkgs = {"podman": ["podman", "buildah", "uidmap"], "mmdebstrap": ["mmdebstrap"],
            "promtool": ["prometheus"]}
    missing = [n for n in names if not shutil.which(n)]
    if not missing:
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    want = [p for n in missing for p in pkgs.get(n, [n])]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for attempt in range(2):
        r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + want,
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=900)
        if r.returncode == 0:
            break
        subprocess.run(["apt-get", "update", "-qq"], env=env, timeout=600,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return all(shutil.which(n) for n in names)


def base_tar():
    """The path of the minbase tar, made when it does not exist yet."""
    with _locked():
        return _base_tar()


def _base_tar():
    if not os.path.exists(BASE_TAR):
        log("$ mmdebstrap --variant=minbase --format=tar bookworm %s" % BASE_TAR)
        subprocess.run(["mmdebstrap", "--variant=minbase", "--format=tar", "bookworm",
                        BASE_TAR + ".part"], check=True, timeout=1800, stdout=subprocess.DEVNULL)
        os.rename(BASE_TAR + ".part", BASE_TAR)
    return BASE_TAR


CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"


def run_in_root(env, root, userspec, argv, environ, port, token, logname):
    """Starts argv in root (chroot, as userspec) with environ, waits until
    it serves the cluster mymaster on port (GET /api/v1/clusters with the
    viewer token), and returns its Popen; the test's cleanup stops it."""
    logf = open(os.path.join(env.tmpdir, logname), "wb")
    p = subprocess.Popen([CHROOT, "--userspec=" + userspec, root] + argv, env=environ, stdout=logf,
                         stderr=subprocess.STDOUT)

    def stop():
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    p.stop = stop
    env.on_cleanup(stop)
    seen = {}

    def serves():
        try:
            req = urllib.request.Request("http://127.0.0.1:%d/api/v1/clusters" % port,
                                         headers={"Authorization": "Bearer " + token})
            with urllib.request.urlopen(req, timeout=2) as r:
                seen["body"] = r.read().decode()
                return '"name":"mymaster"' in seen["body"] and '"status":"ok"' in seen["body"]
        except OSError as ex:
            seen["body"] = str(ex)
            return False
    try:
        wait_for(serves, 20, 0.3, msg="hapanel in %s to serve the cluster" % root)
    except AssertionError:
        logf.flush()
        log("its log:\n" + open(logf.name, errors="replace").read()[-2000:])
        raise
    log("GET /api/v1/clusters: %s" % seen["body"][:200])
    return p
