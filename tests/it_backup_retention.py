#!/usr/bin/env python3
"""it_backup_retention: retention (keep_last, keep_days) and the backup
schedule's "a schedule missed while hapanel was down runs at start".

1 master + 1 replica + 1 Sentinel, 20,000 keys by pipelined writes.
  - keep_last: HAPANEL_BACKUP_KEEP_LAST=2, no schedule; three backups in a
    row -> the list has the newest two; the third job's steps name the oldest
    as deleted "beyond keep_last"; its file is gone from the backup dir, the
    newest two files remain, no *.partial; its download -> 404.
  - missed schedule: hapanel stopped; the catalogue's created_at of every
    backup is moved 3 minutes back in hapanel.db (sqlite) — as if the last
    backup had been taken before hapanel went down, and at least one
    1-minute boundary had passed meanwhile; restarted with
    HAPANEL_BACKUP_INTERVAL_MINUTES=1 and HAPANEL_BACKUP_DAILY_AT="" at a
    moment when no minute boundary falls in the next 15 s -> within 10 s a
    backup job with actor "scheduler" is queued and succeeds, the log says
    "scheduled backup of mymaster queued", a new backup is first in the list
    and keep_last still holds (2 rows). Only the restart can have caused it:
    no boundary passed while this hapanel ran. With
    HAPANEL_IT_REAL_CLOCK=1 the catalogue is not touched: the test waits
    (<= 65 s) for the next real minute boundary while hapanel is down.
  - keep_days: stopped again; the older of the two rows moved 3 days back;
    restarted with KEEP_LAST=0, KEEP_DAYS=1, no schedule; one more backup ->
    the aged one is deleted "older than keep_days" (file and row), the other
    two remain."""

import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hapanel, backup_download, backup_list, fill_varied, log, run_test, wait_for  # noqa: E402

NAME = "mymaster"
KEYS = 20000
DAY_MS = 86400 * 1000


def take(hp):
    r = hp.post("/api/v1/clusters/%s/backups" % NAME, {})
    assert r.status == 202, "POST backups -> %r" % r
    jb = hp.wait_job(r.body["job_id"], 60, 0.05)
    assert jb["state"] == "succeeded", "backup job %s failed: %s\n%s" % (
        jb["id"], jb.get("error"), Hapanel.steps_text(jb))
    return jb


def files_by_job(bdir):
    """{job id: file name} of the *.rdb files; asserts there is no other file."""
    out = {}
    names = sorted(os.listdir(bdir))
    for f in names:
        assert f.endswith(".rdb"), "unexpected file in the backup dir: %s (all: %s)" % (f, names)
        out[int(f[:-4].rsplit("-", 1)[1])] = f
    return out


def db_exec(hp, sql, args=()):
    """Runs one statement on hapanel's catalogue while hapanel is stopped."""
    assert not hp.running(), "hapanel must be stopped to edit its database"
    con = sqlite3.connect(os.path.join(hp.data_dir, "hapanel.db"), timeout=5)
    try:
        cur = con.execute(sql, args)
        con.commit()
        return cur.rowcount
    finally:
        con.close()


