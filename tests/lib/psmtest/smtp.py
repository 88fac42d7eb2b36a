"""Scripted SMTP clients for tests: byte-exact, with timeouts everywhere.

    with SmtpClient(addr, port, source=netalloc.client_address()) as c:
        greeting = c.read_reply(timeout=10)     # Reply: code, lines, first_at...
        c.command("EHLO client.test")
        c.send(b"MAIL FROM:<a@b>\\r\\nRCPT TO:<c@d>\\r\\n")   # raw bytes, pipelining
        c.read_replies(2)
        c.wait_closed()                          # "eof" or "reset"

`SmtpClient.transaction()` runs EHLO/MAIL/RCPT/DATA/QUIT and returns every
reply; `swaks()` runs the Debian swaks tool with safe flags and parses its
transcript. All times are `time.monotonic()` values.
"""

import dataclasses
import re
import select
import shutil
import socket
import struct
import subprocess
import time

from . import netalloc

DEFAULT_TIMEOUT = 10.0
SWAKS = "/usr/bin/swaks"


class SmtpError(AssertionError):
    """Base of the client's failures (an AssertionError so that unittest
    reports a failure, not an error, when a server misbehaves)."""


class SmtpTimeout(SmtpError):
    def __init__(self, message, partial=b""):
        super().__init__(message)
        self.partial = partial


class SmtpClosed(SmtpError):
    def __init__(self, message, how, partial=b""):
        super().__init__(message)
        self.how = how          # "eof" or "reset"
        self.partial = partial  # bytes of an incomplete reply, if any


class SmtpProtocolError(SmtpError):
    pass


@dataclasses.dataclass
class Reply:
    lines: list          # decoded lines without CRLF: ["220-foo", "220 bar"]
    raw: bytes           # exactly the bytes received, CRLFs included
    line_times: list     # arrival time of each line (monotonic)

    @property
    def code(self):
        return int(self.lines[-1][:3])

    @property
    def texts(self):
        """The text after "ddd-" / "ddd " of each line."""
        return [line[4:] for line in self.lines]

    @property
    def text(self):
        return "\n".join(self.texts)

    @property
    def last(self):
        return self.lines[-1]

    @property
    def first_at(self):
        return self.line_times[0]

    @property
    def at(self):
        return self.line_times[-1]

    @property
    def multiline(self):
        return len(self.lines) > 1

    @property
    def enhanced(self):
        """The enhanced status code of the last line (`5.7.1`) or None."""
        m = re.match(r"\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b", self.lines[-1])
        return m.group(1) if m else None

    def __str__(self):
        return "\n".join(self.lines)


@dataclasses.dataclass
class Transaction:
    greeting: Reply = None
    steps: list = dataclasses.field(default_factory=list)  # [(command, Reply)]
    queue_id: str = None

    def reply(self, verb):
        """The reply to the first command starting with `verb` (e.g. "RCPT")."""
        for cmd, rep in self.steps:
            if cmd.upper().startswith(verb.upper()):
                return rep
        return None

    @property
    def accepted(self):
        return self.queue_id is not None

    def __str__(self):
        out = [f"<- {self.greeting}"] if self.greeting else []
        for cmd, rep in self.steps:
            out.append(f"-> {cmd}")
            out.extend(f"<- {line}" for line in (rep.lines if rep else ["(no reply)"]))
        return "\n".join(out)


_QUEUED_RE = re.compile(r"queued as ([0-9A-Za-z]+)")


