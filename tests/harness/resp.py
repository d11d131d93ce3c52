"""harness.resp — talking to redis-server and redis-sentinel: a minimal
blocking RESP2 client (Redis; an error reply to cmd() raises RedisError,
pipeline() returns it), "host:port" address strings (addr_of, split_addr),
and parsers of what they answer: INFO text (parse_info, and redis_info for
one query) and flat key/value arrays such as SENTINEL MASTER (parse_kv).

Enough for tests, no more: no RESP3, no pub/sub, no pooling or reconnects;
replies are decoded as UTF-8 text (invalid bytes replaced). It starts no
process and imports nothing else of the harness."""

import re
import socket


def addr_of(port):
    return "127.0.0.1:%d" % port


def split_addr(addr):
    host, _, port = addr.rpartition(":")
    return host, int(port)


class RedisError(Exception):
    """An error reply (-ERR ...) from Redis."""


def _num(v):
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    if re.fullmatch(r"-?\d+\.\d+", v):
        return float(v)
    return v


def parse_info(text):
    """INFO text -> dict; integer/decimal values become int/float."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        k, _, v = line.partition(":")
        out[k] = _num(v)
    return out


def parse_kv(flat):
    """A flat [k1, v1, k2, v2, ...] reply (SENTINEL MASTER ...) -> dict."""
    return {flat[i]: flat[i + 1] for i in range(0, len(flat) - 1, 2)}


class Redis:
    """A minimal blocking RESP2 client: enough for tests."""

    def __init__(self, host="127.0.0.1", port=6379, password=None, timeout=2):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")
        if password:
            self.cmd("AUTH", password)

    @classmethod
    def at(cls, addr, password=None, timeout=2):
        h, p = split_addr(addr)
        return cls(h, p, password=password, timeout=timeout)

    def close(self):
        try:
            self.f.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def _encode(args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, bytes):
                b = a
            else:
                b = str(a).encode("utf-8")
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        return b"".join(parts)

    def _readline(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("connection closed by %s:%d" % (self.host, self.port))
        if not line.endswith(b"\r\n"):
            raise ConnectionError("short line from %s:%d" % (self.host, self.port))
        return line[:-2]

    def _read(self):
        line = self._readline()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode("utf-8", "replace")
        if t == b"-":
            return RedisError(rest.decode("utf-8", "replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("short bulk from %s:%d" % (self.host, self.port))
            return data[:-2].decode("utf-8", "replace")
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._read() for _ in range(n)]
        raise ConnectionError("bad RESP type byte %r from %s:%d" % (t, self.host, self.port))

    def cmd(self, *args):
        """Sends one command and returns its decoded reply; an error reply
        raises RedisError (errors nested in arrays are returned as values)."""
        self.sock.sendall(self._encode(args))
        r = self._read()
        if isinstance(r, RedisError):
            raise r
        return r

    def pipeline(self, cmds):
        """Sends several commands at once; returns their replies (errors as
        RedisError values)."""
        self.sock.sendall(b"".join(self._encode(c) for c in cmds))
        return [self._read() for _ in cmds]

    def info(self, section=None):
        text = self.cmd("INFO", section) if section else self.cmd("INFO")
        return parse_info(text)


def redis_info(addr, password=None, section=None, timeout=2):
    with Redis.at(addr, password=password, timeout=timeout) as r:
        return r.info(section)
