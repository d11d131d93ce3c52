#!/usr/bin/env python3
"""it_http_tls: with [http] tls_cert and tls_key (HAPANEL_TLS_CERT,
HAPANEL_TLS_KEY) the listen port speaks only TLS, 1.2 at least; with
tls_client_ca (HAPANEL_TLS_CLIENT_CA) a client must present a certificate
that CA signed and that is valid now. Certificates are made here with
openssl: a CA, a server certificate for 127.0.0.1, a client certificate, an
expired one, and one from another CA.
  - curl and Python's ssl complete a handshake and get /api/v1/health and
    /api/v1/clusters, with Strict-Transport-Security on the answer;
  - a client that offers at most TLS 1.1 is refused, and plain HTTP on the
    port gets no HTTP answer;
  - hapanel --healthcheck speaks TLS to it, and a login's cookie is Secure;
  - under mTLS: no client certificate, an expired one and another CA's are
    refused; the right one is served;
  - a certificate without its key, or a file that does not exist, stops
    hapanel at start with a message naming the setting."""

import http.client
import os
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.checks import Checks  # noqa: E402
from harness import VIEWER_TOKEN, log, run_test  # noqa: E402
from harness.certs import make_ca, make_cert, make_expired  # noqa: E402

check = Checks()



def make_certs(d):
    """ca.pem/ca.key, server.pem/server.key (127.0.0.1), client.pem/.key,
    expired.pem (the client's request, valid in 2020 only), otherca and
    other.pem/.key."""
    make_ca(d, "ca")
    make_ca(d, "otherca")
    make_cert(d, "server", server=True)
    make_cert(d, "client")
    make_cert(d, "other", ca="otherca")
    make_expired(d, "client", "expired")


def ctx(d, cert=None, key=None, max_version=None):
    c = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
    if cert:
        c.load_cert_chain(os.path.join(d, cert), os.path.join(d, key))
    if max_version:
        c.minimum_version = ssl.TLSVersion.TLSv1
        c.maximum_version = max_version
        c.set_ciphers("DEFAULT:@SECLEVEL=0")
    return c


