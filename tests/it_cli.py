#!/usr/bin/env python3
"""The command line: --help and --version answer and exit 0; a bad or missing
setting stops hapanel with one message naming the key and exit status 2, and a
secret in a bad value is not echoed; --sample-config names every key; a wrong
argument is a usage error."""
import os
import subprocess
import sys

BIN = os.environ.get("HAPANEL_BIN", os.path.join(os.path.dirname(__file__), "..", "build", "hapanel"))
failures = []


def run(args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAPANEL_", "REDIS_"))}
    env.update(env_extra or {})
    p = subprocess.run([BIN] + args, env=env, capture_output=True, text=True, timeout=20)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


rc, out, _ = run(["--help"])
expect(rc == 0 and "--config" in out and "--demo" in out, "--help exits 0 and lists --config, --demo")
rc, out, _ = run(["--version"])
expect(rc == 0 and out.startswith("hapanel "), "--version")
rc, _, err = run(["--bogus"])
expect(rc == 2 and "--bogus" in err, "unknown argument: exit 2 naming it")

ok_env = {"REDIS_SENTINEL_HOSTS": "127.0.0.1:1", "HAPANEL_API_TOKENS": "viewer:t0k3n"}
cases = [
    ({"HAPANEL_API_TOKENS": "viewer:x"}, "REDIS_SENTINEL_HOSTS"),
    ({"REDIS_SENTINEL_HOSTS": "127.0.0.1:1"}, "HAPANEL_API_TOKENS"),
    (dict(ok_env, HAPANEL_POLL_INTERVAL_MS="soon"), "HAPANEL_POLL_INTERVAL_MS"),
    (dict(ok_env, HAPANEL_TIMEOUT_MS="-5"), "HAPANEL_TIMEOUT_MS"),
    (dict(ok_env, REDIS_SENTINEL_HOSTS="sentinel-without-port"), "REDIS_SENTINEL_HOSTS"),
    (dict(ok_env, HAPANEL_LISTEN="127.0.0.1:70000"), "HAPANEL_LISTEN"),
    (dict(ok_env, HAPANEL_LOG_LEVEL="loud"), "HAPANEL_LOG_LEVEL"),
    (dict(ok_env, HAPANEL_API_TOKENS="root:Sup3rS3cret"), "HAPANEL_API_TOKENS"),
]
for env, key in cases:
    rc, out, err = run([], env)
    expect(rc == 2, f"{key}: exit status 2 (got {rc})")
    expect(key in err and len(err.strip().splitlines()) == 1, f"{key}: one line naming the key: {err!r}")
    expect("Sup3rS3cret" not in err + out, f"{key}: secret not echoed")

cfg = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"hapanel-it-cli-{os.getpid()}.ini")
with open(cfg, "w") as f:
    f.write("[sentinel]\nhosts = 127.0.0.1:1\n[auth]\ntokens = viewer:x\n[monitor]\npoll_every = 5\n")
rc, _, err = run(["--config", cfg])
expect(rc == 2 and "poll_every" in err and cfg in err, f"unknown INI key named with file and line: {err!r}")
os.unlink(cfg)
rc, _, err = run(["--config", "/nonexistent/hapanel.ini"])
expect(rc == 2 and "/nonexistent/hapanel.ini" in err, "missing config file")

rc, out, _ = run(["--sample-config"])
for key in ["hosts", "masters", "password", "poll_interval_ms", "timeout_ms", "listen", "tokens", "data_dir"]:
    expect(f"{key} = " in out, f"--sample-config has {key}")
with open(os.path.join(os.path.dirname(__file__), "..", "hapanel.sample.ini")) as f:
    expect(f.read() == out, "hapanel.sample.ini in the repo is what --sample-config prints")

print(f"cli: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
