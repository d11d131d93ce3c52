"""harness.tcpproxy — TCP forwarders on loopback, for tests that put nodes
behind addresses hapanel must map (it_address_map), or that tamper with a
stream (it_backup_cut overrides serve()): each Proxy listens on a free port
(or the one given), connects every client it accepts to its target and
copies bytes both ways, counting the connections it carried. Threads; start_proxy stops
it in the test's cleanup."""

import socket
import threading

from .procs import free_port


class Proxy:
    def __init__(self, target, port=None):
        self.target = target  # "host:port"
        self.port = port or free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.accepted = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._socks = []
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(128)
        self.lsock.settimeout(0.2)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        h, p = self.target.rsplit(":", 1)
        while not self._stop.is_set():
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                u = socket.create_connection((h, int(p)), timeout=2)
            except OSError:
                c.close()
                continue
            u.settimeout(None)
            c.settimeout(None)
            with self._lock:
                self.accepted += 1
                self._socks += [c, u]
            self.serve(c, u)

    def serve(self, c, u):
        """Forwards one accepted connection c to its upstream u: a thread
        each way. A subclass that inspects the bytes overrides it."""
        for a, b in ((c, u), (u, c)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def shut(*socks):
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _pipe(self, a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        self.shut(a, b)

    def stop(self):
        self._stop.set()
        try:
            self.lsock.close()
        except OSError:
            pass
        with self._lock:
            for s in self._socks:
                try:
                    s.close()
                except OSError:
                    pass


def start_proxy(env, target):
    p = Proxy(target)
    env.on_cleanup(p.stop)
    return p
