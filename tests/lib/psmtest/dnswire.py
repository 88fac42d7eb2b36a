"""A minimal DNS client (stdlib only): build a query, send it over UDP or
TCP with a timeout, parse the answer (A, AAAA, TXT, SOA, NS, PTR, CNAME;
other types as raw bytes). Enough to check test DNS servers and to prove
what a DNSBL zone answers; not a resolver.
"""

import dataclasses
import random
import socket
import struct
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


class DnsTimeout(Exception):
    pass


@dataclasses.dataclass
class Record:
    name: str
    type: str
    ttl: int
    value: object  # str for A/AAAA/NS/PTR/CNAME, tuple of str for TXT, dict for SOA, bytes else


@dataclasses.dataclass
class Answer:
    id: int
    rcode: str
    flags: int
    answers: list
    authority: list
    additional: list
    elapsed: float  # seconds from send to receive

    @property
    def aa(self):
        return bool(self.flags & 0x0400)

    @property
    def truncated(self):
        return bool(self.flags & 0x0200)

    def values(self, rtype=None):
        return [r.value for r in self.answers if rtype is None or r.type == rtype]


def encode_name(name):
    out = bytearray()
    for label in name.rstrip(".").split("."):
        if not label:
            continue
        raw = label.encode("ascii")
        if len(raw) > 63:
            raise ValueError(f"label too long in {name!r}")
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


def build_query(name, rtype="A", qid=None, rd=False):
    qid = random.randrange(0x10000) if qid is None else qid
    flags = 0x0100 if rd else 0
    header = struct.pack("!HHHHHH", qid, flags, 1, 0, 0, 0)
    qtype = TYPES[rtype] if isinstance(rtype, str) else int(rtype)
    return header + encode_name(name) + struct.pack("!HH", qtype, 1), qid


def _read_name(msg, pos):
    labels = []
    jumps = 0
    end = None
    while True:
        if pos >= len(msg):
            raise ValueError("name runs past the message")
        length = msg[pos]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | msg[pos + 1]
            jumps += 1
            if jumps > 64:
                raise ValueError("compression loop")
            continue
        pos += 1
        if length == 0:
            break
        labels.append(msg[pos:pos + length].decode("ascii", "replace"))
        pos += length
    return ".".join(labels), (end if end is not None else pos)


def _parse_rdata(msg, rtype, start, length):
    rdata = msg[start:start + length]
    if rtype == 1 and length == 4:
        return socket.inet_ntop(socket.AF_INET, rdata)
    if rtype == 28 and length == 16:
        return socket.inet_ntop(socket.AF_INET6, rdata)
    if rtype in (2, 5, 12):
        return _read_name(msg, start)[0]
    if rtype == 16:
        strings, i = [], 0
        while i < length:
            n = rdata[i]
            strings.append(rdata[i + 1:i + 1 + n].decode("utf-8", "replace"))
            i += 1 + n
        return tuple(strings)
    if rtype == 6:
        mname, pos = _read_name(msg, start)
        rname, pos = _read_name(msg, pos)
        serial, refresh, retry, expire, minimum = struct.unpack("!IIIII", msg[pos:pos + 20])
        return {"mname": mname, "rname": rname, "serial": serial, "refresh": refresh,
                "retry": retry, "expire": expire, "minimum": minimum}
    return bytes(rdata)


def parse_response(msg, elapsed=0.0):
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    pos = 12
    for _ in range(qd):
        _, pos = _read_name(msg, pos)
        pos += 4
    sections = []
    for count in (an, ns, ar):
        records = []
        for _ in range(count):
            name, pos = _read_name(msg, pos)
            rtype, _cls, ttl, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
            pos += 10
            value = _parse_rdata(msg, rtype, pos, rdlen)
            pos += rdlen
            records.append(Record(name, TYPE_NAMES.get(rtype, str(rtype)), ttl, value))
        sections.append(records)
    return Answer(qid, RCODES.get(flags & 0xF, str(flags & 0xF)), flags, *sections, elapsed)


def query(server, name, rtype="A", port=53, timeout=2.0, tcp=False, source=None):
    """Send one query to server:port; Answer, or DnsTimeout."""
    packet, qid = build_query(name, rtype)
    start = time.monotonic()
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    if tcp:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            if source:
                s.bind((source, 0))
            try:
                s.connect((server, port))
                s.sendall(struct.pack("!H", len(packet)) + packet)
                length = struct.unpack("!H", _recv_exact(s, 2))[0]
                data = _recv_exact(s, length)
            except socket.timeout as e:
                raise DnsTimeout(f"no answer from {server}:{port} for {name} {rtype}") from e
            return parse_response(data, time.monotonic() - start)
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        if source:
            s.bind((source, 0))
        s.connect((server, port))
        s.send(packet)
        deadline = start + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DnsTimeout(f"no answer from {server}:{port} for {name} {rtype}")
            s.settimeout(remaining)
            try:
                data = s.recv(65535)
            except socket.timeout as e:
                raise DnsTimeout(f"no answer from {server}:{port} for {name} {rtype}") from e
            except ConnectionRefusedError as e:
                raise DnsTimeout(f"{server}:{port} refused (nothing listening)") from e
            if len(data) >= 12 and struct.unpack("!H", data[:2])[0] == qid:
                return parse_response(data, time.monotonic() - start)


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed mid-message")
        buf += chunk
    return buf
