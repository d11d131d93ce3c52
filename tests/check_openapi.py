#!/usr/bin/env python3
"""The route table (hapanel --routes) and docs/openapi.yaml name the same
methods and paths, and the roles agree: an open route has `security: []`."""
import os
import re
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
binary = os.environ.get("HAPANEL_BIN", os.path.join(here, "..", "build", "hapanel"))
spec = open(os.path.join(here, "..", "docs", "openapi.yaml"), encoding="utf-8").read()

routes = {}
for line in subprocess.run([binary, "--routes"], check=True, capture_output=True,
                           text=True).stdout.splitlines():
    method, path, role = line.split()[:3]
    routes[(method.lower(), path)] = role

documented = {}
paths = spec.split("\npaths:\n", 1)[1]
current = None
for line in paths.splitlines():
    m = re.match(r"^  (/\S*):\s*$", line)
    if m:
        current = m.group(1)
        continue
    m = re.match(r"^    (get|post|put|delete|patch):\s*$", line)
    if m and current:
        last = (m.group(1), current)
        documented[last] = "token"
        continue
    if re.match(r"^      security: \[\]\s*$", line):
        documented[last] = "open"

failures = []
for key in sorted(set(routes) | set(documented)):
    if key not in documented:
        failures.append(f"route {key} is not in docs/openapi.yaml")
    elif key not in routes:
        failures.append(f"docs/openapi.yaml documents {key}, which the server does not route")
    elif (routes[key] == "open") != (documented[key] == "open"):
        failures.append(f"{key}: route role {routes[key]} but the doc says "
                        f"{'open' if documented[key] == 'open' else 'token required'}")
for f in failures:
    print("FAIL:", f)
print(f"{len(routes)} routes checked, {len(failures)} mismatches")
sys.exit(1 if failures else 0)
