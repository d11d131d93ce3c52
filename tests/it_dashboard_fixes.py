#!/usr/bin/env python3
"""it_dashboard_fixes: the dashboard's fixes of issue 13 on a real 1+2+3
topology. The cluster card draws the topology (six boxes, the killed replica
red within 3 s, its arrow broken); the three Sentinels' +sdown of the killed
replica is one event row naming the three, in words; the replica_down
alert's start is when the replica died, not when the rule fired 3 s later;
while the alert stays active after the replica came back, the cluster badge
is not green although the topology is ok, and the alert's resolution has a
"resolved" badge; quorum reads "3 of 3 Sentinels up, 2 needed"; History and
GET /api/v1/events filter by type prefix, several types, severity and node
(every History table), bad filters get a 400. In headless Chromium (driven
over the DevTools pipe, no extra package) at 390 px: no horizontal scroll,
"forget token" on screen, the failover dialog and its confirm button inside
the screen, Enter in the dialog's fields starts no failover, a viewer sees
no action button and its role, and the History tables refresh themselves
while what is typed in the filter form and its focus stay."""

import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import OPERATOR_TOKEN, VIEWER_TOKEN, log, run_test, wait_for  # noqa: E402

NAME = "mymaster"


def event_rows(html):
    """The <tr class="event ..."> rows of every events table in html."""
    return re.findall(r'<tr class="event [^"]*"[^>]*>.*?</tr>', html, re.S)


def section(html):
    m = re.search(r'<section class="cluster st-(\w+)" data-cluster="%s">' % NAME, html)
    return m.group(1) if m else None


def events_table(html):
    i = html.find('<table class="events"')
    assert i >= 0, "no events table in: %s" % html[:300]
    return html[i:html.find("</table>", i)]


# --- headless Chromium over --remote-debugging-pipe ---------------------------

