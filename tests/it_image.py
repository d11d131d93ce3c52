#!/usr/bin/env python3
"""it_image: the container image builds, and the hapanel in it runs (issue
12). There is no Docker engine here: Debian's podman builds the Dockerfile
(base images made from this machine's apt sources with mmdebstrap and
imported, no registry), and since `podman run` is refused by the sandbox the
image's root file system is mounted and hapanel run in it with chroot, with
the image's own libraries, as the image's user (10001).
  - ldd in the image finds every library the binary needs;
  - `hapanel --version` and `--help` answer;
  - as user 10001, against a loopback topology, hapanel starts with the
    image's settings (HAPANEL_DATA_DIR=/var/lib/hapanel), serves
    /api/v1/clusters with the cluster, and `hapanel --healthcheck` in the
    image exits 0 (and 1 once it is stopped).
podman and mmdebstrap are installed with apt-get when missing (as root);
where that cannot be done the test exits 77, which ctest reports as
skipped, not passed. The base root is kept between runs (harness/debroot.py);
the build takes a few minutes."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import VIEWER_TOKEN, OPERATOR_TOKEN, log, run_test  # noqa: E402
from harness.debroot import CHROOT, SKIP, base_tar, run_in_root, tools  # noqa: E402
from harness.procs import free_port  # noqa: E402

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TAG = "localhost/hapanel:test"


def sh(*args, timeout=1800, check=True, **kw):
    log("$ " + " ".join(args))
    return subprocess.run(args, timeout=timeout, check=check, **kw)


def podman(*args, **kw):
    return sh("podman", "--cgroup-manager=cgroupfs", *args, **kw)


def base_images():
    have = subprocess.run(["podman", "image", "exists", "docker.io/library/debian:12-slim"]).returncode == 0
    if have:
        return
    podman("import", base_tar(), "docker.io/library/debian:12-slim", stdout=subprocess.DEVNULL)
    podman("tag", "docker.io/library/debian:12-slim", "docker.io/library/debian:12")


def test(env):
    if not tools("podman", "mmdebstrap"):
        print("SKIP it_image: podman and mmdebstrap are not installed and cannot be (not root, "
              "or apt-get failed)")
        sys.exit(SKIP)
    base_images()
    t0 = time.monotonic()
    podman("build", "--network=host", "--isolation=chroot", "-t", TAG, REPO,
           stdout=subprocess.DEVNULL)
    log("image built in %.0f s" % (time.monotonic() - t0))
    root = podman("image", "mount", TAG, capture_output=True, text=True).stdout.strip()
    env.on_cleanup(lambda: subprocess.run(["podman", "--cgroup-manager=cgroupfs", "image", "unmount",
                                           TAG], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    binary = "/usr/local/bin/hapanel"
    assert os.path.exists(root + binary), "no %s in the image (root %s)" % (binary, root)

    out = sh("chroot", root, "ldd", binary, capture_output=True, text=True).stdout
    missing = [line for line in out.splitlines() if "not found" in line]
    assert not missing, "libraries missing in the image:\n" + "\n".join(missing)
    out = sh("chroot", root, binary, "--version", capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("hapanel "), "--version: %r" % out
    log(out.stdout.strip())

    topo = env.topology(replicas=1, sentinels=1, quorum=1)
    port = free_port()
    e = {"PATH": "/usr/bin:/bin", "HOME": "/var/lib/hapanel",
         "REDIS_SENTINEL_HOSTS": ",".join(topo.sentinel_addrs),
         "HAPANEL_API_TOKENS": "viewer:%s,operator:%s" % (VIEWER_TOKEN, OPERATOR_TOKEN),
         "HAPANEL_LISTEN": "127.0.0.1:%d" % port, "HAPANEL_DATA_DIR": "/var/lib/hapanel"}
    # the history on a directory of the test's, bound over the image's
    # volume, so that the image itself stays as it was built
    data = os.path.join(env.tmpdir, "image-data")
    os.makedirs(data)
    os.chown(data, 10001, 10001)
    sh("mount", "--bind", data, root + "/var/lib/hapanel")
    env.on_cleanup(lambda: subprocess.run(["umount", root + "/var/lib/hapanel"]))
    p = run_in_root(env, root, "10001:10001", [binary], e, port, VIEWER_TOKEN, "image-hapanel.log")
    chroot = CHROOT
    r = sh(chroot, "--userspec=10001:10001", root, binary, "--healthcheck", env=e, check=False)
    assert r.returncode == 0, "--healthcheck in the image exited %d" % r.returncode
    st = os.stat(os.path.join(data, "hapanel.db"))
    assert st.st_uid == 10001, "the history belongs to uid %d, not the image's user" % st.st_uid
    p.stop()
    assert p.returncode == 0, "the image's hapanel exited %s on SIGTERM" % p.returncode
    r = sh(chroot, "--userspec=10001:10001", root, binary, "--healthcheck", env=e, check=False)
    assert r.returncode == 1, "--healthcheck with hapanel stopped exited %d, want 1" % r.returncode


if __name__ == "__main__":
    run_test(test, limit=1800)
