"""harness.certs — test certificates made with the openssl command line: a
CA, and certificates it signs (for 127.0.0.1 when server=True), an
expired one, another CA's. Used by it_http_tls (hapanel's own TLS) and
it_redis_tls_tunnel (a Redis TLS port behind stunnel)."""

import os
import subprocess


def _sh(d, *args):
    subprocess.run(args, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca(d, name="ca"):
    """name.pem and name.key in d: a self-signed CA valid two days."""
    _sh(d, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
        "-out", name + ".pem", "-days", "2", "-subj", "/CN=hapanel test " + name)


def make_cert(d, name, ca="ca", server=False):
    """name.pem, name.key (and name.csr) in d, signed by ca; a server
    certificate names 127.0.0.1."""
    _sh(d, "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
        name + ".csr", "-subj", "/CN=" + name)
    args = ["openssl", "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey",
            ca + ".key", "-CAcreateserial", "-out", name + ".pem", "-days", "2"]
    if server:
        with open(os.path.join(d, "san.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        args += ["-extfile", "san.ext"]
    _sh(d, *args)


def make_expired(d, csr_name, out, ca="ca"):
    """out.pem: csr_name.csr signed by ca, valid in 2020 only."""
    os.makedirs(os.path.join(d, "cadb"), exist_ok=True)
    open(os.path.join(d, "cadb", "index.txt"), "w").close()
    with open(os.path.join(d, "cadb", "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca=c\n[c]\ndatabase=cadb/index.txt\nserial=cadb/serial\n"
                "new_certs_dir=cadb\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n")
    _sh(d, "openssl", "ca", "-batch", "-config", "ca.cnf", "-cert", ca + ".pem", "-keyfile",
        ca + ".key", "-in", csr_name + ".csr", "-out", out + ".pem", "-startdate", "20200101000000Z",
        "-enddate", "20210101000000Z", "-notext")