class Browser:
    """Chromium with the DevTools protocol on fds 3 (commands in) and 4
    (answers out): JSON messages ended by NUL."""

    def __init__(self, exe, tmp):
        self.to_r, self.to_w = os.pipe()
        self.from_r, self.from_w = os.pipe()
        prof = os.path.join(tmp, "chromium-profile")
        os.makedirs(prof, exist_ok=True)

        def fds():  # in the child: the pipe ends on 3 and 4, kept across exec
            a = fcntl.fcntl(self.to_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(self.from_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)
        self.p = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--remote-debugging-pipe",
             "--user-data-dir=" + prof, "--window-size=390,844", "about:blank"],
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "chromium.log"), "wb"))
        os.close(self.to_r)
        os.close(self.from_w)
        self.buf = b""
        self.seq = 0

    def _read_msg(self, deadline):
        while b"\0" not in self.buf:
            if time.monotonic() > deadline:
                raise AssertionError("Chromium did not answer in time")
            r, _, _ = select.select([self.from_r], [], [], 0.5)
            if r:
                chunk = os.read(self.from_r, 1 << 16)
                if not chunk:
                    raise AssertionError("Chromium closed its DevTools pipe")
                self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=15):
        self.seq += 1
        m = {"id": self.seq, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        os.write(self.to_w, json.dumps(m).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            r = self._read_msg(deadline)
            if r.get("id") == self.seq:
                if "error" in r:
                    raise AssertionError("%s: %s" % (method, r["error"]))
                return r.get("result", {})

    def page(self, url):
        t = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = self.call("Target.attachToTarget", {"targetId": t, "flatten": True})["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}, s)
        self.call("Page.enable", {}, s)
        self.call("Page.navigate", {"url": url}, s)
        return Page(self, s)

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - it is going away anyway
            pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


class Page:
    def __init__(self, b, session):
        self.b = b
        self.s = session

    def js(self, expr):
        r = self.b.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                             "awaitPromise": True}, self.s)
        if "exceptionDetails" in r:
            raise AssertionError("script failed: %s: %s" % (expr[:80], r["exceptionDetails"]))
        return r.get("result", {}).get("value")

    def wait(self, expr, timeout, msg):
        return wait_for(lambda: self.js(expr), timeout, 0.1, msg=msg)

    def key(self, key, code, vk, text=""):
        for t in ("keyDown", "keyUp"):
            p = {"type": t, "key": key, "code": code, "windowsVirtualKeyCode": vk}
            if t == "keyDown" and text:
                p["text"] = text
            self.b.call("Input.dispatchKeyEvent", p, self.s)

    def type_text(self, text):
        self.b.call("Input.insertText", {"text": text}, self.s)


def chromium():
    for exe in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(exe)
        if p:
            return p
    return None


WIDTH = """(() => ({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,
                 view: window.innerWidth}))()"""


def browser_checks(hp, topo, tmp):
    exe = chromium()
    if not exe:
        r = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True)
        exe = chromium()
        if not exe:
            raise AssertionError("no Chromium, and apt-get install chromium failed: %s" %
                                 r.stderr.decode(errors="replace")[-400:])
    br = Browser(exe, tmp)
    try:
        pg = br.page(hp.base + "/#token=" + OPERATOR_TOKEN)
        pg.wait("document.querySelectorAll('svg.topo g.tnode').length === 6", 15,
                "the topology drawn with six boxes in Chromium")
        pg.wait("!document.body.classList.contains('cannot-act')", 5, "the operator's role known")
        w = pg.js(WIDTH)
        log("Live at 390 px: %r" % w)
        # the phone's layout viewport grows to the content, so the screen's 390 px it is
        assert w["doc"] <= 390 and w["body"] <= 390 and w["view"] == 390, \
            "horizontal scroll at 390 px: %r" % w
        r = pg.js("""(() => { const b = document.getElementById('forget').getBoundingClientRect();
                      return {l: b.left, r: b.right, t: b.top, w: b.width,
                              hidden: document.getElementById('forget').hidden}; })()""")
        assert not r["hidden"] and r["w"] > 0 and r["l"] >= 0 and r["r"] <= 390, \
            "forget token not on screen at 390 px: %r" % r
        who = pg.js("document.getElementById('who').textContent")
        assert "role: operator" in who, "the role is not shown: %r" % who
        n = pg.js("""[...document.querySelectorAll('[data-needs]')]
                     .filter(e => getComputedStyle(e).display !== 'none').length""")
        assert n >= 6, "an operator is offered %r action buttons" % n

        # the failover dialog fits, its confirm button is on screen; Enter confirms nothing
        pg.js("document.querySelector('button[data-act=failover]').click()")
        pg.wait("document.getElementById('actdlg').open", 5, "the failover dialog opens")
        time.sleep(0.5)  # the dry run fills the checks in
        d = pg.js("""(() => { const d = document.getElementById('actdlg').getBoundingClientRect();
                      const g = document.getElementById('actgo').getBoundingClientRect();
                      return {dl: d.left, dr: d.right, gl: g.left, gr: g.right, gt: g.top,
                              gb: g.bottom, vh: window.innerHeight, sw: document.documentElement.scrollWidth}; })()""")
        log("failover dialog at 390 px: %r" % d)
        assert d["dl"] >= 0 and d["dr"] <= 390, "the dialog is wider than the screen: %r" % d
        assert 0 <= d["gl"] and d["gr"] <= 390 and 0 <= d["gt"] and d["gb"] <= d["vh"], \
            "the confirm button is not on screen: %r" % d
        jobs_before = len(hp.jobs())
        for field in ("actreason", "actpause", "actmode", "acttarget"):
            pg.js("document.getElementById('%s').focus()" % field)
            if field == "actreason":
                pg.type_text("enter must not confirm")
            pg.key("Enter", "Enter", 13, "\r")
        time.sleep(1.5)
        assert pg.js("document.getElementById('actdlg').open"), "Enter closed the dialog"
        jobs_after = hp.jobs()
        assert len(jobs_after) == jobs_before, "Enter started a job: %r" % jobs_after[:1]
        assert topo.current_master() == topo.initial_master(), "the master changed"
        pg.js("document.getElementById('actcancel').click()")

        # History: the tables refresh themselves, the form keeps what is typed and its focus
        pg.js("document.getElementById('tab-history').click()")
        pg.wait("!!document.getElementById('htables')", 10, "the History tables load")
        w = pg.js(WIDTH)
        assert w["doc"] <= 390 and w["view"] == 390, "History scrolls sideways at 390 px: %r" % w
        pg.js("document.getElementById('htables').dataset.old = '1'")
        pg.js("document.querySelector('#hfilters input[name=type]').focus()")
        pg.type_text("sdo")
        pg.wait("!!document.getElementById('htables') && !document.getElementById('htables').dataset.old",
                9, "the History tables refreshed by themselves within 9 s")
        st = pg.js("""(() => { const i = document.querySelector('#hfilters input[name=type]');
                      return {v: i.value, focus: document.activeElement === i}; })()""")
        assert st == {"v": "sdo", "focus": True}, "the filter form lost what was typed or its focus: %r" % st

        # a viewer: its role shown, no action offered
        pg2 = br.page(hp.base + "/#token=" + VIEWER_TOKEN)
        pg2.wait("document.querySelectorAll('svg.topo g.tnode').length === 6", 15, "viewer page drawn")
        pg2.wait("document.getElementById('who').textContent.indexOf('role: viewer') >= 0", 5,
                 "the viewer's role shown")
        n = pg2.js("""[...document.querySelectorAll('button.act, [data-needs]')]
                      .filter(e => getComputedStyle(e).display !== 'none').length""")
        assert n == 0, "a viewer is offered %d action buttons" % n
    finally:
        br.close()


