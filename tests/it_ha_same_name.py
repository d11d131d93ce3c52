#!/usr/bin/env python3
"""it_ha_same_name: two panels of one fleet configured with the same [ha]
instance_name (a copied config file). Two instances of one name would each
take the other's claims for their own (a page sent twice, or by nobody), so
the second one to register is no candidate: it serves reads, follows the
leader, never leads, and its health says error instance_name_taken while the
first lives. The name belongs to the instance's data dir (a token kept
there): the first one restarted at once (SIGKILL, its old key not yet
expired) takes its name back at once (never refused) and leads again once
its old leader key's lease runs out; when it is
stopped for good, the second takes the name within TTL + 2 s and can lead.
Lease TTL 3 s, three etcd members on loopback; the Sentinel address is a
closed port (the lease is tested, not Redis)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import log, run_test, wait_for  # noqa: E402
from harness.checks import Checks  # noqa: E402
from harness.etcd import NoRedis, ha_env, ha_of, leaders, require_etcd  # noqa: E402

TTL = 3
check = Checks()


def test(env):
    require_etcd()
    etcd = env.etcd(3)
    a = env.hapanel(NoRedis(), start=False, ha=ha_env(etcd, "twin", ttl=TTL))
    b = env.hapanel(NoRedis(), start=False, ha=ha_env(etcd, "twin", ttl=TTL))
    a.start()
    wait_for(lambda: leaders([a]) == [a], 10, 0.05, msg="the first twin leads")
    b.start()
    hb = {}

    def b_refused():
        hb["h"] = ha_of(b)
        return hb["h"] and hb["h"].get("error") == "instance_name_taken"
    wait_for(b_refused, 10, 0.1, msg=lambda: "the second twin says instance_name_taken: %r"
             % hb.get("h"))
    check(hb["h"].get("role") == "follower" and (hb["h"].get("leader") or {}).get("url") == a.base,
          "the second twin follows the first: %r" % hb["h"])
    check("error" not in (ha_of(a) or {}), "the first twin has no error: %r" % ha_of(a))
    check(b.get("/api/v1/clusters").status == 200, "the second twin serves reads")
    check("held by another live instance" in b.log_text(), "the second twin logs why")
    key = etcd.get_json("hapanel/instances/twin") or {}
    check(key.get("url") == a.base, "instances/twin is the first's: %r" % key)

    # The first killed and restarted at once: its own name back, no TTL wait.
    a.kill()
    t0 = time.monotonic()
    a.start()
    wait_for(lambda: leaders([a, b]) == [a], TTL + 4, 0.05, msg="the restarted first twin leads")
    back = time.monotonic() - t0
    ha_a = ha_of(a) or {}
    check("error" not in ha_a, "the restarted first twin is not refused: %r" % ha_a)
    log("the first twin, SIGKILLed and restarted, leads again %.2f s after the restart" % back)
    samples = []
    for _ in range(20):  # never two leaders, never the second
        samples.append([p.ha_name + ("a" if p is a else "b") for p in leaders([a, b])])
        time.sleep(0.1)
    check(all(s == ["twina"] for s in samples), "only the first twin leads: %r" % samples)
    check((ha_of(b) or {}).get("error") == "instance_name_taken",
          "the second twin is still refused: %r" % ha_of(b))

    # The first stopped for good: the name is free, the second takes it.
    a.stop()
    t0 = time.monotonic()
    wait_for(lambda: leaders([b]) == [b], TTL + 2, 0.05, msg="the second twin leads")
    log("the second twin leads %.2f s after the first stopped" % (time.monotonic() - t0))
    check("error" not in (ha_of(b) or {}), "the second twin is no longer refused: %r" % ha_of(b))
    check.done()


if __name__ == "__main__":
    run_test(test)
