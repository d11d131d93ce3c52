#!/usr/bin/env python3
"""it_auth_dashboard: the dashboard page is served (HTML with htmx), and the
dashboard fragments need a token like the API: 401 without, 200 HTML naming
the master with the viewer token."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402


def is_html(r):
    return (r.headers.get("Content-Type") or "").split(";")[0].strip().lower() == "text/html"


def test(env):
    topo = env.topology()
    hp = env.hapanel(topo)
    master = topo.current_master()

    r = hp.get("/", token=None)
    assert r.status == 200, "GET / -> %d %r" % (r.status, r.text[:200])
    assert is_html(r), "GET / Content-Type %r, want text/html" % r.headers.get("Content-Type")
    assert "htmx" in r.text, "GET / does not mention htmx: %r" % r.text[:300]

    r = hp.get("/ui/clusters", token=None)
    assert r.status == 401, "GET /ui/clusters without a token -> %d, want 401: %r" % (r.status, r.text[:200])
    r = hp.get("/ui/clusters", token="nosuchtoken")
    assert r.status == 401, "GET /ui/clusters with an unknown token -> %d, want 401" % r.status

    last = {}

    def shows_master():
        last["r"] = hp.get("/ui/clusters")
        return last["r"].status == 200 and master in last["r"].text
    wait_for(shows_master, 5, 0.2, msg=lambda: "GET /ui/clusters (viewer) -> 200 HTML naming master %s; got %r"
             % (master, last.get("r")))
    r = last["r"]
    assert is_html(r), "GET /ui/clusters Content-Type %r, want text/html" % r.headers.get("Content-Type")
    log("dashboard ok (%d bytes of /ui/clusters)" % len(r.raw))


if __name__ == "__main__":
    run_test(test)
