"""benchlib.py — what http_bench.py and poll_bench.py share: the import of the
integration-test harness (tests/harness/, reused, not copied), the default
binary (build-bench/hapanel, the Release build without sanitizers), a runner
that turns harness.run_test into "run, clean up, then print the figures", and
small /proc and Prometheus readers. Python 3 standard library only."""

import os
import re
import sys

sys.dont_write_bytecode = True  # leave no __pycache__ in tests/ or bench/

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(REPO, "tests"))

import harness  # noqa: E402

DEFAULT_BIN = os.path.join(REPO, "build-bench", "hapanel")
BENCH_TOKEN = "benchtoken"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def setup(limit_s):
    """Points the harness at the benchmark binary (HAPANEL_BIN wins) and sets
    the global time limit of the run (HAPANEL_IT_LIMIT wins). Returns the
    binary's path."""
    os.environ.setdefault("HAPANEL_BIN", DEFAULT_BIN)
    os.environ.setdefault("HAPANEL_IT_LIMIT", str(int(limit_s)))
    b = os.environ["HAPANEL_BIN"]
    if not os.path.exists(b):
        print("hapanel binary %s does not exist; build it with\n"
              "  cmake -S %s -B %s/build-bench -DCMAKE_BUILD_TYPE=Release -DHAPANEL_SANITIZE=OFF"
              " && cmake --build %s/build-bench -j2\nor set HAPANEL_BIN" % (b, REPO, REPO, REPO),
              file=sys.stderr)
        sys.exit(2)
    return b


def run(fn, name, report):
    """Runs fn(env) under harness.run_test (temp dir, time limit, cleanup of
    every process also on failure, SIGTERM or Ctrl-C; hapanel must stop
    cleanly). fn fills a list of result lines; report(lines) prints them after
    the cleanup. Exits 0 on success, 1 on failure."""
    lines = []
    code = 1
    try:
        harness.run_test(lambda env: fn(env, lines), name)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    if code == 0:
        report(lines)
    sys.exit(code)


def hapanel_env(extra=None):
    """env_extra for harness.Hapanel: one viewer token, the benchmark's."""
    env = {"HAPANEL_API_TOKENS": "viewer:%s" % BENCH_TOKEN}
    env.update(extra or {})
    return env


def proc_cpu_s(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat


def proc_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def metric(text, name):
    """The value of an unlabelled sample in Prometheus text, or None."""
    m = re.search(r"(?m)^%s (\S+)$" % re.escape(name), text)
    return float(m.group(1)) if m else None
