"""Misbehaving DNS servers in Python threads, for timeout and latency tests.

* `BlackholeDns`: takes UDP queries (and TCP connections) and never answers;
  counts what it received.
* `SlowDnsProxy`: forwards each UDP query to an upstream server (usually a
  `DnsServer`) after `delay` seconds and relays the answer back; `delay`
  can be changed while it runs; counts queries.

Both default to a fresh 127.B.53.k:53 (so the system resolver of a private
Postfix instance can be pointed at them), run one daemon thread that wakes
at least every 50 ms to check for `stop()`, and are context managers.
"""

import heapq
import select
import socket
import threading
import time

from . import netalloc

_TICK = 0.05


class _ThreadServer:
    def __init__(self, address, port):
        self.address = address or netalloc.dns_address()
        self.port = port
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()
        self.queries = 0  # UDP datagrams received
        self.sockets = []

    @property
    def endpoint(self):
        return (self.address, self.port)

    def _bind_udp(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((self.address, self.port))
        s.setblocking(False)
        self.sockets.append(s)
        return s

    def start(self):
        self._setup()
        self._thread = threading.Thread(target=self._loop, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout=2.0):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
        for s in self.sockets:
            s.close()
        self.sockets = []

    def query_count(self):
        with self._lock:
            return self.queries

    def resolv_conf(self, options="timeout:1 attempts:2"):
        if self.port != 53:
            raise ValueError("the system resolver only talks to port 53")
        return f"nameserver {self.address}\n" + (f"options {options}\n" if options else "")

    def __enter__(self):
        return self.start() if self._thread is None else self

    def __exit__(self, *exc):
        self.stop()


class BlackholeDns(_ThreadServer):
    """Receives and drops every query. TCP connections are accepted and held
    open silently until stop()."""

    def __init__(self, address=None, port=53, tcp=True):
        super().__init__(address, port)
        self.tcp = tcp
        self._tcp_listener = None
        self._tcp_conns = []

    def _setup(self):
        self._udp = self._bind_udp()
        if self.tcp:
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((self.address, self.port))
            t.listen(16)
            t.setblocking(False)
            self._tcp_listener = t
            self.sockets.append(t)

    def _loop(self):
        watch = [s for s in (self._udp, self._tcp_listener) if s is not None]
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select(watch, [], [], _TICK)
            except (OSError, ValueError):
                return
            for s in readable:
                try:
                    if s is self._udp:
                        s.recvfrom(65535)
                        with self._lock:
                            self.queries += 1
                    else:
                        conn, _ = s.accept()
                        if len(self._tcp_conns) < 256:
                            self._tcp_conns.append(conn)
                            self.sockets.append(conn)
                        else:
                            conn.close()
                except (BlockingIOError, OSError):
                    pass


class SlowDnsProxy(_ThreadServer):
    """Forwards UDP queries to `upstream` (host, port) after `delay` s."""

    MAX_PENDING = 1024
    UPSTREAM_TIMEOUT = 5.0

    def __init__(self, upstream, delay=0.05, address=None, port=53):
        super().__init__(address, port)
        self.upstream = tuple(upstream)
        self.delay = delay
        self.forwarded = 0
        self.answered = 0

    def _setup(self):
        self._udp = self._bind_udp()

    def _loop(self):
        due = []        # heap of (time, seq, payload, client)
        waiting = {}    # upstream socket -> (client, expiry)
        seq = 0
        while not self._stop.is_set():
            now = time.monotonic()
            timeout = _TICK
            if due:
                timeout = max(0.0, min(timeout, due[0][0] - now))
            try:
                readable, _, _ = select.select([self._udp, *waiting], [], [], timeout)
            except (OSError, ValueError):
                return
            for s in readable:
                try:
                    data, peer = s.recvfrom(65535)
                except OSError:
                    if s is not self._udp:
                        waiting.pop(s, None)
                        s.close()
                    continue
                if s is self._udp:
                    with self._lock:
                        self.queries += 1
                    if len(due) + len(waiting) < self.MAX_PENDING:
                        seq += 1
                        heapq.heappush(due, (time.monotonic() + self.delay, seq, data, peer))
                else:
                    client, _ = waiting.pop(s)
                    s.close()
                    try:
                        self._udp.sendto(data, client)
                        with self._lock:
                            self.answered += 1
                    except OSError:
                        pass
            now = time.monotonic()
            while due and due[0][0] <= now:
                _, _, data, client = heapq.heappop(due)
                up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                try:
                    up.connect(self.upstream)
                    up.send(data)
                except OSError:
                    up.close()
                    continue
                up.setblocking(False)
                waiting[up] = (client, now + self.UPSTREAM_TIMEOUT)
                with self._lock:
                    self.forwarded += 1
            for s, (_, expiry) in list(waiting.items()):
                if expiry <= now:
                    waiting.pop(s)
                    s.close()
        for s in waiting:
            s.close()