class SmtpClient:
    """One TCP connection to address:port from `source` (a loopback address
    to bind before connecting; default: a fresh `netalloc.client_address()`
    so every client is new to the server's caches)."""

    def __init__(self, address, port, *, source=None, timeout=DEFAULT_TIMEOUT):
        self.address = address
        self.port = port
        self.source = source or netalloc.client_address()
        self.timeout = timeout
        self.sock = None
        self.source_port = None
        self.connected_at = None
        self._buf = b""
        self._closed = None   # None, "eof" or "reset"
        self._last_chunk_at = None
        self.trailing = b""
        self.received = b""   # every byte received so far
        self.sent = b""       # every byte sent so far

    # -- connection -------------------------------------------------------
    def connect(self, timeout=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((self.source, 0))
            s.settimeout(self.timeout if timeout is None else timeout)
            s.connect((self.address, self.port))
        except OSError:
            s.close()
            raise
        s.setblocking(False)
        self.sock = s
        self.source_port = s.getsockname()[1]
        self.connected_at = time.monotonic()
        return self

    @property
    def client(self):
        """`[addr]:port` as postscreen logs this client."""
        return f"[{self.source}]:{self.source_port}"

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def abort(self):
        """Close with a TCP reset (SO_LINGER 0)."""
        if self.sock is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close()

    def __enter__(self):
        return self.connect() if self.sock is None else self

    def __exit__(self, *exc):
        self.close()

    # -- sending ----------------------------------------------------------
    def send(self, data, timeout=None):
        """Send raw bytes (str is encoded as UTF-8; nothing is added)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SmtpTimeout(f"send to {self.address}:{self.port} timed out")
            _, writable, _ = select.select([], [self.sock], [], remaining)
            if not writable:
                continue
            n = self.sock.send(view)
            self.sent += bytes(view[:n])
            view = view[n:]

    def send_line(self, line):
        """Send `line` + CRLF."""
        self.send((line.encode("utf-8") if isinstance(line, str) else line) + b"\r\n")

    # -- receiving --------------------------------------------------------
    def _fill(self, deadline):
        """Read more bytes into the buffer; False on timeout. Raises
        SmtpClosed when the peer closed and nothing is buffered."""
        if self._closed:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        readable, _, _ = select.select([self.sock], [], [], remaining)
        if not readable:
            return False
        try:
            chunk = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return True
        except ConnectionResetError:
            self._closed = "reset"
            return False
        if not chunk:
            self._closed = "eof"
            return False
        self._buf += chunk
        self.received += chunk
        self._last_chunk_at = time.monotonic()
        return True

    def read_line(self, timeout=None):
        """One line (bytes, with its line ending) and its arrival time."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\n" not in self._buf:
            if not self._fill(deadline):
                if self._closed:
                    raise SmtpClosed(f"connection closed ({self._closed}) by "
                                     f"{self.address}:{self.port}", self._closed, self._buf)
                if time.monotonic() >= deadline:
                    raise SmtpTimeout(f"no complete line from {self.address}:{self.port} "
                                      f"within {timeout or self.timeout}s", self._buf)
        line, _, self._buf = self._buf.partition(b"\n")
        return line + b"\n", self._last_chunk_at

    def read_reply(self, timeout=None):
        """A complete (possibly multi-line) reply. Lines of one reply are
        `ddd-text` until `ddd text` (or a bare `ddd`)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        lines, times, raw = [], [], b""
        while True:
            try:
                line, at = self.read_line(max(0.0, deadline - time.monotonic()))
            except (SmtpTimeout, SmtpClosed) as e:
                e.partial = raw + e.partial
                if raw:
                    e.args = (f"{e.args[0]} in the middle of a reply: {raw!r}",)
                raise
            raw += line
            text = line.rstrip(b"\r\n").decode("utf-8", "replace")
            if not re.match(r"\d{3}([ -]|$)", text):
                raise SmtpProtocolError(f"not an SMTP reply line: {line!r}")
            lines.append(text)
            times.append(at)
            if len(text) == 3 or text[3] == " ":
                return Reply(lines, raw, times)

    def read_replies(self, n, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        return [self.read_reply(max(0.0, deadline - time.monotonic())) for _ in range(n)]

    def command(self, line, timeout=None):
        """Send `line` + CRLF and read its reply."""
        self.send_line(line)
        return self.read_reply(timeout)

    def read_available(self, wait=0.2):
        """Whatever arrives within `wait` seconds (may be b"")."""
        deadline = time.monotonic() + wait
        while self._fill(deadline):
            pass
        data, self._buf = self._buf, b""
        return data

    def wait_closed(self, timeout=None):
        """Wait until the server closes: "eof" or "reset". Bytes that arrive
        meanwhile are kept in `self.trailing`. SmtpTimeout if still open."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self._closed:
            if not self._fill(deadline) and not self._closed and time.monotonic() >= deadline:
                raise SmtpTimeout(f"{self.address}:{self.port} did not close the connection "
                                  f"within {timeout or self.timeout}s", self._buf)
        self.trailing = self._buf
        return self._closed

    def is_closed(self, wait=0.0):
        """True when the server has closed (checked for up to `wait` s)."""
        deadline = time.monotonic() + wait
        while not self._closed:
            if not self._fill(deadline) and time.monotonic() >= deadline:
                break
        return self._closed is not None

    @property
    def closed_how(self):
        return self._closed

    # -- whole dialogues --------------------------------------------------
    def transaction(self, *, helo="client.psm.test", ehlo=True, mail_from="sender@client.psm.test",
                    rcpt_to=("rcpt@dest.psm.test",), data=None, quit=True, read_greeting=True,
                    timeout=None):
        """EHLO (or HELO) / MAIL / RCPT... / DATA / QUIT. Stops at the first
        failed step (a 4xx/5xx greeting, EHLO or MAIL; DATA is skipped when
        no RCPT was accepted) but still sends QUIT. `data` is the message
        (str/bytes, headers included, no final dot); dot-stuffing and CRLF
        conversion are done here. Returns a Transaction."""
        if isinstance(rcpt_to, str):
            rcpt_to = [rcpt_to]
        t = Transaction()
        if read_greeting:
            t.greeting = self.read_reply(timeout)
            if t.greeting.code >= 400:
                return self._finish(t, quit, timeout)

        def step(cmd):
            rep = self.command(cmd, timeout)
            t.steps.append((cmd, rep))
            return rep

        if step(f"{'EHLO' if ehlo else 'HELO'} {helo}").code >= 400:
            return self._finish(t, quit, timeout)
        if step(f"MAIL FROM:<{mail_from}>").code >= 400:
            return self._finish(t, quit, timeout)
        accepted = [r for r in rcpt_to if step(f"RCPT TO:<{r}>").code < 400]
        if not accepted:
            return self._finish(t, quit, timeout)
        if step("DATA").code != 354:
            return self._finish(t, quit, timeout)
        if data is None:
            data = (f"From: <{mail_from}>\r\nTo: <{rcpt_to[0]}>\r\nSubject: psmtest\r\n"
                    f"Message-Id: <{time.time_ns()}@psmtest>\r\n\r\nTest message.\r\n")
        self.send(_dot_stuff(data) + b".\r\n")
        rep = self.read_reply(timeout)
        t.steps.append((".", rep))
        m = _QUEUED_RE.search(rep.last)
        if rep.code == 250 and m:
            t.queue_id = m.group(1)
        return self._finish(t, quit, timeout)

    def _finish(self, t, quit, timeout):
        if quit and not self._closed:
            try:
                t.steps.append(("QUIT", self.command("QUIT", timeout)))
            except SmtpClosed:
                t.steps.append(("QUIT", None))
        return t


def _dot_stuff(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    return re.sub(rb"(?m)^\.", b"..", data)


def connect(address, port, source=None, timeout=DEFAULT_TIMEOUT):
    """SmtpClient(...).connect() in one call."""
    return SmtpClient(address, port, source=source, timeout=timeout).connect()


# -- swaks ---------------------------------------------------------------------

# swaks transcript: "<-  220 ..." (server), "<** 5xx" (server error reply),
# " -> EHLO ..." (client); "~" variants are the same inside TLS.
_SWAKS_SERVER_RE = re.compile(r"^<(?:-|~|\*\*|~\*)\s+(.*)$")
_SWAKS_CLIENT_RE = re.compile(r"^\s*(?:->|~>)\s?(.*)$")


@dataclasses.dataclass
class SwaksResult:
    returncode: int
    output: str
    server_lines: list    # lines the server sent ("220 ...")
    client_lines: list    # lines swaks sent ("EHLO ...")
    queue_id: str = None

    @property
    def accepted(self):
        return self.queue_id is not None


def swaks(address, port, *, source=None, mail_from="sender@client.psm.test",
          to="rcpt@dest.psm.test", helo="client.psm.test", timeout=15.0, extra=()):
    """Run swaks against address:port from `source` (default: a fresh client
    address). `extra` adds flags (e.g. ["--pipeline"], ["--quit-after",
    "RCPT"]). Never raises on SMTP failures: inspect the result."""
    if not shutil.which(SWAKS):
        import unittest
        raise unittest.SkipTest("swaks is not installed")
    source = source or netalloc.client_address()
    argv = [SWAKS, "--server", address, "--port", str(port), "--local-interface", source,
            "--from", mail_from, "--to", to if isinstance(to, str) else ",".join(to),
            "--helo", helo, "--timeout", f"{max(1, int(timeout) - 2)}s", *extra]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C"}
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                             errors="replace", env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise SmtpTimeout(f"swaks did not finish within {timeout}s: {e.stdout!r}") from e
    output = res.stdout + res.stderr
    server, client = [], []
    for line in output.splitlines():
        line = line.rstrip("\r")
        m = _SWAKS_SERVER_RE.match(line)
        if m:
            server.append(m.group(1))
            continue
        m = _SWAKS_CLIENT_RE.match(line)
        if m:
            client.append(m.group(1))
    queue_id = None
    for line in server:
        m = _QUEUED_RE.search(line)
        if line.startswith("250") and m:
            queue_id = m.group(1)
    return SwaksResult(res.returncode, output, server, client, queue_id)
