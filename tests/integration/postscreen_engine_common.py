"""Shared by the test_postscreen_engine_*.py tests: one scenario, two
private stock Postfix 3.7 instances with the same main.cf and master.cf -
one runs stock postscreen, the other runs ours in its place (stock master,
`use_ours("postscreen")`). A session script runs against both; the test
compares what the client saw and the normalised postscreen log lines.

A script is a list of steps:
    ("cmd", "NOOP")           send the line + CRLF, read one reply
    ("send", b"...")          send raw bytes
    ("reply",)                read one reply
    ("closed",)               wait until the server closes the connection
    ("sleep", 1.5)
    ("trickle", b"...", 1.0)  send one byte, wait, send the next...
The transcript is the list of reply lines (each reply's lines joined with
" | ") and "<closed>" when the server closed.
"""

import re
import time

from psmtest import SmtpClient, SmtpClosed, SmtpTimeout, StockPostfix, client_address, normalize

HOSTNAME = "mx.psm.test"
BANNER = f"{HOSTNAME} ESMTP Postfix"

# Lines that do not belong to one session.
_NOISE = re.compile(r"^(cache \S+ (full|partial) cleanup|table \S+ has changed|(entering|leaving) STRESS)")
_LOCALTIME = re.compile(r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d")


class Instance:
    """One private Postfix instance running stock or our postscreen."""

    def __init__(self, ours, params, services):
        self.ours = ours
        # A value may be a callable of the instance (e.g. to write a map).
        self.pf = StockPostfix(myhostname=HOSTNAME)
        self.pf.set(**{name: value(self.pf) if callable(value) else value for name, value in params.items()})
        self.endpoints = {}
        for name, options in services.items():
            self.endpoints[name] = self.pf.add_postscreen(options=dict(options) or None)
        if ours:
            self.pf.use_ours("postscreen")

    @property
    def log(self):
        return self.pf.log

    def postscreen_pids(self, since=0):
        return sorted({line.pid for line in self.log.lines("postscreen", since=since) if line.pid})


class Pair:
    """Stock and ours, started together, stopped together."""

    def __init__(self, params, services):
        self.stock = Instance(False, params, services)
        self.ours = Instance(True, params, services)

    def __enter__(self):
        self.stock.pf.start()
        try:
            self.ours.pf.start()
        except BaseException:
            self.stock.pf.stop()
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.ours.pf.stop()
        finally:
            self.stock.pf.stop()

    def both(self):
        return (self.stock, self.ours)


def run_script(client, steps):
    transcript = []
    for step in steps:
        kind = step[0]
        try:
            if kind == "cmd":
                client.send_line(step[1])
                transcript.append(" | ".join(client.read_reply().lines))
            elif kind == "send":
                client.send(step[1])
            elif kind == "reply":
                transcript.append(" | ".join(client.read_reply().lines))
            elif kind == "closed":
                client.wait_closed()
                transcript.append("<closed>")
            elif kind == "sleep":
                time.sleep(step[1])
            elif kind == "trickle":
                for i in range(len(step[1])):
                    client.send(step[1][i:i + 1])
                    time.sleep(step[2])
            else:
                raise ValueError(f"unknown step {step!r}")
        except SmtpClosed as e:
            transcript.append(f"<closed while: {step!r}>")
            if e.partial:
                transcript.append(e.partial.decode("utf-8", "replace"))
            break
        except (BrokenPipeError, ConnectionResetError):
            transcript.append(f"<reset while: {step!r}>")
            break
    return transcript


def session(instance, service, steps, *, source=None, end=r"DISCONNECT", timeout=10):
    """Runs a script; returns (transcript, normalised postscreen lines of the
    session, the client). Waits for the session's last log line `end`."""
    mark = instance.log.mark()
    address, port = instance.endpoints[service]
    client = SmtpClient(address, port, source=source or client_address(), timeout=timeout)
    client.connect()
    try:
        transcript = run_script(client, steps)
    finally:
        client.close()
    if end:
        instance.log.wait_for(rf"^{end} \[{re.escape(client.source)}\]:{client.source_port}\b", "postscreen",
                              since=mark, timeout=timeout)
    lines = session_lines(instance, mark, client, address)
    return normalise_transcript(transcript, client, address), lines, client


def session_lines(instance, mark, client, server_address):
    out = []
    for line in instance.log.lines("postscreen", since=mark):
        if _NOISE.search(line.text):
            continue
        text = normalize(line.text, addresses={client.source: "CLIENT", server_address: "SERVER"})
        out.append(_LOCALTIME.sub("LOCALTIME", text))
    return out


def normalise_transcript(transcript, client, server_address):
    out = []
    for entry in transcript:
        entry = entry.replace(client.source, "CLIENT").replace(str(client.source_port), "PORT")
        out.append(_LOCALTIME.sub("LOCALTIME", entry))
    return out


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None
