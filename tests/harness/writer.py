"""harness.writer — background threads that watch a Topology from a client's
side while a test breaks it: Writer writes through Sentinel like a
Sentinel-aware client, counts acknowledged writes and later reads them back
to count the lost ones; RoleWatcher polls every node's INFO replication and
records when each role changes.

They only talk to Redis (resp.py); hapanel is not involved, and they assert
nothing about it: the tests compare their figures with what hapanel did."""

import threading
import time

from .procs import wait_for
from .resp import Redis, RedisError, parse_info


class Writer:
    """A background thread that writes like a Sentinel-aware client: asks a
    Sentinel (SENTINEL GET-MASTER-ADDR-BY-NAME) for the master, connects and
    sends SET <prefix><n> <n> with n = 0, 1, 2, ... one at a time. A write
    counts as acknowledged only when its +OK reply was read. On any error
    (READONLY or another error reply, connection refused/reset/closed, a reply
    not received within `timeout` seconds) it notes the time, closes, asks the
    next Sentinel (in turn) and retries the SAME n until it is acknowledged;
    so the acknowledged writes are exactly n = 0 .. acked-1 and a write whose
    outcome is unknown is simply written again (SET is idempotent).

    Records: acked (count), the time of every gap between consecutive acks
    longer than GAP_RECORD_S (so max_gap() over any window is exact down to
    that), the errors (time, addr, message; the first MAX_ERRORS), the
    masters it wrote to. `rate` (writes/s, None = as fast as it can) bounds
    the speed. stop() joins; lost(topology) counts acknowledged writes that
    the current master does not have."""

    GAP_RECORD_S = 0.005
    MAX_GAPS = 200000
    MAX_ERRORS = 2000

    def __init__(self, topology, name=None, prefix="w:", timeout=1.0, rate=None,
                 retry_pause=0.01):
        self.topo = topology
        self.name = name or topology.master_name
        self.prefix = prefix
        self.timeout = timeout
        self.rate = rate
        self.retry_pause = retry_pause
        self.acked = 0            # writes 0 .. acked-1 are acknowledged
        self.first_ack = None     # monotonic time of the first / last ack
        self.last_ack = None
        self.gaps = []            # (t_prev_ack, t_ack) of gaps > GAP_RECORD_S
        self.errors = []          # (monotonic time, addr, message)
        self.nerrors = 0
        self.masters = []         # addresses written to, in order of first use
        self.fatal = None         # an exception that stopped the thread
        self._halt = threading.Event()
        self._si = 0
        self._thread = threading.Thread(target=self._run, name="writer", daemon=True)

    # --- control -------------------------------------------------------------
    def start(self, wait_acks=10, timeout=10):
        """Starts the thread and waits for its first `wait_acks` acks."""
        self._thread.start()
        wait_for(lambda: self.acked >= wait_acks or self.fatal, timeout, 0.02,
                 msg="the writer's first %d acknowledged writes" % wait_acks)
        if self.fatal:
            raise AssertionError("writer failed: %r" % (self.fatal,))
        return self

    def stop(self, timeout=10):
        """Stops and joins the thread (bounded: each step has a timeout)."""
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        assert not self._thread.is_alive(), "the writer thread did not stop within %.0f s" % timeout
        if self.fatal:
            raise AssertionError("writer failed: %r" % (self.fatal,))

    def running(self):
        return self._thread.is_alive()

    # --- the thread ------------------------------------------------------------
    def _error(self, addr, e):
        self.nerrors += 1
        if len(self.errors) < self.MAX_ERRORS:
            self.errors.append((time.monotonic(), addr, "%s: %s" % (type(e).__name__, e)))

    def _connect(self):
        """Asks the Sentinels in turn (starting with the next one) for the
        master and connects to it. Returns (Redis, addr), or (None, None)."""
        sents = self.topo.sentinel_addrs
        for i in range(len(sents)):
            s = sents[(self._si + i) % len(sents)]
            p = self.topo.proc(s)
            if not p.alive() or p.stopped:
                continue
            try:
                with Redis.at(s, password=self.topo.password, timeout=0.5) as c:
                    r = c.cmd("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
            except (OSError, RedisError) as e:
                self._error(s, e)
                continue
            if not r:
                continue
            addr = "%s:%s" % (r[0], r[1])
            self._si = (self._si + i) % len(sents)
            try:
                conn = Redis.at(addr, password=self.topo.password, timeout=self.timeout)
            except (OSError, RedisError) as e:
                self._error(addr, e)
                return None, None
            if not self.masters or self.masters[-1] != addr:
                self.masters.append(addr)
            return conn, addr
        return None, None

    def _run(self):
        conn = addr = None
        n = 0
        key_n = None
        interval = 1.0 / self.rate if self.rate else 0.0
        next_t = time.monotonic()
        try:
            while not self._halt.is_set():
                if conn is None:
                    conn, addr = self._connect()
                    if conn is None:
                        self._halt.wait(self.retry_pause)
                        continue
                if key_n != n:
                    key = self.prefix + str(n)
                    payload = Redis._encode(("SET", key, str(n)))
                    key_n = n
                try:
                    conn.sock.sendall(payload)
                    r = conn._read()
                    if isinstance(r, RedisError):
                        raise r
                    if r != "OK":
                        raise RedisError("unexpected reply %r" % (r,))
                except (OSError, RedisError, ValueError) as e:
                    self._error(addr, e)
                    try:
                        conn.close()
                    except OSError:
                        pass
                    conn = None
                    self._si += 1
                    self._halt.wait(self.retry_pause)
                    continue
                now = time.monotonic()
                if self.last_ack is not None:
                    if now - self.last_ack > self.GAP_RECORD_S and len(self.gaps) < self.MAX_GAPS:
                        self.gaps.append((self.last_ack, now))
                else:
                    self.first_ack = now
                self.last_ack = now
                n += 1
                self.acked = n
                if interval:
                    next_t += interval
                    d = next_t - time.monotonic()
                    if d > 0:
                        self._halt.wait(d)
                    else:
                        next_t = time.monotonic()
        except BaseException as e:  # reported by start()/stop()
            self.fatal = e
        finally:
            if conn is not None:
                try:
                    conn.close()
                except OSError:
                    pass

    # --- figures ---------------------------------------------------------------
    def max_gap(self, t0=None, t1=None):
        """The longest time between two consecutive acks whose second ack
        falls in [t0, t1] (monotonic; None = unbounded), in seconds. While
        running, the time since the last ack counts as a gap too."""
        best = 0.0
        for a, b in self.gaps:
            if (t0 is None or b >= t0) and (t1 is None or b <= t1):
                best = max(best, b - a)
        if self.last_ack is not None and self.running():
            now = time.monotonic()
            if t1 is None or now <= t1:
                best = max(best, now - self.last_ack)
        return best

    def gaps_over(self, s=0.1, t0=None, t1=None):
        """[(t_prev_ack, t_ack)] of the gaps longer than s seconds."""
        return [(a, b) for a, b in self.gaps if b - a > s and (t0 is None or b >= t0)
                and (t1 is None or b <= t1)]

    def acked_since(self, t):
        """Whether some write was acknowledged after monotonic time t."""
        return self.last_ack is not None and self.last_ack > t

    def summary(self):
        g = self.gaps_over(0.1)
        return ("acked %d, errors %d, max gap %.0f ms, %d gaps > 100 ms %s, masters %s" % (
            self.acked, self.nerrors, self.max_gap() * 1000, len(g),
            ["%.0f" % ((b - a) * 1000) for a, b in g[:20]], self.masters))

    def lost(self, topology=None, start=0, end=None, sync_timeout=20, chunk=1000):
        """Waits until every Sentinel reports the same master, it says
        role:master and its replicas have its offset (bounded), then reads
        back acknowledged writes start .. end-1 (default: all) from it with
        MGET in chunks. Returns how many are missing or wrong; the first
        missing ones are kept in self.missing (at most 20)."""
        topo = topology or self.topo
        end = self.acked if end is None else end
        master = topo.agreed_master(sync_timeout, self.name)
        topo.wait_in_sync(master, sync_timeout)
        self.lost_master = master
        missing = []
        bad = 0
        with topo.client(master, timeout=5) as c:
            for lo in range(start, end, chunk):
                hi = min(end, lo + chunk)
                vals = c.cmd("MGET", *[self.prefix + str(i) for i in range(lo, hi)])
                for i, v in zip(range(lo, hi), vals):
                    if v != str(i):
                        bad += 1
                        if len(missing) < 20:
                            missing.append(i)
        self.missing = missing
        return bad


class RoleWatcher:
    """Polls INFO replication on every given node every `interval` seconds
    from a thread (one connection each, reopened after an error) and records
    each node's role changes: changes = [(monotonic time, addr, role)]. The
    time is when the reply was read (so it is late by at most one interval
    plus a round trip)."""

    def __init__(self, topology, addrs=None, interval=0.02):
        self.topo = topology
        self.addrs = list(addrs or topology.node_addrs)
        self.interval = interval
        self.roles = {}
        self.changes = []
        self.polls = 0
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rolewatcher", daemon=True)

    def start(self):
        self._thread.start()
        wait_for(lambda: len(self.roles) == len(self.addrs), 5, 0.02,
                 msg=lambda: "first role of every node (have %s)" % self.roles)
        return self

    def stop(self, timeout=5):
        self._halt.set()
        self._thread.join(timeout)

    def _run(self):
        conns = {}
        while not self._halt.is_set():
            for a in self.addrs:
                try:
                    if a not in conns:
                        conns[a] = Redis.at(a, password=self.topo.password, timeout=0.5)
                    role = parse_info(conns[a].cmd("INFO", "replication")).get("role")
                except (OSError, RedisError, ValueError):
                    c = conns.pop(a, None)
                    if c:
                        try:
                            c.close()
                        except OSError:
                            pass
                    continue
                now = time.monotonic()
                if self.roles.get(a) != role:
                    self.roles[a] = role
                    self.changes.append((now, a, role))
            self.polls += 1
            self._halt.wait(self.interval)
        for c in conns.values():
            try:
                c.close()
            except OSError:
                pass

    def first(self, addr, role, after=0.0):
        """The first time after `after` at which addr was seen with role."""
        for t, a, r in self.changes:
            if a == addr and r == role and t >= after:
                return t
        return None