def test(env):
    topo = env.topology(replicas=1, sentinels=1, quorum=1)
    master = topo.initial_master()
    with topo.client(master, timeout=30) as c:
        fill_varied(c, KEYS)
    topo.wait_in_sync(master, 30)
    hp = env.hapanel(topo, env_extra={"HAPANEL_BACKUP_KEEP_LAST": "2", "HAPANEL_BACKUP_KEEP_DAYS": "0",
                                      "HAPANEL_BACKUP_DAILY_AT": "", "HAPANEL_BACKUP_INTERVAL_MINUTES": "0"})
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 15)
    bdir = os.path.join(hp.data_dir, "backups")

    # ---- keep_last = 2
    jobs = [take(hp) for _ in range(3)]
    ids = [j["result"]["backup_id"] for j in jobs]
    rows = backup_list(hp)
    assert [r["id"] for r in rows] == [ids[2], ids[1]], "after 3 backups with keep_last 2: %s (ids %s)" % (
        [r["id"] for r in rows], ids)
    steps3 = Hapanel.steps_text(jobs[2])
    assert "retention: deleted backup %d of" % ids[0] in steps3 and "beyond keep_last" in steps3, steps3
    for j in jobs[:2]:
        assert "retention" not in Hapanel.steps_text(j), Hapanel.steps_text(j)
    fj = files_by_job(bdir)
    assert sorted(fj) == sorted([jobs[1]["id"], jobs[2]["id"]]), \
        "backup dir after keep_last: %s; want the files of jobs %s" % (fj, [jobs[1]["id"], jobs[2]["id"]])
    st, _, _, _ = backup_download(hp, "/api/v1/backups/%d/download" % ids[0],
                                  os.path.join(env.tmpdir, "gone.rdb"))
    assert st == 404, "download of the deleted oldest -> %s" % st
    for r in rows:
        st, _, size, sha = backup_download(hp, r["download"], os.path.join(env.tmpdir, "k.rdb"))
        assert st == 200 and size == r["size_bytes"] and sha == r["sha256"], (st, size, sha, r)
    log("keep_last 2: backups %s -> list %s, file of job %d deleted" % (ids, [r["id"] for r in rows],
                                                                          jobs[0]["id"]))

    # ---- a schedule missed while hapanel was down runs at start
    hp.stop()
    newest_created = rows[0]["created_at"]
    if os.environ.get("HAPANEL_IT_REAL_CLOCK") == "1":
        boundary = (newest_created // 60000 + 1) * 60000
        wait_s = boundary / 1000.0 - time.time() + 0.5
        log("waiting %.1f s for the minute boundary after the last backup (hapanel down)" % wait_s)
        assert wait_s < 66, wait_s
        time.sleep(max(0.0, wait_s))
    else:
        n = db_exec(hp, "UPDATE backups SET created_at = created_at - 180000")
        assert n == 2, "aged %d rows" % n
        # no real minute boundary in the window checked below, so that only
        # the restart can trigger the backup
        sec = time.time() % 60
        if sec > 44:
            log("at second %.1f of the minute: waiting for the next minute" % sec)
            time.sleep(61 - sec)
    hp.env_extra["HAPANEL_BACKUP_INTERVAL_MINUTES"] = "1"
    t_start_ms = int(time.time() * 1000)
    hp.start()
    seen = {}

    def scheduled():
        js = seen["j"] = hp.jobs(cluster=NAME)
        return [j for j in js if j["actor"] == "scheduler"]
    sj = wait_for(scheduled, 10, 0.1, msg=lambda: "a job with actor scheduler within 10 s of the restart "
                  "(jobs: %s)" % [(j["id"], j["kind"], j["actor"]) for j in seen.get("j", [])])
    assert len(sj) == 1 and sj[0]["kind"] == "backup", sj
    sjob = hp.wait_job(sj[0]["id"], 60, 0.05)
    assert sjob["state"] == "succeeded", "scheduled backup failed: %s\n%s" % (
        sjob.get("error"), Hapanel.steps_text(sjob))
    assert sjob["reason"] == "scheduled backup", sjob["reason"]
    lag = sjob["created_at"] - t_start_ms
    assert sjob["created_at"] // 60000 == t_start_ms // 60000 or os.environ.get("HAPANEL_IT_REAL_CLOCK") == "1", \
        "the scheduled job was created at %d, in another minute than the restart (%d)" % (
            sjob["created_at"], t_start_ms)
    assert "scheduled backup of %s queued as job %d" % (NAME, sjob["id"]) in hp.log_since_start(), \
        hp.log_since_start()[-2000:]
    rows2 = backup_list(hp)
    assert [r["id"] for r in rows2] == [sjob["result"]["backup_id"], ids[2]], \
        "after the scheduled backup: %s" % [(r["id"], r["job_id"]) for r in rows2]
    fj = files_by_job(bdir)
    assert sorted(fj) == sorted([jobs[2]["id"], sjob["id"]]), fj
    log("missed schedule: job %d (actor scheduler) queued %d ms after the restart; list %s" % (
        sjob["id"], lag, [r["id"] for r in rows2]))
    hp.stop()  # before the next minute boundary schedules another

    # ---- keep_days = 1
    old = rows2[1]
    assert db_exec(hp, "UPDATE backups SET created_at = created_at - ? WHERE id = ?", (3 * DAY_MS, old["id"])) == 1
    hp.env_extra.update({"HAPANEL_BACKUP_INTERVAL_MINUTES": "0", "HAPANEL_BACKUP_KEEP_LAST": "0",
                         "HAPANEL_BACKUP_KEEP_DAYS": "1"})
    hp.start()
    hp.wait_nodes_up([master] + topo.initial_replicas(), NAME, 15)
    jd = take(hp)
    sd = Hapanel.steps_text(jd)
    assert "retention: deleted backup %d of" % old["id"] in sd and "older than keep_days" in sd, sd
    rows3 = backup_list(hp)
    assert [r["id"] for r in rows3] == [jd["result"]["backup_id"], rows2[0]["id"]], \
        [(r["id"], r["created_at"]) for r in rows3]
    fj = files_by_job(bdir)
    assert sorted(fj) == sorted([sjob["id"], jd["id"]]), fj
    log("keep_days 1: backup %d (3 days old) deleted; list %s" % (old["id"], [r["id"] for r in rows3]))


if __name__ == "__main__":
    os.environ.setdefault("HAPANEL_IT_LIMIT", "150")
    run_test(test)
