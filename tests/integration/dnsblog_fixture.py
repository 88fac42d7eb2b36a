"""Shared pieces of the dnsblog integration tests: an attr0 client for both
request forms (proto/dnsblog-protocol.md) and our dnsblog run stand-alone
(`-L unix:PATH`) with a private main.cf from a StockPostfix that is never
started (its maillog file receives dnsblog's log lines)."""

import os
import socket
import time

from psmtest import Background, StockPostfix, our_binary, wait_until

U32 = 1 << 32


def encode(pairs):
    """attr0 bytes of a list: (name, value) pairs, "{" and "}" group markers."""
    out = bytearray()
    for item in pairs:
        if item in ("{", "}"):
            out += item.encode() + b"\0"
        else:
            name, value = item
            out += name.encode() + b"\0" + str(value).encode() + b"\0"
    return bytes(out + b"\0")


def as_int(text):
    """A Postfix int on the wire (unsigned 32-bit text) as a signed int."""
    v = int(text)
    return v - U32 if v >= 1 << 31 else v


def unix_listening(path):
    """Whether a UNIX-domain stream socket at path is listening (/proc/net/unix:
    flag __SO_ACCEPTCON)."""
    try:
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                fields = line.split()
                if len(fields) >= 8 and fields[7] == path and int(fields[3], 16) & 0x10000:
                    return True
    except OSError:
        pass
    return False


class Attr0Conn:
    """A client connection to a UNIX socket speaking attr0."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else encode(data))

    def _token(self, deadline):
        while b"\0" not in self.buf:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed; unparsed {self.buf!r}")
            self.buf += chunk
        tok, _, self.buf = self.buf.partition(b"\0")
        return tok.decode()

    def read_list(self, timeout=10.0):
        """One list: [(name, value) | "{" | "}"]."""
        deadline = time.monotonic() + timeout
        items = []
        while True:
            name = self._token(deadline)
            if name == "":
                return items
            if name in ("{", "}"):
                items.append(name)
            else:
                items.append((name, self._token(deadline)))

    def read_raw(self, timeout=10.0):
        """Everything until the peer closes."""
        deadline = time.monotonic() + timeout
        data = self.buf
        self.buf = b""
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                return data
            data += chunk

    def closed(self, timeout=5.0):
        """True when the peer closes without sending anything more."""
        try:
            return self.read_raw(timeout) == b""
        except socket.timeout:
            return False


def score_reply(items):
    """A weighted reply as a dict; per-site groups under "sites" (by domain)."""
    top, sites, cur = {}, {}, None
    for item in items:
        if item == "{":
            cur = {}
        elif item == "}":
            sites[cur["site"]] = cur
            cur = None
        elif cur is not None:
            cur[item[0]] = item[1]
        else:
            top[item[0]] = item[1]
    top["sites"] = sites
    return top


def score_request(label, address, sites=None, **extra):
    pairs = [("request", "dnsbl_score"), ("label", label), ("client_address", address)]
    if sites is not None:
        pairs.append(("sites", sites))
    pairs += list(extra.items())
    return pairs


def stock_request(domain, address, label=0):
    return [("rbl_domain", domain), ("client_address", address), ("label", label)]


class OurDnsblog:
    """Our dnsblog stand-alone on a UNIX socket. `nameservers` is the
    dnsblog_nameservers value; `params` more main.cf settings."""

    def __init__(self, nameservers, params=None, name="dnsblog"):
        self.binary = our_binary("dnsblog")
        self.pf = StockPostfix(services=[])
        resolv = os.path.join(self.pf.dir, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("options timeout:1 attempts:1\n")
        self.pf.set(dnsblog_nameservers=nameservers, dnsblog_resolv_conf=resolv, **(params or {}))
        self.path = os.path.join(self.pf.dir, f"{name}.sock")
        self.name = name
        self.proc = None
        self.log = self.pf.log

    def start(self):
        self.pf.write_config()
        self.proc = Background([self.binary, "-L", f"unix:{self.path}"], name=self.name, workdir=self.pf.dir,
                               env_vars={"MAIL_CONFIG": self.pf.config_dir}, lifetime=600)
        self.proc.start()
        # The socket file appears at bind(), a moment before listen():
        # wait until the kernel lists it as listening (no test connection).
        wait_until(lambda: unix_listening(self.path) or not self.proc.running(), 15,
                   message="our dnsblog's socket")
        if not self.proc.running():
            raise AssertionError("our dnsblog exited at start\n" + self.describe())
        return self

    def stop(self):
        if self.proc:
            self.proc.stop(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def describe(self):
        return (self.proc.describe() if self.proc else "not started") + "\n--- maillog ---\n" + \
            self.log.tail(30)

    def connect(self, timeout=10.0):
        return Attr0Conn(self.path, timeout)

    def score(self, label, address, sites=None, timeout=15.0, **extra):
        """One weighted request on a fresh connection: the reply as a dict."""
        with self.connect(timeout) as c:
            c.send(score_request(label, address, sites, **extra))
            return score_reply(c.read_list(timeout))

    def stock(self, domain, address, label=0):
        """One stock per-site request: the raw reply bytes (until close)."""
        with self.connect() as c:
            c.send(stock_request(domain, address, label))
            return c.read_raw()
