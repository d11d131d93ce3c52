#!/usr/bin/env python3
"""it_deb: the Debian package (issue 12). Builds hapanel (Release, without
tests) and `cpack -G DEB`, then checks the package and installs it into a
fresh Debian 12 root (mmdebstrap minbase) the way a user would: `dpkg -i`,
which stops at the missing dependencies, then `apt-get -f install`.
  - the package is hapanel_<version>_amd64.deb; its Depends name every
    library the binary needs (dpkg-shlibdeps) and adduser; it holds the
    binary, the systemd unit, the docs, and /etc/hapanel/hapanel.ini as a
    conffile;
  - `systemd-analyze verify` accepts the unit, which runs as its own user
    with StateDirectory=hapanel, ProtectSystem=strict, NoNewPrivileges and
    Restart=on-failure;
  - installed: ldd finds every library, the user hapanel exists, the INI is
    root:hapanel 0640, /var/lib/hapanel is hapanel's;
  - the installed binary, as user hapanel, with the installed INI and the
    settings in the environment, serves a loopback topology;
  - apt-get remove keeps the history, purge deletes it.
Exits 77 (skipped) only where mmdebstrap cannot be installed."""

import glob
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import VIEWER_TOKEN, log, run_test  # noqa: E402
from harness.debroot import CHROOT, SKIP, base_tar, run_in_root, tools  # noqa: E402
from harness.procs import free_port  # noqa: E402

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def sh(*args, timeout=1800, check=True, **kw):
    log("$ " + " ".join(args))
    return subprocess.run(args, timeout=timeout, check=check, **kw)


def version():
    for line in open(os.path.join(REPO, "server", "core", "common.h")):
        if "define HP_VERSION " in line:
            return line.split('"')[1]
    raise AssertionError("no HP_VERSION")


