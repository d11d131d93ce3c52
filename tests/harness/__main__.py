"""python3 -m harness selftest (from tests/) — runs the harness's check of
itself (selftest.py) against real Redis; no hapanel binary needed. Also works
as `python3 tests/harness selftest` (Python runs a directory's __main__.py).
Nothing else: the integration tests are the tests/it_*.py programs."""

import os
import sys

if not __package__:  # run as a directory: make the package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness.runner import run_test  # noqa: E402
from harness.selftest import exit_codes, selftest  # noqa: E402

if sys.argv[1:] == ["selftest"]:
    run_test(selftest, "harness selftest")
if sys.argv[1:] == ["exitcodes"]:  # the part of it that needs no Redis
    exit_codes()
    sys.exit(0)
print("usage: python3 -m harness selftest|exitcodes  (from tests/)", file=sys.stderr)
sys.exit(2)
