#!/usr/bin/env python3
"""it_sentinel_groups_sentinel_addr: two sites may announce the same Sentinel
address (10.0.0.5:26379 behind two NATs), as they may a node's
(it_sentinel_groups_same_addr). Here Sentinel 0 of each of two groups
announces 127.0.0.99:P (SENTINEL CONFIG SET announce-ip/-port; nothing
listens there), and each group's address map sends it to its own Sentinel.
hapanel is seeded with Sentinels 1 and 2 of each group only, so it discovers
127.0.0.99:P from both groups' SENTINEL SENTINELS. Sentinels are keyed by
(group, address): east1 and west1 each show 3 Sentinels, among them
127.0.0.99:P up and reached at their own Sentinel 0; neither group loses it
to the other ("also named by the Sentinels of group ...: ignored there" is
for one Sentinel reached at one address from two groups), and
redis_sentinel_masters has one series a group for that address."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port, log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402


def test(env):
    check = Checks()
    east = env.topology(masters=("east1",))
    west = env.topology(masters=("west1",))
    fake = "127.0.0.99:%d" % free_port()
    ip, port = fake.rsplit(":", 1)
    e0, w0 = east.sentinel_addrs[0], west.sentinel_addrs[0]
    for topo, s0 in ((east, e0), (west, w0)):
        with topo.client(s0) as c:
            c.cmd("SENTINEL", "CONFIG", "SET", "announce-ip", ip)
            c.cmd("SENTINEL", "CONFIG", "SET", "announce-port", port)
    log("Sentinels %s (east) and %s (west) both announce %s" % (e0, w0, fake))

    def others_name_fake(topo):
        try:
            with topo.client(topo.sentinel_addrs[1]) as c:
                r = c.cmd("SENTINEL", "SENTINELS", topo.master_name)
        except Exception:  # noqa: BLE001
            return False
        addrs = []
        for e in r or []:
            d = dict(zip(e[::2], e[1::2]))
            d = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                 for k, v in d.items()}
            addrs.append("%s:%s" % (d.get("ip"), d.get("port")))
        return fake in addrs

    wait_for(lambda: others_name_fake(east) and others_name_fake(west), 20,
             msg="each group's other Sentinels name %s" % fake)
    hp = env.hapanel(east, config_text=west.group_section(
                         "west", west.sentinel_addrs[1:], address_map="%s=%s" % (fake, w0)),
                     env_extra={"REDIS_SENTINEL_HOSTS": ",".join(east.sentinel_addrs[1:]),
                                "HAPANEL_ADDRESS_MAP": "%s=%s" % (fake, e0)})

    def fake_of(name):
        r = hp.get("/api/v1/clusters/%s" % name)
        c = r.body if r.status == 200 and isinstance(r.body, dict) else {}
        return next((s for s in c.get("sentinels", []) if s.get("addr") == fake), None), c

    def both_show():
        out = {}
        for name in ("east1", "west1"):
            s, _ = fake_of(name)
            if not s or not s.get("up"):
                return None
            out[name] = s
        return out

    got = wait_for(both_show, 20, msg="east1 and west1 each show Sentinel %s up: east1 %s, west1 %s"
                   % (fake, fake_of("east1")[0], fake_of("west1")[0]))
    for _ in range(6):  # stays so: neither group's discovery takes it from the other
        time.sleep(0.5)
        check(both_show() is not None, "both clusters keep Sentinel %s" % fake)
    for name, s0, topo in (("east1", e0, east), ("west1", w0, west)):
        check(got[name].get("reached_at") == s0, "%s's Sentinel %s is reached at %s: %r"
              % (name, fake, s0, got[name].get("reached_at")))
        _, c = fake_of(name)
        sens = sorted(s.get("addr") for s in c.get("sentinels", []))
        want = sorted([fake] + topo.sentinel_addrs[1:])
        check(sens == want, "%s's Sentinels are its own 3: %s (want %s)" % (name, sens, want))
    log_text = hp.log_text()
    check("ignored there" not in log_text,
          "no 'ignored there' warning for two Sentinels announcing one address: %s"
          % [ln for ln in log_text.splitlines() if "ignored there" in ln])
    # /metrics: the two Sentinels of one address are two series, one a group
    series = [ln for ln in hp.get("/metrics").text.splitlines()
              if ln.startswith('redis_sentinel_masters{addr="%s"' % fake)]
    check(sorted(series) == sorted(['redis_sentinel_masters{addr="%s",group="%s"} 1' % (fake, g)
                                    for g in ("default", "west")]),
          "redis_sentinel_masters of %s, one series a group: %s" % (fake, series))
    check.done()


if __name__ == "__main__":
    run_test(test)
