"""Loopback addresses and ports that no other test process uses.

Every test process claims one /16 block `127.B.0.0/16` (B in 10..249) by
holding an exclusive `flock` on `/tmp/psmtest-locks/block-B.lock` for its
whole life (the kernel releases it when the process dies, however it dies).
Inside its block a process hands out, without further coordination:

* `server_address()`  127.B.1.k    listeners (postscreen, smtpd, ...)
* `dns_address()`     127.B.53.k   DNS servers (NSD, black hole, slow proxy)
* `client_address()`  127.B.c.k    SMTP client source addresses, c in 2..52
                                   and 54..250 (about 50,000 of them)

A process that needs more client addresses than that (the benchmarks)
claims whole further blocks with `extra_block()`, held the same way.

So ctest `-j` runs never collide on addresses, and port 53 (needed when
the system resolver must reach a test DNS server) is always free.

`free_port()` finds an unused port on an address; `is_listening()` /
`wait_listening()` read /proc/net/tcp (no connection is made, so nothing
shows up in a maillog).
"""

import fcntl
import ipaddress
import os
import socket
import threading
import time

LOCK_DIR = "/tmp/psmtest-locks"
FIRST_BLOCK, LAST_BLOCK = 10, 249

_lock = threading.Lock()
_block = None
_block_fd = None
_extra_fds = []
_next = {"server": 1, "dns": 1, "client": 0}


def _claim():
    """Locks the first free block from one that depends on the pid on:
    (B, lock fd). Called with _lock held."""
    os.makedirs(LOCK_DIR, exist_ok=True)
    span = LAST_BLOCK - FIRST_BLOCK + 1
    start = os.getpid() % span
    for i in range(span):
        b = FIRST_BLOCK + (start + i) % span
        fd = os.open(os.path.join(LOCK_DIR, f"block-{b}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        os.set_inheritable(fd, False)
        return b, fd
    raise RuntimeError("no free 127.B.0.0/16 block: too many test processes")


def block():
    """This process's second octet B (claimed on first use)."""
    global _block, _block_fd
    with _lock:
        if _block is None:
            _block, _block_fd = _claim()
        return _block


def extra_block():
    """Another whole block 127.X.0.0/16 for this process alone (all of it:
    X.0.1 to X.255.254 as client addresses), held until the process exits."""
    block()
    with _lock:
        b, fd = _claim()
        _extra_fds.append(fd)
        return b


def _take(kind):
    with _lock:
        n = _next[kind]
        _next[kind] += 1
    return n


def server_address():
    """A fresh 127.B.1.k for a listening service."""
    b = block()
    k = _take("server")
    if k > 254:
        raise RuntimeError("out of server addresses")
    return f"127.{b}.1.{k}"


def dns_address():
    """A fresh 127.B.53.k for a DNS server (port 53 is free on it)."""
    b = block()
    k = _take("dns")
    if k > 254:
        raise RuntimeError("out of DNS addresses")
    return f"127.{b}.53.{k}"


_CLIENT_THIRD = [c for c in range(2, 251) if c != 53]


def client_address():
    """A fresh 127.B.c.k to bind SMTP clients to (never used twice in this
    process, so every test gets a client the postscreen cache never saw)."""
    b = block()
    n = _take("client")
    third = _CLIENT_THIRD[n // 250] if n // 250 < len(_CLIENT_THIRD) else None
    if third is None:
        raise RuntimeError("out of client addresses")
    return f"127.{b}.{third}.{n % 250 + 1}"


def reverse_name(address):
    """`1.2.3.4` -> `4.3.2.1` (the DNSBL query prefix; IPv6 nibbles too)."""
    ip = ipaddress.ip_address(address)
    return ip.reverse_pointer.rsplit(".", 2)[0]


def free_port(address, kind=socket.SOCK_STREAM):
    """A port that is free on `address` right now (TCP by default)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def _hex_endpoint(address, port):
    packed = socket.inet_aton(address)
    return f"{int.from_bytes(packed, 'little'):08X}:{port:04X}"


def is_listening(address, port):
    """True when a TCP socket is in LISTEN state on address:port (or on
    0.0.0.0:port)."""
    wanted = {_hex_endpoint(address, port), _hex_endpoint("0.0.0.0", port)}
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if len(fields) > 3 and fields[3] == "0A" and fields[1] in wanted:
                    return True
    except OSError:
        pass
    return False


def is_bound_udp(address, port):
    """True when a UDP socket is bound to address:port."""
    wanted = {_hex_endpoint(address, port), _hex_endpoint("0.0.0.0", port)}
    try:
        with open("/proc/net/udp") as f:
            next(f)
            return any(line.split()[1] in wanted for line in f if len(line.split()) > 1)
    except OSError:
        return False


def wait_listening(address, port, timeout=10.0, alive=None):
    """Wait (bounded) until address:port is listening. `alive` is an
    optional callable; when it returns False the wait stops early.
    Returns True when listening."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_listening(address, port):
            return True
        if alive is not None and not alive():
            return False
        time.sleep(0.02)
    return is_listening(address, port)
