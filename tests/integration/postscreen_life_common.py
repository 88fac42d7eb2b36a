"""Shared by the test_postscreen_life_*.py tests: whole postscreen sessions
(early tests, DNSBL, access list, hand-off to smtpd) run against two
private stock Postfix 3.7 instances that share one NSD with the test
zones - one runs stock postscreen + stock dnsblog (system resolver pointed
at NSD in its mount namespace), the other runs OUR postscreen + OUR dnsblog
(`dnsblog_nameservers` = NSD) under the same stock master. Each scenario
runs against both at once (two threads, from the same client address, so
DNS listings apply to both) and the test compares what the client saw and
the normalised postscreen log lines.

Scripts are lists of steps, as in postscreen_engine_common, plus:
    ("line",)                 read one reply line (e.g. the 220- teaser)
    ("close",)                close the connection (client hangs up)
"""

import re
import threading
import time

from postscreen_engine_common import HOSTNAME, normalise_transcript, session_lines
from psmtest import SmtpClient, SmtpClosed, StockPostfix, normalize

BANNER = f"{HOSTNAME} ESMTP Postfix"

# Short timers keep each scenario at ~2 s (stock's timers have whole-second
# granularity: a 2 s greet wait lasts 1-3 s).
COMMON = {
    "postscreen_greet_wait": "2s",
    "postscreen_dnsbl_timeout": "5s",
    "smtpd_banner": "$myhostname ESMTP $mail_name",
}


class LifeInstance:
    """One private Postfix instance with stock or our postscreen + dnsblog."""

    def __init__(self, ours, dns, params, services, resolv_options="timeout:1 attempts:2"):
        self.ours = ours
        self.pf = StockPostfix(myhostname=HOSTNAME, dns=dns, resolv_options=resolv_options)
        merged = dict(COMMON, **params)
        self.pf.set(**{name: value(self.pf) if callable(value) else value for name, value in merged.items()})
        self.endpoints = {}
        for name, options in services.items():
            opts = {k: v(self.pf) if callable(v) else v for k, v in options.items()}
            self.endpoints[name] = self.pf.add_postscreen(options=opts or None)
        if ours:
            self.pf.use_ours("postscreen")
            self.pf.use_ours("dnsblog")
            self.pf.set(dnsblog_nameservers=f"{dns.address}:53")

    @property
    def name(self):
        return "ours" if self.ours else "stock"

    @property
    def log(self):
        return self.pf.log


class LifePair:
    """Stock and ours, started together, stopped together."""

    def __init__(self, dns, params, services, *, allowed_extra=(), allowed_missing=(), **kw):
        """`allowed_extra`: regexes of problem or dnsblog lines ours may log
        beyond stock's, `allowed_missing`: of dnsblog lines stock may log
        and ours not (known, reported differences)."""
        self.stock = LifeInstance(False, dns, params, services, **kw)
        self.ours = LifeInstance(True, dns, params, services, **kw)
        self.allowed_extra = [re.compile(rx) for rx in allowed_extra]
        self.allowed_missing = [re.compile(rx) for rx in allowed_missing]

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
        if exc[0] is None:
            extra = self.extra_problems()
            if extra:
                raise AssertionError("our instance logged problems that stock did not:\n" + "\n".join(extra))
            extra, missing = self.dnsblog_differences()
            if extra or missing:
                raise AssertionError("dnsblog lines differ from stock's; only ours:\n" + "\n".join(extra)
                                     + "\nonly stock's:\n" + "\n".join(missing))

    def dnsblog_differences(self):
        """dnsblog's lines of the whole run (the same clients asked both):
        (only in ours, only in stock's), minus the allowed ones."""
        def texts(instance):
            return [f"{line.program}: {normalize(line.text)}" for line in instance.log.lines("dnsblog")]
        stock, extra = texts(self.stock), []
        for text in texts(self.ours):
            if text in stock:
                stock.remove(text)
            elif not any(rx.search(text) for rx in self.allowed_extra):
                extra.append(text)
        missing = [t for t in stock if not any(rx.search(t) for rx in self.allowed_missing)]
        return extra, missing

    def extra_problems(self):
        """Warning/fatal/panic lines (normalised, whole run including the
        stop) that ours logged more often than stock."""
        def texts(instance):
            out = []
            for line in instance.pf.problems():
                text = line.text.replace(instance.pf.dir, "DIR")
                out.append(f"{line.program}: {normalize(text)}")
            return out
        stock = texts(self.stock)
        extra = []
        for text in texts(self.ours):
            if text in stock:
                stock.remove(text)
            elif not any(rx.search(text) for rx in self.allowed_extra):
                extra.append(text)
        return extra

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
            elif kind == "line":
                transcript.append(client.read_line()[0].decode("utf-8", "replace").rstrip("\r\n"))
            elif kind == "closed":
                client.wait_closed()
                transcript.append("<closed>")
            elif kind == "close":
                client.close()
                break
            elif kind == "sleep":
                time.sleep(step[1])
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


class Outcome:
    """One session's result: transcript and postscreen lines (normalised),
    the client, and the raw LogLines."""

    def __init__(self, transcript, lines, client, raw, elapsed):
        self.transcript = transcript
        self.lines = lines
        self.client = client
        self.raw = raw
        self.elapsed = elapsed  # seconds from connect to the end of the script


def session(instance, service, steps, source, *, end=r"DISCONNECT", timeout=15, settle=0.0):
    """Runs a script from `source`; waits for the session's postscreen line
    `end` (a regex matched before ` [addr]:port`), then `settle` seconds
    more (to catch lines that should NOT follow, e.g. after a hand-off)."""
    mark = instance.log.mark()
    address, port = instance.endpoints[service]
    client = SmtpClient(address, port, source=source, timeout=timeout)
    client.connect()
    try:
        transcript = run_script(client, steps)
        elapsed = time.monotonic() - client.connected_at
    finally:
        client.close()
    if end:
        instance.log.wait_for(rf"^{end} \[{re.escape(client.source)}\]:{client.source_port}\b", "postscreen",
                              since=mark, timeout=timeout)
    if settle:
        time.sleep(settle)
    raw = [line for line in instance.log.lines("postscreen", since=mark)]
    lines = [line.replace(instance.pf.dir, "DIR") for line in session_lines(instance, mark, client, address)]
    return Outcome(normalise_transcript(transcript, client, address), lines, client, raw, elapsed)


def both_sessions(pair, service, steps, source, **kw):
    """The same scenario against stock and ours in parallel; returns
    (stock Outcome, our Outcome)."""
    results, errors = {}, {}

    def run(instance):
        try:
            results[instance.name] = session(instance, service, steps, source, **kw)
        except BaseException as e:  # reported in the main thread
            errors[instance.name] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in pair.both()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        report = "".join(f"{name}: {e}\n--- {name} maillog ---\n{getattr(pair, name).pf.log.tail(30)}\n"
                         for name, e in sorted(errors.items()))
        raise AssertionError(("both failed; " if len(errors) == 2 else "") + report) from next(iter(errors.values()))
    return results["stock"], results["ours"]


class LifeCase:
    """Mixin for unittest.TestCase: self.pair is a LifePair."""

    def compare(self, service, steps, source, **kw):
        stock, ours = both_sessions(self.pair, service, steps, source, **kw)
        self.assertEqual(ours.transcript, stock.transcript, "replies differ from stock")
        self.assertEqual(ours.lines, stock.lines, "postscreen log lines differ from stock")
        return stock, ours
