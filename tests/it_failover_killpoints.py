#!/usr/bin/env python3
"""it_failover_killpoints: hapanel killed after each step of a graceful
switchover that changes something; the restarted hapanel finishes or undoes
it, 0 acknowledged writes lost. See killpoints.py for what is checked."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import killpoints  # noqa: E402
from harness import run_test  # noqa: E402

POINTS = ["after-steer", "after-write-fence", "after-pause", "after-catch-up",
          "after-failover-sent", "after-promotion", "after-fence", "after-unpause", "after-agree"]
REQUESTED = {"after-failover-sent", "after-promotion", "after-fence", "after-unpause", "after-agree"}

if __name__ == "__main__":
    run_test(lambda env: killpoints.run(env, "graceful", POINTS, REQUESTED,
                                        target_points={"after-steer"}), limit=280)
