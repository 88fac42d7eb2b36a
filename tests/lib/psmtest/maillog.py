"""Reading a Postfix `maillog_file` while the daemons write it, and
normalising lines so that stock's and ours can be compared.

    log = Maillog(path)
    m = log.mark()                                  # byte offset "now"
    ... do something ...
    line = log.wait_for(r"PASS NEW \\[(\\S+)\\]", "postscreen", since=m)
    line.program, line.pid, line.text, line.match.group(1)
    log.assert_absent(r"PASS OLD", "postscreen", since=m, wait=0.5)

Line format (postlogd, 3.7): `Nov 22 03:18:59 stock postfix/master[8156]:
text` (no sub-second part; host = first label of myhostname). A program
filter matches the whole program field (`postfix/postscreen`) or its last
component (`postscreen`). Only complete lines (ending in a newline) are
returned. Every wait is bounded and polls the file every 20 ms.
"""

import dataclasses
import os
import re
import time

LINE_RE = re.compile(
    r"^(?P<time>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?) (?P<host>\S+) "
    r"(?P<program>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<text>.*)$")


@dataclasses.dataclass
class LogLine:
    time: str
    host: str
    program: str          # e.g. postfix/postscreen
    pid: int              # None when the line had no [pid]
    text: str             # everything after "program[pid]: "
    raw: str
    offset: int = 0       # byte offset of the line in the file
    match: object = None  # the re.Match of the wait/filter regex, if any

    @property
    def service(self):
        """Last component of the program name: `postscreen`."""
        return self.program.rsplit("/", 1)[-1]

    @property
    def severity(self):
        for level in ("warning", "error", "fatal", "panic"):
            if self.text.startswith(level + ": "):
                return level
        return "info"

    def normalized(self, **kw):
        """`service: normalised text`, for comparisons."""
        return f"{self.service}: {normalize(self.text, **kw)}"

    def __str__(self):
        return self.raw


def parse_line(raw, offset=0):
    m = LINE_RE.match(raw)
    if not m:
        return LogLine("", "", "", None, raw, raw, offset)
    pid = m.group("pid")
    return LogLine(m.group("time"), m.group("host"), m.group("program"),
                   int(pid) if pid else None, m.group("text"), raw, offset)


def program_matches(line, program):
    if program is None:
        return True
    if isinstance(program, (list, tuple, set, frozenset)):
        return any(program_matches(line, p) for p in program)
    return line.program == program or line.service == program


