"""harness.debroot — a Debian 12 root file system for the packaging tests
(it_image, it_deb): made once with mmdebstrap (--variant=minbase, from this
machine's own apt sources) and kept as a tar in /var/tmp; the tools are
installed with apt-get when missing. tools() says False where they cannot
be (not root, no apt-get): the tests then exit 77, reported as skipped."""

import os
import shutil
import subprocess

from .procs import log

BASE_TAR = "/var/tmp/hapanel-debian12-minbase.tar"
SKIP = 77


def tools(*names):
    """The commands names (and the packages of the same names), installed
    when missing; False when they cannot be."""
    pkgs = {"podman": ["podman", "buildah", "uidmap"], "mmdebstrap": ["mmdebstrap"]}
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
    if not os.path.exists(BASE_TAR):
        log("$ mmdebstrap --variant=minbase --format=tar bookworm %s" % BASE_TAR)
        subprocess.run(["mmdebstrap", "--variant=minbase", "--format=tar", "bookworm",
                        BASE_TAR + ".part"], check=True, timeout=1800, stdout=subprocess.DEVNULL)
        os.rename(BASE_TAR + ".part", BASE_TAR)
    return BASE_TAR