def test(env):
    topo = env.topology()
    hp = env.hapanel(topo, env_extra={"HAPANEL_ALERT_REPLICA_DOWN_S": "3",
                                      "HAPANEL_ALERT_RESOLVE_AFTER_S": "6"})
    master = topo.current_master()
    victim, other = topo.initial_replicas()
    hp.wait_nodes_up([master, victim, other], NAME, 10)

    html = hp.get("/ui/clusters").text
    assert html.count('<svg class="topo" role="img" aria-label="%s topology: ' % NAME) == 1, html[:400]
    assert len(re.findall(r'<g class="tnode st-ok" data-addr="[^"]+" data-role="(?:master|replica|sentinel)">',
                          html)) == 6, "six green boxes expected"
    assert html.count('<g class="tlink"') == 2, "two replication arrows expected"
    assert "3 of 3 Sentinels up, 2 needed" in html and "3/2" not in html, "quorum not in words"
    assert section(html) == "ok", section(html)

    t_kill = time.time()
    topo.kill(victim)
    log("killed replica %s" % victim)

    def drawn_down():
        h = hp.get("/ui/clusters").text
        return ('<g class="tnode st-down" data-addr="%s" data-role="replica">' % victim in h
                and '<g class="tlink broken"' in h)
    wait_for(drawn_down, 3, 0.1, msg="the killed replica drawn red with a broken arrow within 3 s")
    log("drawn down after %.2f s" % (time.time() - t_kill))

    # three Sentinels report +sdown: stored three times, shown once with the three
    seen = {}

    def three_sdowns():
        evs = hp.events(cluster=NAME, node=victim, limit=100).get("events") or []
        seen["src"] = sorted({e["source"] for e in evs if e["type"] == "+sdown"})
        return len(seen["src"]) == 3
    wait_for(three_sdowns, 10, 0.2, msg=lambda: "+sdown from 3 Sentinels: %s" % seen.get("src"))
    html = hp.get("/ui/clusters").text
    rows = [r for r in event_rows(html) if ">+sdown<" in r and victim in r]
    assert len(rows) == 1, "the +sdown of %s is %d rows: %s" % (victim, len(rows), rows)
    assert 'data-reporters="3"' in rows[0], rows[0]
    assert "is not answering (subjectively down)" in rows[0], rows[0]
    for s in topo.sentinel_addrs:
        assert s in rows[0], "Sentinel %s not named in %s" % (s, rows[0])

    # the alert starts when the replica died, not when the rule fired (3 s later)
    def alert():
        al = hp.get("/api/v1/alerts?state=active").body
        got = [a for a in al.get("alerts") or [] if a["rule"] == "replica_down" and a["node"] == victim]
        return got[0] if got else None
    a = wait_for(alert, 8, 0.2, msg="a replica_down alert for %s" % victim)
    log("alert: started_at %.3f fired_at %.3f (killed %.3f)" % (a["started_at"] / 1000.0, a["fired_at"] / 1000.0,
                                                                  t_kill))
    assert t_kill * 1000 - 500 <= a["started_at"] <= t_kill * 1000 + 2000, \
        "started_at %d is not the replica's death (%d)" % (a["started_at"], t_kill * 1000)
    assert a["fired_at"] - a["started_at"] >= 2700, "fired %d ms after it started" % (a["fired_at"] - a["started_at"])
    html = hp.get("/ui/clusters").text
    assert "since " in html and "after 3." in html, "the strip does not say when it fired"

    # History and the REST filters
    h = hp.get("/ui/history?cluster=%s&type=sdown" % NAME).text
    types = set(re.findall(r'<td class="type"[^>]*>([^<]+)</td>', events_table(h)))
    assert types and types <= {"+sdown", "-sdown"}, "type=sdown shows %s" % types
    assert "no failover matches" in h and "no alert matches" in h, "type=sdown filtered no other table"
    h = hp.get("/ui/history?cluster=%s&type=sdown,node&severity=warning" % NAME).text
    types = set(re.findall(r'<td class="type"[^>]*>([^<]+)</td>', events_table(h)))
    assert "node-down" in types and "+sdown" in types and "-sdown" not in types, types
    h = hp.get("/ui/history?cluster=%s&type=replica&node=%s" % (NAME, urllib.parse.quote(victim))).text
    assert h.count('<tr class="alertrow') == 1 and ">replica_down<" in h, "the alert by rule prefix"
    assert hp.get("/ui/history?severity=loud").status == 400
    evs = hp.events(cluster=NAME, type="sdown", limit=200)["events"]
    assert evs and {e["type"] for e in evs} <= {"+sdown", "-sdown"}, {e["type"] for e in evs}
    evs = hp.events(cluster=NAME, type="+sdown,node-d", limit=200)["events"]
    assert {e["type"] for e in evs} == {"+sdown", "node-down"}, {e["type"] for e in evs}
    evs = hp.events(cluster=NAME, severity="warning,critical", limit=200)["events"]
    assert evs and all(e["severity"] in ("warning", "critical") for e in evs)
    ids = [e["id"] for e in evs]
    assert ids == sorted(ids, reverse=True), "the merged pages are not newest first"
    page = hp.events(cluster=NAME, severity="warning,critical", limit=2)
    assert len(page["events"]) == 2 and page["next_before"] == page["events"][1]["id"], page
    r = hp.get("/api/v1/events?severity=loud")
    assert r.status == 400 and "severity" in r.body["error"]["message"], r
    r = hp.get("/api/v1/events?type=" + ",".join("t%d" % i for i in range(9)))
    assert r.status == 400 and "type" in r.body["error"]["message"], r

    # back up: the topology is ok, the alert still active (6 s to resolve): not green
    topo.restart(victim)
    log("restarted %s" % victim)

    def topo_ok_alert_active():
        c = hp.clusters()["clusters"][0]
        return c["status"] == "ok" and alert() is not None
    wait_for(topo_ok_alert_active, 15, 0.2, msg="the topology ok again with the alert still active")
    html = hp.get("/ui/clusters").text
    assert section(html) == "degraded", "cluster drawn %r with an active alert" % section(html)
    assert 'title="the topology is ok; 1 alert is active (0 critical, 1 warning)">degraded' in html

    def resolved():
        return alert() is None and section(hp.get("/ui/clusters").text) == "ok"
    wait_for(resolved, 15, 0.2, msg="the alert resolved and the cluster green again")
    html = hp.get("/ui/clusters").text
    rows = [r for r in event_rows(html) if ">alert-resolved<" in r]
    assert rows and 'class="badge sev-resolved"' in rows[0] and "sev-critical" not in rows[0], rows[:1]

    with tempfile.TemporaryDirectory(prefix="hapanel-chromium-") as tmp:
        browser_checks(hp, topo, tmp)


if __name__ == "__main__":
    run_test(test)