def test(env):
    if not tools("mmdebstrap"):
        print("SKIP it_deb: mmdebstrap is not installed and cannot be")
        sys.exit(SKIP)
    build = os.path.join(env.tmpdir, "build")
    sh("cmake", "-S", REPO, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DHAPANEL_TESTS=OFF",
       stdout=subprocess.DEVNULL)
    sh("cmake", "--build", build, "-j2", "--target", "hapanel", stdout=subprocess.DEVNULL)
    sh("cpack", "-G", "DEB", cwd=build, stdout=subprocess.DEVNULL)
    debs = glob.glob(os.path.join(build, "*.deb"))
    want = "hapanel_%s_amd64.deb" % version()
    assert [os.path.basename(d) for d in debs] == [want], "packages %r, want %s" % (debs, want)
    deb = debs[0]

    depends = sh("dpkg-deb", "-f", deb, "Depends", capture_output=True, text=True).stdout
    names = {d.strip().split()[0] for d in depends.split(",")}
    needed = set(sh(os.path.join(REPO, "scripts", "runtime-deps"), os.path.join(build, "hapanel"),
                    capture_output=True, text=True).stdout.split())
    assert needed <= names and "adduser" in names, "Depends %r lacks %r" % (depends, needed - names)
    files = sh("dpkg-deb", "-c", deb, capture_output=True, text=True).stdout
    for f in ("./usr/bin/hapanel", "./usr/lib/systemd/system/hapanel.service",
              "./etc/hapanel/hapanel.ini", "./usr/share/doc/hapanel/README.md"):
        assert f in files, "%s not in the package:\n%s" % (f, files)
    ctl = os.path.join(env.tmpdir, "control")
    sh("dpkg-deb", "-e", deb, ctl)
    assert open(os.path.join(ctl, "conffiles")).read().split() == ["/etc/hapanel/hapanel.ini"]

    # the unit, verified against the package's own binary
    ex = os.path.join(env.tmpdir, "extracted")
    sh("dpkg-deb", "-x", deb, ex)
    unit = open(os.path.join(ex, "usr/lib/systemd/system/hapanel.service")).read()
    for line in ("User=hapanel", "StateDirectory=hapanel", "ProtectSystem=strict",
                 "NoNewPrivileges=yes", "Restart=on-failure",
                 "ExecStart=/usr/bin/hapanel --config /etc/hapanel/hapanel.ini"):
        assert line in unit.splitlines(), "the unit lacks %r" % line
    probe = os.path.join(env.tmpdir, "hapanel.service")
    with open(probe, "w") as f:
        f.write(unit.replace("ExecStart=/usr/bin/hapanel", "ExecStart=" + ex + "/usr/bin/hapanel"))
    r = sh("systemd-analyze", "verify", "--recursive-errors=no", "--man=no", probe, check=False,
           capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr.strip(), "systemd-analyze verify: %s" % r.stderr

    # a fresh Debian 12 root, the package installed as a user would
    root = os.path.join(env.tmpdir, "root")
    os.makedirs(root)
    sh("tar", "-xf", base_tar(), "-C", root)
    shutil.copy("/etc/resolv.conf", os.path.join(root, "etc", "resolv.conf"))
    shutil.copy(deb, os.path.join(root, "tmp", want))
    r = sh(CHROOT, root, "dpkg", "-i", "/tmp/" + want, check=False, capture_output=True, text=True)
    log("dpkg -i: exit %d (missing dependencies expected)" % r.returncode)
    cenv = dict(os.environ, DEBIAN_FRONTEND="noninteractive", PATH="/usr/sbin:/usr/bin:/sbin:/bin")
    sh(CHROOT, root, "apt-get", "update", "-qq", env=cenv, stdout=subprocess.DEVNULL)
    sh(CHROOT, root, "apt-get", "-f", "install", "-y", "-qq", env=cenv, stdout=subprocess.DEVNULL)
    st = sh(CHROOT, root, "dpkg-query", "-W", "-f", "${Status}", "hapanel", capture_output=True,
            text=True).stdout
    assert st == "install ok installed", "hapanel is %r after apt-get -f install" % st
    out = sh(CHROOT, root, "ldd", "/usr/bin/hapanel", capture_output=True, text=True).stdout
    assert "not found" not in out, "libraries missing:\n" + out
    out = sh(CHROOT, root, "/usr/bin/hapanel", "--version", capture_output=True, text=True).stdout
    assert out.strip() == "hapanel " + version(), out
    uid = sh(CHROOT, root, "id", "-u", "hapanel", capture_output=True, text=True).stdout.strip()
    ini = os.stat(os.path.join(root, "etc/hapanel/hapanel.ini"))
    gid = sh(CHROOT, root, "id", "-g", "hapanel", capture_output=True, text=True).stdout.strip()
    assert ini.st_uid == 0 and str(ini.st_gid) == gid and (ini.st_mode & 0o777) == 0o640, \
        "the INI is %d:%d %o" % (ini.st_uid, ini.st_gid, ini.st_mode & 0o777)
    assert str(os.stat(os.path.join(root, "var/lib/hapanel")).st_uid) == uid, "/var/lib/hapanel owner"

    # the installed binary, as its user, with the installed INI
    topo = env.topology(replicas=1, sentinels=1, quorum=1)
    port = free_port()
    e = {"PATH": "/usr/bin:/bin", "REDIS_SENTINEL_HOSTS": ",".join(topo.sentinel_addrs),
         "HAPANEL_API_TOKENS": "viewer:" + VIEWER_TOKEN, "HAPANEL_LISTEN": "127.0.0.1:%d" % port,
         "HAPANEL_DATA_DIR": "/var/lib/hapanel"}
    r = sh(CHROOT, "--userspec=hapanel:hapanel", root, "/usr/bin/hapanel", "--config",
           "/etc/hapanel/hapanel.ini", "--check-config", env=e, capture_output=True, text=True)
    log(r.stdout.strip())
    p = run_in_root(env, root, "hapanel:hapanel", ["/usr/bin/hapanel", "--config",
                                                   "/etc/hapanel/hapanel.ini"], e, port,
                    VIEWER_TOKEN, "deb-hapanel.log")
    p.stop()
    assert p.returncode == 0, "the installed hapanel exited %s on SIGTERM" % p.returncode
    assert os.path.exists(os.path.join(root, "var/lib/hapanel/hapanel.db")), "no history written"

    # remove keeps the history and the conffile; purge takes both
    sh(CHROOT, root, "apt-get", "remove", "-y", "-qq", "hapanel", env=cenv, stdout=subprocess.DEVNULL)
    assert os.path.exists(os.path.join(root, "var/lib/hapanel/hapanel.db")), "remove deleted the history"
    assert os.path.exists(os.path.join(root, "etc/hapanel/hapanel.ini")), "remove deleted the conffile"
    sh(CHROOT, root, "apt-get", "purge", "-y", "-qq", "hapanel", env=cenv, stdout=subprocess.DEVNULL)
    assert not os.path.exists(os.path.join(root, "var/lib/hapanel")), "purge kept the history"
    assert not os.path.exists(os.path.join(root, "etc/hapanel/hapanel.ini")), "purge kept the conffile"


if __name__ == "__main__":
    run_test(test, limit=1800)
