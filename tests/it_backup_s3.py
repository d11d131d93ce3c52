#!/usr/bin/env python3
"""it_backup_s3: off-site copies of the backups (issue 14 item 6) against a
local S3-compatible server: s3rver (npm, pinned by tests/s3/package-lock.json,
installed once into tests/s3/node_modules by `npm ci`), started by the test
on a free loopback port with a key pair of the test's own, behind the front
of tests/s3/server.js, which checks every request's AWS SigV4 signature and
a body's SHA-256 against the signed x-amz-content-sha256 (s3rver 3.7.1
itself only looks the access key id up).

1 master + 1 replica + 1 Sentinel, 2,000 keys; [backup] keep_last 2.
  - store down: s3rver not started yet; a backup -> its remote copy is
    pending, the attempts grow (1 s, 2 s backoff) with a connection error,
    the dashboard row says "upload pending"; s3rver started -> uploaded
    within the next backoff; a backup-uploaded event; HEAD says the size; a
    download of the object (curl --aws-sigv4, as any S3 client) has the
    catalogue's sha256, and so has GET .../download?from=remote (hapanel
    fetches and checks it; no temp file left); a byte changed in the
    store's copy -> 502 naming the mismatch; from=elsewhere -> 400.
  - restart: s3rver stopped, a backup taken, hapanel killed (SIGKILL) while
    its upload is pending, s3rver and hapanel started again -> uploaded.
  - retention: a third backup -> local retention deletes the oldest, and its
    remote object is gone from the store (the file on disk too);
    DELETE /api/v1/backups/{id} removes the remote copy too.
  - bad credentials ([s3] max_attempts 3): a backup -> failed after 3
    attempts with "HTTP 403", a backup-upload-failed event (warning) that
    opened the backup_upload alert; the dashboard row says "upload failed"
    with a "retry upload" button; POST .../upload -> 202, a job whose first
    attempt fails again; with the right key again the same POST -> a job
    that succeeds, the object is stored, the alert resolved.
  - remote retention, [s3] keep_last 1 (below [backup] keep_last 2), with
    the store down: the copy beyond it is 'deleting' (the backup stays), its
    deletion and that of the locally retired backup's copy fail and are
    retried; with the store up again both objects go, the copy is
    'deleted', only the newest backup's object is left.
  - refusals: upload of an unknown id -> 404, a bad body -> 400, of an
    uploaded copy -> 409; nothing queued.
  - a store that accepts connections and never answers: two
    download?from=remote hang on it (a third is refused, 503), a backup's
    upload too; SIGTERM stops hapanel within a second, cleanly.
  - no secret (the secret key, or the wrong one) in any response, in the
    log, the events or the database files; no signature either."""

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hapanel, backup_download, backup_list, fill_varied, log, run_test, wait_for  # noqa: E402
from harness.panel import OPERATOR_TOKEN  # noqa: E402
from harness.procs import free_port, spawn, tail  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
S3DIR = os.path.join(HERE, "s3")
NAME = "mymaster"
BUCKET = "hp-offsite"
ACCESS = "AKIDhapanelTest7"
SECRET = "s3-Secret-Kq81zWxP"
WRONG = "s3-Wrong-Secret-3vRt"
EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def ensure_s3rver():
    """node and s3rver at the pinned version (npm ci once; a lock serialises
    concurrent installs). Exits 77 when node/npm cannot be had."""
    if not shutil.which("node") or not shutil.which("npm"):
        print("SKIP it_backup_s3: node or npm missing (scripts/deps installs them)")
        sys.exit(77)
    with open(os.path.join(S3DIR, "package-lock.json")) as f:
        want = json.load(f)["packages"]["node_modules/s3rver"]["version"]
    pj = os.path.join(S3DIR, "node_modules", "s3rver", "package.json")

    def have():
        try:
            with open(pj) as f:
                return json.load(f).get("version") == want
        except (OSError, ValueError):
            return False
    with open("/tmp/hapanel-s3-install.lock", "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if not have():
            log("npm ci in %s (s3rver@%s)" % (S3DIR, want))
            r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=S3DIR,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
            assert r.returncode == 0 and have(), "npm ci in %s failed:\n%s" % (
                S3DIR, r.stdout.decode("utf-8", "replace")[-3000:])
    return want


class S3:
    """s3rver on a port of its own, restartable, files kept across runs."""

    def __init__(self, tmpdir):
        self.port = free_port()
        self.dir = os.path.join(tmpdir, "s3data")
        self.logpath = os.path.join(tmpdir, "s3rver.log")
        os.makedirs(self.dir, exist_ok=True)
        self.p = None

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        env = dict(os.environ, S3_DIR=self.dir, S3_PORT=str(self.port), S3_BUCKET=BUCKET,
                   S3_ACCESS_KEY=ACCESS, S3_SECRET_KEY=SECRET)
        self.p = spawn(["node", os.path.join(S3DIR, "server.js")], self.logpath, env=env)
        wait_for(lambda: "ready %d" % self.port in tail(self.logpath, 20) or self.p.poll() is not None, 20,
                 0.05, msg=lambda: "s3rver did not start: %s" % tail(self.logpath, 20))
        assert self.p.poll() is None, "s3rver exited: %s" % tail(self.logpath, 20)
        log("s3rver up on %s" % self.endpoint)

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.p = None

    def curl(self, method, key, out=None):
        """One request signed by curl itself (another SigV4 client than
        hapanel's): (HTTP status, headers text)."""
        argv = ["curl", "-sS", "-I"] if method == "HEAD" else ["curl", "-sS", "-X", method]
        argv += ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "%s:%s" % (ACCESS, SECRET),
                 "-H", "x-amz-content-sha256: " + EMPTY_SHA, "-D", "-", "-o", out or os.devnull,
                 "-w", "\n%{http_code}", "%s/%s/%s" % (self.endpoint, BUCKET, key)]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        lines = r.stdout.strip().splitlines()
        return int(lines[-1]) if lines and lines[-1].isdigit() else -1, r.stdout

    def object_keys(self):
        """The keys s3rver holds, from its files (KEY._S3rver_object)."""
        top = os.path.join(self.dir, BUCKET)
        out = []
        for root, _, files in os.walk(top):
            out += [os.path.relpath(os.path.join(root, f), top)[:-len("._S3rver_object")]
                    for f in files if f.endswith("._S3rver_object")]
        return sorted(out)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def test(env):
    seen_texts = {}

    def keep(what, text):
        seen_texts[what] = text
        return text

    s3 = S3(env.tmpdir)
    env.on_cleanup(s3.stop)
    topo = env.topology(replicas=1, sentinels=1, quorum=1)
    master = topo.initial_master()
    with topo.client(master, timeout=30) as c:
        fill_varied(c, 2000)
    topo.wait_in_sync(master, 30)
    extra = {"HAPANEL_BACKUP_KEEP_LAST": "2", "HAPANEL_BACKUP_KEEP_DAYS": "0",
             "HAPANEL_BACKUP_DAILY_AT": "", "HAPANEL_BACKUP_INTERVAL_MINUTES": "0",
             "HAPANEL_S3_ENDPOINT": s3.endpoint, "HAPANEL_S3_BUCKET": BUCKET,
             "HAPANEL_S3_PREFIX": "offsite/", "HAPANEL_S3_ACCESS_KEY": ACCESS,
             "HAPANEL_S3_SECRET_KEY": SECRET, "HAPANEL_S3_MAX_ATTEMPTS": "8"}
    hp = env.hapanel(topo, env_extra=extra)
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 15)

    def take():
        r = hp.post("/api/v1/clusters/%s/backups" % NAME, {})
        assert r.status == 202, "POST backups -> %r" % r
        jb = hp.wait_job(r.body["job_id"], 60, 0.05)
        assert jb["state"] == "succeeded", "backup failed: %s\n%s" % (jb.get("error"), Hapanel.steps_text(jb))
        keep("job %d" % jb["id"], json.dumps(jb))
        return jb["result"]["backup_id"], jb

    def row(bid):
        rows = backup_list(hp)
        keep("backups", json.dumps(rows))
        for r in rows:
            if r["id"] == bid:
                return r
        return None

    def remote(bid):
        r = row(bid)
        return r and r.get("remote")

    def page():
        r = hp.get("/ui/clusters")
        assert r.status == 200, r
        return keep("page", r.text)

    # ---- the store is down: pending, attempts grow; then up: uploaded
    b1, j1 = take()
    rm = remote(b1)
    assert rm and rm["state"] == "pending" and rm["key"].startswith("offsite/") and rm["key"].endswith(".rdb"), rm
    assert "upload to bucket %s as %s queued" % (BUCKET, rm["key"]) in Hapanel.steps_text(j1), Hapanel.steps_text(j1)
    t0 = time.monotonic()
    wait_for(lambda: (remote(b1) or {}).get("attempts", 0) >= 2, 10, 0.1,
             msg=lambda: "two failed attempts within 10 s: %s" % remote(b1))
    rm = remote(b1)
    assert rm["state"] == "pending" and rm["error"] and rm["uploaded_at"] is None, rm
    log("store down: %d attempts in %.1f s, error %r" % (rm["attempts"], time.monotonic() - t0, rm["error"]))
    assert "upload pending" in page(), "the dashboard row does not say the upload is pending"
    s3.start()
    wait_for(lambda: (remote(b1) or {}).get("state") == "uploaded", 15, 0.1,
             msg=lambda: "uploaded within 15 s of the store's start: %s" % remote(b1))
    r1 = row(b1)
    rm = r1["remote"]
    assert rm["error"] is None and rm["uploaded_at"] and rm["attempts"] >= 3, rm
    log("uploaded after %d attempts: %s" % (rm["attempts"], rm["key"]))
    st, hdrs = s3.curl("HEAD", rm["key"])
    assert st == 200 and ("content-length: %d" % r1["size_bytes"]) in hdrs.lower(), (st, hdrs)
    dl = os.path.join(env.tmpdir, "remote1.rdb")
    st, _ = s3.curl("GET", rm["key"], out=dl)
    assert st == 200, st
    assert os.path.getsize(dl) == r1["size_bytes"] and sha256_of(dl) == r1["sha256"], \
        "the remote copy differs: %d bytes sha %s; catalogue %d %s" % (
            os.path.getsize(dl), sha256_of(dl), r1["size_bytes"], r1["sha256"])
    # ... and through hapanel (from=remote: fetched, checked against the catalogue, sent)
    st, _, size, sha = backup_download(hp, r1["download"] + "?from=remote", os.path.join(env.tmpdir, "via.rdb"))
    assert st == 200 and size == r1["size_bytes"] and sha == r1["sha256"], (st, size, sha)
    st, _, _, _ = backup_download(hp, r1["download"] + "?from=elsewhere", os.path.join(env.tmpdir, "x.rdb"))
    assert st == 400, st
    # a remote copy that is not the backup (a byte changed in the store) is refused
    obj = os.path.join(s3.dir, BUCKET, rm["key"] + "._S3rver_object")
    with open(obj, "r+b") as f:
        f.seek(100)
        c = f.read(1)
        f.seek(100)
        f.write(bytes([c[0] ^ 0xff]))
    r = hp.get(r1["download"] + "?from=remote")
    assert r.status == 502 and "is not backup %d" % b1 in r.body["error"]["message"], r
    with open(obj, "r+b") as f:
        f.seek(100)
        f.write(c)
    assert not [f for f in os.listdir(os.path.join(hp.data_dir, "backups")) if f.startswith(".remote-")]
    evs = hp.events(type="backup-uploaded", limit=10)["events"]
    keep("events uploaded", json.dumps(evs))
    assert any(("backup %d of" % b1) in e["message"] for e in evs), evs
    assert 'off-site' in page(), "the dashboard does not show the off-site copy"
    log("remote copy: same size, sha256 %s (curl --aws-sigv4 download)" % r1["sha256"][:16])

    # ---- a pending upload survives a restart (SIGKILL)
    s3.stop()
    b2, _ = take()
    wait_for(lambda: (remote(b2) or {}).get("attempts", 0) >= 1, 10, 0.1, msg=lambda: "attempt 1: %s" % remote(b2))
    hp.kill()
    s3.start()
    hp.start()
    wait_for(lambda: (remote(b2) or {}).get("state") == "uploaded", 20, 0.1,
             msg=lambda: "uploaded after the restart: %s" % remote(b2))
    key2 = remote(b2)["key"]
    log("after SIGKILL and restart: backup %d uploaded (%d attempts)" % (b2, remote(b2)["attempts"]))

    # ---- retention deletes the remote copy; DELETE too
    key1 = r1["remote"]["key"]
    b3, j3 = take()
    assert "retention: deleted backup %d" % b1 in Hapanel.steps_text(j3), Hapanel.steps_text(j3)
    wait_for(lambda: s3.curl("HEAD", key1)[0] == 404, 10, 0.2,
             msg=lambda: "the remote copy of the retired backup is still there: %s" % s3.curl("HEAD", key1)[0])
    wait_for(lambda: (remote(b3) or {}).get("state") == "uploaded", 10, 0.1, msg=lambda: "b3: %s" % remote(b3))
    r = hp.request("DELETE", "/api/v1/backups/%d" % b2, token=OPERATOR_TOKEN)
    assert r.status == 200, r
    wait_for(lambda: s3.curl("HEAD", key2)[0] == 404, 10, 0.2, msg=lambda: "DELETE left the remote copy")
    names = s3.object_keys()
    assert names == [remote(b3)["key"]], "objects in the store: %s, want only %s" % (names, remote(b3)["key"])
    log("retention and DELETE removed %s and %s from the store; left: %s" % (key1, key2, names))

    # ---- refusals
    r = hp.post("/api/v1/backups/999999/upload", {})
    assert r.status == 404 and r.body["error"], r
    r = hp.post("/api/v1/backups/%d/upload" % b3, {"reason": 5})
    assert r.status == 400, r
    r = hp.post("/api/v1/backups/%d/upload" % b3, {"bogus": "x"})
    assert r.status == 400, r
    r = hp.post("/api/v1/backups/%d/upload" % b3, {})
    assert r.status == 409 and "uploaded" in r.body["error"]["message"], r
    assert not [j for j in hp.jobs(cluster=NAME) if j["kind"] == "backup-upload"], "a refused upload queued a job"

    # ---- bad credentials: failed after max_attempts, event, alert, retry job
    hp.stop()
    hp.env_extra.update({"HAPANEL_S3_SECRET_KEY": WRONG, "HAPANEL_S3_MAX_ATTEMPTS": "3"})
    hp.start()
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 15)
    b4, _ = take()
    wait_for(lambda: (remote(b4) or {}).get("state") == "failed", 15, 0.1,
             msg=lambda: "failed after 3 attempts: %s" % remote(b4))
    rm = remote(b4)
    assert rm["attempts"] == 3 and "HTTP 403 SignatureDoesNotMatch" in rm["error"], rm
    evs = hp.events(type="backup-upload-failed", limit=10)["events"]
    keep("events failed", json.dumps(evs))
    assert any(("backup %d of" % b4) in e["message"] and e["severity"] == "warning" for e in evs), evs
    al = hp.json_ok("/api/v1/alerts?state=active").get("alerts") or []
    keep("alerts", json.dumps(al))
    assert any(a["rule"] == "backup_upload" for a in al), "no backup_upload alert open: %s" % al
    html = page()
    assert "upload failed" in html and 'data-act="upload-backup"' in html and 'data-backup="%d"' % b4 in html, \
        "the dashboard row has no failed upload / retry button"
    st, _, _, _ = backup_download(hp, row(b4)["download"] + "?from=remote", os.path.join(env.tmpdir, "x.rdb"))
    assert st == 409, "download from=remote of a failed copy -> %s" % st
    log("bad credentials: failed after 3 attempts (%s), alert open" % rm["error"])
    r = hp.post("/api/v1/backups/%d/upload" % b4, {"reason": "retry test"})
    assert r.status == 202, r
    jb = hp.wait_job(r.body["job_id"], 30, 0.1)
    keep("upload job 1", json.dumps(jb))
    assert jb["state"] == "failed" and "attempt 1 failed" in jb["error"] and "HTTP 403" in jb["error"], jb
    # its retries go on in the background, from attempt 1: failed again after 3
    wait_for(lambda: (remote(b4) or {}).get("state") == "failed", 15, 0.1, msg=lambda: "b4 %s" % remote(b4))
    assert remote(b4)["attempts"] == 3, remote(b4)
    hp.stop()
    hp.env_extra["HAPANEL_S3_SECRET_KEY"] = SECRET
    hp.start()
    time.sleep(1.5)  # a failed copy is not retried on its own, even with the right key
    assert remote(b4)["state"] == "failed" and s3.curl("HEAD", remote(b4)["key"])[0] == 404, remote(b4)
    r = hp.post("/api/v1/backups/%d/upload" % b4, {})
    assert r.status == 202, r
    jb = hp.wait_job(r.body["job_id"], 30, 0.1)
    keep("upload job 2", json.dumps(jb))
    assert jb["state"] == "succeeded" and jb["result"]["state"] == "uploaded" and \
        jb["result"]["attempts"] == 1, jb
    assert s3.curl("HEAD", remote(b4)["key"])[0] == 200
    wait_for(lambda: not [a for a in (hp.json_ok("/api/v1/alerts?state=active").get("alerts") or [])
                          if a["rule"] == "backup_upload"], 10, 0.2, msg=lambda: "backup_upload alert not resolved")
    log("with the right key: uploaded by the job, alert resolved")

    # ---- remote retention ([s3] keep_last 1 < [backup] keep_last 2) while
    # the store is down: the deletions wait and are retried, not forgotten
    key3 = remote(b3)["key"]
    hp.stop()
    hp.env_extra["HAPANEL_S3_KEEP_LAST"] = "1"
    s3.stop()
    hp.start()
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 15)
    b5, j5 = take()
    steps5 = Hapanel.steps_text(j5)
    assert "retention: deleted backup %d" % b3 in steps5 and \
        "remote retention: the copy of backup %d" % b4 in steps5, steps5
    wait_for(lambda: (remote(b4) or {}).get("error"), 10, 0.1, msg=lambda: "b4's deletion attempted: %s" % remote(b4))
    assert remote(b4)["state"] == "deleting" and row(b4) is not None, remote(b4)
    s3.start()
    wait_for(lambda: (remote(b4) or {}).get("state") == "deleted" and (remote(b5) or {}).get("state") == "uploaded",
             15, 0.1, msg=lambda: "after the store came back: b4 %s, b5 %s" % (remote(b4), remote(b5)))
    names = s3.object_keys()
    assert names == [remote(b5)["key"]], "objects: %s; %s (b3) and %s (b4) must be gone" % (
        names, key3, remote(b4)["key"])
    assert row(b4)["remote"]["error"] is None and "off-site deleted" in page(), row(b4)
    log("remote retention with the store down: deletions retried, done once it was up; left %s" % names)

    # ---- a store that accepts connections and never answers (a hung or
    # SIGSTOPped server): an upload and a GET .../download?from=remote
    # hang on it; SIGTERM still stops hapanel at once, cleanly (the
    # transfers are abandoned: the upload stays pending)
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    held = []
    env.on_cleanup(lambda: [c.close() for c in held + [hole]])

    def swallow():
        while True:
            try:
                held.append(hole.accept()[0])
            except OSError:
                return
    threading.Thread(target=swallow, daemon=True).start()
    hp.stop()
    hp.env_extra["HAPANEL_S3_ENDPOINT"] = "http://127.0.0.1:%d" % hole.getsockname()[1]
    hp.start()
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 15)
    got = {}
    url5 = row(b5)["download"] + "?from=remote"

    def fetch():
        got["r"] = hp.get(url5, timeout=120)
    t = threading.Thread(target=fetch, daemon=True)
    t.start()
    wait_for(lambda: len(held) >= 1, 10, 0.05, msg="the download reached the store")
    t2 = threading.Thread(target=lambda: hp.get(url5, timeout=120), daemon=True)
    t2.start()
    wait_for(lambda: len(held) >= 2, 10, 0.05, msg="the second download reached the store")
    r = hp.get(url5)  # a third while two hold their workers: refused at once
    assert r.status == 503 and "downloads from the object store are running" in r.body["error"]["message"], r
    b6, _ = take()  # (its remote retention retires b5's copy: the download goes on)
    wait_for(lambda: len(held) >= 3, 10, 0.05, msg=lambda: "the upload and the downloads reached the store: %d" % len(held))
    time.sleep(1.0)
    assert t.is_alive() and remote(b6)["state"] == "pending" and remote(b6)["attempts"] == 0, (got, remote(b6))
    t0 = time.monotonic()
    hp.stop(timeout=10)
    log("a store that never answers: SIGTERM with an upload and two downloads hanging on it: "
        "stopped in %.1f s" % (time.monotonic() - t0))
    t.join(10)
    hp.env_extra["HAPANEL_S3_ENDPOINT"] = s3.endpoint
    hp.start()
    assert remote(b6)["state"] in ("pending", "uploaded") and not [
        f for f in os.listdir(os.path.join(hp.data_dir, "backups")) if f.startswith(".remote-")], remote(b6)

    # ---- no secret anywhere
    for path in ("/api/v1/clusters/%s/backups" % NAME, "/api/v1/events?limit=500", "/api/v1/jobs?limit=200",
                 "/api/v1/alerts", "/metrics", "/ui/clusters"):
        r = hp.get(path)
        keep(path, r.text + json.dumps(dict(r.headers)))
    hp.stop()
    keep("log", hp.log_text())
    for f in sorted(os.listdir(hp.data_dir)):
        if f.startswith("hapanel.db"):
            with open(os.path.join(hp.data_dir, f), "rb") as fh:
                keep("database file " + f, fh.read().decode("latin-1"))
    for what, text in seen_texts.items():
        for sname, sv in (("secret key", SECRET), ("wrong secret key", WRONG), ("signature", "X-Amz-Signature"),
                          ("signature header", "Signature=")):
            assert sv not in text, "%s found in %s" % (sname, what)
    log("no secret in %d texts (%d bytes)" % (len(seen_texts), sum(len(t) for t in seen_texts.values())))


if __name__ == "__main__":
    ensure_s3rver()
    run_test(test, name="it_backup_s3.py", limit=150)