def https_get(port, c, path="/api/v1/health", token=None):
    """(status line, headers text) over TLS with context c; raises on a
    refused handshake."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with c.wrap_socket(s, server_hostname="127.0.0.1") as t:
            auth = "Authorization: Bearer %s\r\n" % token if token else ""
            t.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n" % (path, auth)).encode())
            data = b""
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return head.split("\r\n", 1)[0], head


def refused(port, c, what):
    try:
        line, _ = https_get(port, c)
        check(False, "%s: served (%s)" % (what, line))
    except (ssl.SSLError, OSError) as e:
        log("%s: refused (%s)" % (what, e.__class__.__name__ + ": " + str(e)[:80]))


def test(env):
    topo = env.topology()
    d = os.path.join(env.tmpdir, "certs")
    os.makedirs(d)
    make_certs(d)
    tls = {"HAPANEL_TLS_CERT": os.path.join(d, "server.pem"),
           "HAPANEL_TLS_KEY": os.path.join(d, "server.key")}
    binary = os.environ.get("HAPANEL_BIN") or os.path.join(os.path.dirname(__file__), "..", "build", "hapanel")
    pwhash = subprocess.run([binary, "--hash-password"], input=b"tls-pw\n", capture_output=True,
                            check=True).stdout.decode().strip()
    tls_login = dict(tls, HAPANEL_USERS="viewer:tess:" + pwhash)
    hp = env.hapanel(topo, env_extra=tls_login, ssl_context=ctx(d))
    hp.wait_nodes_up([topo.current_master()] + topo.initial_replicas(), "mymaster", 10)

    line, head = https_get(hp.port, ctx(d))
    check(line == "HTTP/1.1 200 OK", "Python ssl: %s" % line)
    check("strict-transport-security: max-age=" in head.lower(), "no HSTS under TLS: %s" % head)
    r = hp.get("/api/v1/clusters")
    check(r.status == 200 and isinstance(r.body, dict) and r.body.get("clusters"), "GET /api/v1/clusters over TLS: %r" % r)
    out = subprocess.run(["curl", "-sS", "--cacert", os.path.join(d, "ca.pem"), "-H",
                          "Authorization: Bearer " + VIEWER_TOKEN, "-o", "/dev/null", "-w",
                          "%{http_code} %{ssl_verify_result}",
                          "https://127.0.0.1:%d/api/v1/clusters" % hp.port],
                         capture_output=True, text=True, timeout=20)
    check(out.stdout.strip() == "200 0", "curl over TLS: %r %r" % (out.stdout, out.stderr))
    # under TLS the session cookie is Secure
    c = http.client.HTTPSConnection("127.0.0.1", hp.port, context=ctx(d), timeout=10)
    c.request("POST", "/api/v1/login", body='{"user":"tess","password":"tls-pw"}',
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    sc = r.getheader("Set-Cookie") or ""
    c.close()
    check(r.status == 200 and "secure" in [a.strip().lower() for a in sc.split(";")],
          "login over TLS: %d, cookie %r" % (r.status, sc))
    refused(hp.port, ctx(d, max_version=ssl.TLSVersion.TLSv1_1), "a client of TLS 1.1 at most")
    # plain HTTP on the TLS port: no HTTP answer comes back
    with socket.create_connection(("127.0.0.1", hp.port), timeout=5) as s:
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
    check(not data.startswith(b"HTTP/"), "plain HTTP on the TLS port was answered: %r" % data[:80])
    env_probe = dict(hp.env())
    rc = subprocess.run([hp.bin, "--healthcheck"], env=env_probe, timeout=20,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    check(rc == 0, "hapanel --healthcheck over TLS exited %d" % rc)
    hp.stop()

    # mutual TLS
    tls["HAPANEL_TLS_CLIENT_CA"] = os.path.join(d, "ca.pem")
    good = ctx(d, "client.pem", "client.key")
    hp2 = env.hapanel(topo, env_extra=tls, ssl_context=good)
    line, _ = https_get(hp2.port, good)
    check(line == "HTTP/1.1 200 OK", "mTLS with the right client certificate: %s" % line)
    refused(hp2.port, ctx(d), "mTLS without a client certificate")
    refused(hp2.port, ctx(d, "expired.pem", "client.key"), "mTLS with an expired client certificate")
    refused(hp2.port, ctx(d, "other.pem", "other.key"), "mTLS with another CA's certificate")
    line, _ = https_get(hp2.port, good)
    check(line == "HTTP/1.1 200 OK", "mTLS after the refusals: %s" % line)
    hp2.stop()

    # bad settings stop it at start, naming the setting
    for extra, want in (({"HAPANEL_TLS_CERT": tls["HAPANEL_TLS_CERT"]}, "tls_key"),
                        ({"HAPANEL_TLS_CERT": os.path.join(d, "nope.pem"),
                          "HAPANEL_TLS_KEY": tls["HAPANEL_TLS_KEY"]}, "tls_cert"),
                        ({"HAPANEL_TLS_CERT": tls["HAPANEL_TLS_CERT"],
                          "HAPANEL_TLS_KEY": os.path.join(d, "other.key")}, "tls_key")):
        e = dict(hp.env())
        for k in ("HAPANEL_TLS_CERT", "HAPANEL_TLS_KEY", "HAPANEL_TLS_CLIENT_CA"):
            e.pop(k, None)
        e.update(extra)
        p = subprocess.run([hp.bin], env=e, timeout=20, capture_output=True, text=True)
        check(p.returncode != 0 and want in p.stderr,
              "start with %s: exit %d, stderr %r" % (sorted(extra), p.returncode, p.stderr[-300:]))
    check.done()


if __name__ == "__main__":
    run_test(test)
