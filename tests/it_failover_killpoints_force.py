#!/usr/bin/env python3
"""it_failover_killpoints_force: hapanel killed after each step of a forced
failover that changes something; the restarted hapanel finishes or undoes
it, 0 acknowledged writes lost. See killpoints.py for what is checked."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import killpoints  # noqa: E402
from harness import run_test  # noqa: E402

POINTS = ["after-write-fence", "after-pause", "after-failover-sent", "after-promotion", "after-fence",
          "after-agree"]
REQUESTED = {"after-failover-sent", "after-promotion", "after-fence", "after-agree"}

if __name__ == "__main__":
    run_test(lambda env: killpoints.run(env, "force", POINTS, REQUESTED), limit=200)