class Maillog:
    """Incremental reader of one maillog file (which may not exist yet)."""

    def __init__(self, path):
        self.path = path
        self.last_mark = 0

    def _read_from(self, offset):
        """(lines, end offset of the last complete line) from `offset`."""
        try:
            with open(self.path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return [], offset
        end = data.rfind(b"\n")
        if end < 0:
            return [], offset
        out = []
        pos = offset
        for chunk in data[:end + 1].split(b"\n")[:-1]:
            out.append(parse_line(chunk.decode("utf-8", "replace"), pos))
            pos += len(chunk) + 1
        return out, offset + end + 1

    def size(self):
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def mark(self):
        """Offset just past the last complete line; later waits default to it."""
        _, end = self._read_from(self.last_mark if self.last_mark <= self.size() else 0)
        self.last_mark = end
        return end

    def lines(self, program=None, regex=None, since=None):
        """Complete lines after `since` (default: the last mark) that match
        `program` and `regex` (re.search on the text)."""
        since = self.last_mark if since is None else since
        rx = re.compile(regex) if isinstance(regex, str) else regex
        out = []
        for line in self._read_from(since)[0]:
            if not program_matches(line, program):
                continue
            if rx is not None:
                m = rx.search(line.text)
                if not m:
                    continue
                line.match = m
            out.append(line)
        return out

    def text(self, since=None):
        """The file's complete lines after `since` (default: the last mark;
        0 for the whole file) as one string."""
        since = self.last_mark if since is None else since
        return "".join(line.raw + "\n" for line in self._read_from(since)[0])

    def texts(self, program=None, since=None):
        return [line.text for line in self.lines(program, None, since)]

    def wait_for(self, regex, program=None, since=None, timeout=5.0, count=1):
        """Wait until `count` lines match; the first match (count == 1) or the
        list of the first `count` matches. AssertionError with the lines
        seen when the timeout passes."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.lines(program, regex, since)
            if len(found) >= count:
                return found[0] if count == 1 else found[:count]
            if time.monotonic() >= deadline:
                seen = "\n".join(str(x) for x in self.lines(None, None, since)[-30:])
                wanted = "a maillog line" if count == 1 else f"{count} maillog lines"
                raise AssertionError(
                    f"no {wanted} matching {regex!r}"
                    f"{' from ' + str(program) if program else ''} within {timeout}s; "
                    f"{len(found)} found. Lines since mark:\n{seen}")
            time.sleep(0.02)

    def wait_for_all(self, patterns, since=None, timeout=5.0):
        """`patterns`: list of (regex, program). Waits for each; returns the
        lines in the same order."""
        deadline = time.monotonic() + timeout
        return [self.wait_for(rx, prog, since, max(0.0, deadline - time.monotonic()))
                for rx, prog in patterns]

    def assert_absent(self, regex, program=None, since=None, wait=0.0):
        """Wait `wait` seconds, then fail if any line after `since` matches."""
        if wait:
            time.sleep(wait)
        found = self.lines(program, regex, since)
        if found:
            raise AssertionError(f"unexpected maillog line(s) matching {regex!r}:\n"
                                 + "\n".join(str(x) for x in found))

    def tail(self, n=40):
        lines, _ = self._read_from(0)
        return "\n".join(str(x) for x in lines[-n:])


# -- normalisation ----------------------------------------------------------

_NORMALIZERS = [
    # [addr]:port -> [addr]:PORT (postscreen style) and addr[1.2.3.4]:port
    (re.compile(r"(\[[0-9A-Fa-f:.]+\]):\d+"), r"\1:PORT"),
    # delays: "after 0.29", "HANGUP after 1.1"
    (re.compile(r"\bafter \d+(?:\.\d+)?(?=\s|$)"), "after TIME"),
    # pids in text: "pid 1234", "process ... pid 1234"
    (re.compile(r"\bpid \d+\b"), "pid PID"),
    # queue ids (short format: hex, 6..14 chars) before ":" or after "queued as "
    (re.compile(r"(?<![0-9A-Za-z])[0-9A-F]{6,14}(?=: )"), "QUEUEID"),
    (re.compile(r"(queued as )[0-9A-F]{6,14}\b"), r"\1QUEUEID"),
    # long queue ids (enable_long_queue_ids = yes): e.g. 4Kx9Pm2ZbHz3d
    (re.compile(r"(?<![0-9A-Za-z])[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{5,}(?=: )"),
     "QUEUEID"),
    # delay fields of delivery lines
    (re.compile(r"\b(delay|delays|conn_use|size)=[0-9./]+"), r"\1=N"),
]


def normalize(text, *, hosts=(), addresses=None, extra=()):
    """Replace what differs between two runs of the same scenario: ports
    after `[addr]:`, `after <time>`, `pid N`, queue ids, delay fields.
    `hosts`: host names to replace by HOST. `addresses`: dict address ->
    placeholder (e.g. {"127.12.2.5": "CLIENT"}). `extra`: more (regex,
    replacement) pairs applied last."""
    for rx, repl in _NORMALIZERS:
        text = rx.sub(repl, text)
    for host in hosts:
        text = text.replace(host, "HOST")
    if addresses:
        for addr in sorted(addresses, key=len, reverse=True):
            text = re.sub(rf"(?<![0-9.]){re.escape(addr)}(?![0-9])", addresses[addr], text)
    for rx, repl in extra:
        text = re.sub(rx, repl, text)
    return text


def normalize_lines(lines, program=None, **kw):
    """`service: normalised text` for each LogLine (optionally filtered)."""
    return [line.normalized(**kw) for line in lines if program_matches(line, program)]
