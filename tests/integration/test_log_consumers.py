"""Log consumers count ours like stock's: the same client scenarios run
against stock postscreen and ours (two private stock Postfix 3.7 instances,
one running our postscreen, both handing off to stock smtpd), then Debian's
`pflogsumm` and `prometheus-postfix-exporter` read each instance's maillog.
The summaries and the exporter's postfix_* counters must be the same.

Scenarios: a pregreeting client (enforce: logged RCPT reject), a non-SMTP
command (drop), an access-list reject (drop), a client that passes the deep
tests (PASS NEW, come back later) and returns (PASS OLD, mail delivered to
stock smtpd's queue), and a client that hangs up in greet wait.
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

from postscreen_engine_common import Pair, session
from psmtest import client_address, free_port, require_root, server_address

PFLOGSUMM = "/usr/sbin/pflogsumm"
EXPORTER = "/usr/bin/prometheus-postfix-exporter"
END_MARK = "psmendoflog"


def scenarios(instance, sources):
    """Drives the same sessions (same client addresses) into one instance."""
    # After a pregreet, postscreen sends no final greeting: the teaser line
    # comes with the reply to the next command.
    # The client reads that reply before it goes on: a command sent while
    # the engine was still busy with the early one would be pipelining.
    pregreet = [("send", b"EHLO early.example\r\n"), ("reply",),
                ("cmd", "MAIL FROM:<zombie@spam.example>"), ("cmd", "RCPT TO:<victim@psm.test>"),
                ("cmd", "QUIT"), ("closed",)]
    session(instance, "enforce", pregreet, source=sources["pregreet"])
    non_smtp = [("reply",), ("cmd", "EHLO a.example"), ("cmd", "GET / HTTP/1.0"), ("closed",)]
    session(instance, "enforce", non_smtp, source=sources["non_smtp"])
    session(instance, "enforce", [("reply",), ("closed",)], source=sources["denied"])
    good = [("reply",), ("cmd", "EHLO good.example"), ("cmd", "MAIL FROM:<s@x.example>"),
            ("cmd", "RCPT TO:<r@psm.test>"), ("cmd", "QUIT"), ("closed",)]
    session(instance, "enforce", good, source=sources["good"])
    again = [("reply",), ("cmd", "EHLO good.example"), ("cmd", "MAIL FROM:<s@x.example>"),
             ("cmd", "RCPT TO:<postmaster@psm.test>"), ("cmd", "DATA"),
             ("send", b"Subject: log consumers\r\n\r\nhello\r\n.\r\n"), ("reply",), ("cmd", "QUIT")]
    session(instance, "enforce", again, source=sources["good"], end="PASS OLD")
    instance.pf.wait_queued(timeout=10)
    session(instance, "enforce", [("sleep", 0.3)], source=sources["hangup"])


def normalised_log(instance):
    """The instance's maillog with what differs by nature between the two
    instances made equal: their directories and the client ports. Pids and
    queue ids stay (the consumers parse them)."""
    text = instance.pf.log.text(since=0)
    text = text.replace(instance.pf.dir, "INSTANCE")
    return re.sub(r"\]:\d{4,5}\b", "]:PORT", text)


def pflogsumm(log_text):
    with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
        f.write(log_text)
        f.flush()
        out = subprocess.run([PFLOGSUMM, "--problems_first", "--verbose_msg_detail", f.name],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    # The report's own date line and per-hour table differ with the time of the run.
    return [line for line in out.splitlines() if not re.match(r"^\s*(Postfix log summaries for|\d{4}-\d\d-\d\d|Per-Hour)", line)]


class Exporter:
    """prometheus-postfix-exporter following one log file on a loopback port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="psm-exporter-")
        self.log = os.path.join(self.dir, "mail.log")
        open(self.log, "w").close()
        self.address = server_address()
        self.port = free_port(self.address)
        self.proc = subprocess.Popen(
            [EXPORTER, f"--web.listen-address={self.address}:{self.port}", f"--postfix.logfile_path={self.log}",
             f"--postfix.showq_path={os.path.join(self.dir, 'no-showq')}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection((self.address, self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.close()
                    raise RuntimeError("prometheus-postfix-exporter did not start")
                time.sleep(0.05)

    def counters(self, log_text):
        """Feeds the log (the exporter tails from the end of the file, so
        the lines are appended after it started) and returns the postfix_*
        samples once the exporter has read all of it: a last line from a
        made-up service, counted as unsupported, marks the end."""
        time.sleep(0.5)  # let the tailer reach the end of the empty file
        last = log_text.rstrip("\n").rsplit("\n", 1)[-1]
        stamp_and_host = re.match(r"^(\S+ +\d+ [\d:]+ \S+) ", last).group(1)
        with open(self.log, "a") as f:
            f.write(log_text)
            f.write(f"{stamp_and_host} postfix/{END_MARK}[1]: end of input\n")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            body = urllib.request.urlopen(f"http://{self.address}:{self.port}/metrics", timeout=5).read().decode()
            if f'service="{END_MARK}"' in body:
                return sorted(line for line in body.splitlines()
                              if line.startswith("postfix_") and not line.startswith("postfix_up")
                              and "showq" not in line and "_seconds" not in line and END_MARK not in line)
            time.sleep(0.2)
        raise AssertionError("prometheus-postfix-exporter did not read the whole log within 20 s")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@unittest.skipUnless(os.path.exists(PFLOGSUMM) and os.path.exists(EXPORTER),
                     "pflogsumm / prometheus-postfix-exporter not installed (proto/install-deps --test)")
class LogConsumers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.sources = {name: client_address() for name in ("pregreet", "non_smtp", "denied", "good", "hangup")}
        denied = cls.sources["denied"]
        params = {
            "postscreen_greet_action": "enforce",
            "postscreen_pipelining_enable": "yes", "postscreen_non_smtp_command_enable": "yes",
            "postscreen_bare_newline_enable": "yes", "postscreen_non_smtp_command_action": "drop",
            "postscreen_access_list": f"permit_mynetworks, inline:{{ {denied}=reject }}",
            "postscreen_denylist_action": "drop", "postscreen_greet_wait": "2s",
        }
        cls.pair = cls.enterClassContext(Pair(params, {"enforce": {}}))
        cls.logs = {}
        for instance in cls.pair.both():
            scenarios(instance, cls.sources)
            cls.logs["ours" if instance.ours else "stock"] = normalised_log(instance)

    def test_the_scenarios_left_their_marks(self):
        for side, log in self.logs.items():
            with self.subTest(side=side):
                for pattern in (r"PREGREET \d+ after", r"NOQUEUE: reject: RCPT from", r"NON-SMTP COMMAND from",
                                r"DENYLISTED \[", r"PASS NEW \[", r"PASS OLD \[", r"HANGUP after",
                                r"postfix/smtpd\[\d+\]: connect from", r"postfix/cleanup\[\d+\]: [0-9A-F]+: message-id"):
                    self.assertRegex(log, pattern)

    def test_pflogsumm_reports_the_same(self):
        stock, ours = pflogsumm(self.logs["stock"]), pflogsumm(self.logs["ours"])
        # The pregreet client's 550 and the come-back-later 450, both at RCPT.
        self.assertTrue(any(re.match(r"\s*2\s+rejected", line) for line in stock), "\n".join(stock))
        self.assertEqual(ours, stock)

    def test_prometheus_exporter_counts_the_same(self):
        results = {}
        for side in ("stock", "ours"):
            exporter = Exporter()
            try:
                results[side] = exporter.counters(self.logs[side])
            finally:
                exporter.close()
        self.assertTrue(any("postscreen" in s or "smtpd" in s for s in results["stock"]), results["stock"])
        self.assertEqual(results["ours"], results["stock"], postscreen_difference(self.logs))


def postscreen_difference(logs):
    """The postscreen lines one log has and the other lacks (pids, ports and
    counts made equal), for the failure message."""
    def texts(log):
        lines = [re.sub(r"\d+", "N", line.split(": ", 1)[-1])
                 for line in log.splitlines() if "postfix/postscreen[" in line]
        return sorted(lines)
    stock, ours = texts(logs["stock"]), texts(logs["ours"])
    only_stock = [line for line in stock if stock.count(line) > ours.count(line)]
    only_ours = [line for line in ours if ours.count(line) > stock.count(line)]
    return f"postscreen lines only stock has: {only_stock}; only ours has: {only_ours}"


if __name__ == "__main__":
    unittest.main()
