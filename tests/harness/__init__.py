"""harness — the integration-test harness of hapanel: starts real
redis-server / redis-sentinel processes on free loopback ports in a temp dir,
starts the hapanel binary against them, and talks to both (a tiny RESP client
for Redis, urllib for the REST API). It is not a test itself; the it_*.py
scripts and bench/*.py import it. Python 3 standard library only.

Each integration test is a plain program run as `python3 tests/it_xxx.py`
(exit 0 = pass). `run_test(fn)` gives a test a temp dir, a global time limit,
cleanup of every process it started (also on failure or SIGTERM), and prints
the hapanel log tail when the test fails.

`python3 -m harness selftest` (from tests/) checks the harness against real
Redis.

The package, by concern (each module's docstring says what it is and is not):
  procs      log, free_port, spawn, tail, proc_status_kb, wait_for
  resp       Redis, RedisError, addr_of, split_addr, parse_info, parse_kv,
             redis_info
  topology   Topology, Proc, REDIS_SERVER, REDIS_SENTINEL
  writer     Writer, RoleWatcher
  panel      Hapanel, Response, DEFAULT_BIN, VIEWER_TOKEN, OPERATOR_TOKEN
  backup     fill_varied, fill_random, key_state, start_redis_from_rdb,
             redis_check_rdb, hapanel_verify_rdb, file_sha256, backup_list,
             backup_download
  receiver   Receiver, Received, start_receiver, start_blackhole
  checks     Checks, call, hashed (tests that collect many checks)
  slowconn, tcpproxy, certs, debroot  (imported by module: harness.slowconn ...)
  etcd       EtcdCluster, require_etcd, ha_env, ha_of, role_of, leaders,
             wait_one_leader (the HA fleet's etcd and its panels' roles)
  runner     TestEnv, run_test
  selftest   the harness's own check (run by __main__.py)
This file only re-exports those names, so `from harness import X` and
`harness.X` work as they did when the harness was one file.

Environment:
  HAPANEL_BIN        the binary (default ../build/hapanel relative to tests/,
                     i.e. build/hapanel of this checkout)
  HAPANEL_IT_KEEP=1  keep the temp dir of a failed test (default: remove)
  HAPANEL_IT_LIMIT   global time limit of one test in seconds (default 120)
"""

from .backup import (BACKUP_TTL_MS, backup_download, backup_list, file_sha256, fill_random,
                     fill_varied, hapanel_verify_rdb, key_state, redis_check_rdb,
                     start_redis_from_rdb)
from .etcd import (EtcdCluster, ha_env, ha_of, leaders, require_etcd, role_of,
                   wait_one_leader)
from .panel import DEFAULT_BIN, HERE, OPERATOR_TOKEN, VIEWER_TOKEN, Hapanel, Response
from .procs import free_port, log, proc_status_kb, spawn, tail, wait_for
from .receiver import Received, Receiver, start_blackhole, start_receiver
from .resp import Redis, RedisError, addr_of, parse_info, parse_kv, redis_info, split_addr
from .runner import TestEnv, run_test
from .topology import REDIS_SENTINEL, REDIS_SERVER, Proc, Topology
from .writer import RoleWatcher, Writer

# private, not in __all__, but bench/http_bench.py and bench/backup_bench.py
# pass harness._die_with_parent as preexec_fn to their own subprocesses
from .procs import _die_with_parent  # noqa: F401

__all__ = [
    # procs
    "log", "free_port", "spawn", "tail", "proc_status_kb", "wait_for",
    # resp
    "Redis", "RedisError", "addr_of", "split_addr", "parse_info", "parse_kv", "redis_info",
    # topology
    "Topology", "Proc", "REDIS_SERVER", "REDIS_SENTINEL",
    # writer
    "Writer", "RoleWatcher",
    # panel
    "Hapanel", "Response", "HERE", "DEFAULT_BIN", "VIEWER_TOKEN", "OPERATOR_TOKEN",
    # backup
    "BACKUP_TTL_MS", "fill_varied", "fill_random", "key_state", "start_redis_from_rdb",
    "redis_check_rdb", "hapanel_verify_rdb", "file_sha256", "backup_list", "backup_download",
    # receiver
    "Receiver", "Received", "start_receiver", "start_blackhole",
    # etcd
    "EtcdCluster", "require_etcd", "ha_env", "ha_of", "role_of", "leaders", "wait_one_leader",
    # runner
    "TestEnv", "run_test",
]

