"""postscreen life cycle, the early tests together: pregreet and DNSBL in
one session (a pregreet drop ends before any DNSBL rank line; with both
enforced the DNSBL reply wins), DNSBL without the teaser (empty greet
banner), a hangup while only the DNSBL is being waited for, hangups in the
SMTP engine before and after RCPT, and two concurrent sessions of one
client (one PASS NEW, one PASS OLD; one shared DNSBL lookup). Our
postscreen + our dnsblog against stock 3.7 side by side
(postscreen_life_common): replies and normalised postscreen log lines
must equal stock's.
"""

import os
import re
import signal
import threading
import time
import unittest

from postscreen_life_common import BANNER, LifeCase, LifePair
from psmtest import DnsServer, SmtpClient, Zone, client_address, normalize, require_root, wait_until

CONNECT = "CONNECT from [CLIENT]:PORT to [SERVER]:PORT"
EARLY = b"EHLO early.example\r\n"
PREGREET = r"PREGREET 20 after TIME from [CLIENT]:PORT: EHLO early.example\r\n"
BLOCKED = "Service unavailable; client [CLIENT] blocked using bl.psm.test"


class Mixed(LifeCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.bl = Zone("bl.psm.test")
        cls.bl.list_address("127.0.0.2", "127.0.0.2")
        # Listed clients, one per scenario (listing more later with an NSD
        # reload races with NSD's old server processes).
        cls.pool = [client_address() for _ in range(20)]
        for address in cls.pool:
            cls.bl.list_address(address, "127.0.0.2")
        cls.dns = cls.enterClassContext(DnsServer([cls.bl]))
        bl = {"postscreen_dnsbl_sites": "bl.psm.test", "postscreen_cache_map": ""}
        services = {
            "pg_drop": dict(bl, postscreen_greet_action="drop", postscreen_dnsbl_action="enforce"),
            # A long greet wait: these sessions must end it early.
            "pg_enforce": dict(bl, postscreen_greet_action="enforce", postscreen_dnsbl_action="enforce",
                               postscreen_greet_wait="10s"),
            "pg_ignore": dict(bl, postscreen_greet_action="ignore", postscreen_dnsbl_action="drop",
                              postscreen_greet_wait="10s"),
            "nobanner": dict(bl, postscreen_greet_banner="", postscreen_dnsbl_action="drop",
                             postscreen_greet_wait="10s"),
            "deep": {"postscreen_pipelining_enable": "yes", "postscreen_cache_map": ""},
            "shared": {"postscreen_dnsbl_sites": "bl.psm.test", "postscreen_dnsbl_action": "enforce"},
            # The hand-off fails: no such smtpd service.
            "nosmtpd": {"smtpd_service_name": "nosmtpd", "postscreen_cache_map": ""},
            "nosmtpd_noteaser": {"smtpd_service_name": "nosmtpd", "postscreen_cache_map": "",
                                 "postscreen_greet_banner": ""},
        }
        cls.pair = cls.enterClassContext(LifePair(cls.dns, {}, services))

    def assert_early_end(self, stock, ours):
        """The greet wait (10 s) ended as soon as every early test was decided."""
        self.assertLess(stock.elapsed, 6, "stock")
        self.assertLess(ours.elapsed, 6, "ours")

    def listed(self):
        """A client address listed in bl.psm.test, never used before."""
        return self.pool.pop()

    def test_pregreet_drop_before_dnsbl_rank(self):
        a = self.listed()
        stock, ours = self.compare("pg_drop", [("send", EARLY), ("reply",), ("closed",)], a, settle=0.5)
        self.assertEqual(ours.transcript, [f"220-{BANNER} | 521 5.5.1 Protocol error", "<closed>"])
        self.assertEqual(ours.lines, [CONNECT, PREGREET, "DISCONNECT [CLIENT]:PORT"])

    def test_pregreet_and_dnsbl_enforced_dnsbl_reply_wins(self):
        a = self.listed()
        script = [("send", EARLY), ("reply",), ("cmd", "MAIL FROM:<s@x.example>"), ("cmd", "RCPT TO:<r@y.example>"),
                  ("cmd", "QUIT"), ("closed",)]
        stock, ours = self.compare("pg_enforce", script, a)
        self.assertEqual(ours.transcript[2], f"550 5.7.1 {BLOCKED}")
        self.assertEqual(ours.lines[:3], [CONNECT, PREGREET, "DNSBL rank 1 for [CLIENT]:PORT"])
        self.assertEqual(ours.lines[-1], "DISCONNECT [CLIENT]:PORT")
        self.assertEqual(ours.transcript[0].split(" | ")[:2], [f"220-{BANNER}", "250-mx.psm.test"])
        self.assert_early_end(stock, ours)

    def test_pregreet_ignore_clean_dnsbl(self):
        script = [("send", EARLY), ("reply",), ("reply",), ("cmd", "QUIT"), ("closed",)]
        stock, ours = self.compare("pg_ignore", script, client_address(), end=r"PREGREET \d+ after \S+ from",
                                   settle=0.5)
        self.assertEqual(ours.transcript[0], f"220-{BANNER} | 220 {BANNER}")
        self.assertEqual(ours.lines, [CONNECT, PREGREET])
        self.assert_early_end(stock, ours)

    def test_pregreet_ignore_listed_dnsbl_drop(self):
        a = self.listed()
        stock, ours = self.compare("pg_ignore", [("send", EARLY), ("reply",), ("closed",)], a)
        self.assertEqual(ours.transcript, [f"220-{BANNER} | 521 5.7.1 {BLOCKED}", "<closed>"])
        self.assertEqual(ours.lines, [CONNECT, PREGREET, "DNSBL rank 1 for [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])
        self.assert_early_end(stock, ours)

    def test_dnsbl_without_teaser(self):
        a = self.listed()
        stock, ours = self.compare("nobanner", [("reply",), ("closed",)], a)
        self.assertEqual(ours.transcript, [f"521 5.7.1 {BLOCKED}", "<closed>"])
        self.assert_early_end(stock, ours)
        self.assertEqual(ours.lines, [CONNECT, "DNSBL rank 1 for [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])
        stock, ours = self.compare("nobanner", [("reply",), ("cmd", "QUIT"), ("closed",)], client_address(),
                                   end="PASS NEW", settle=0.3)
        self.assertEqual(ours.transcript[0], f"220 {BANNER}")
        self.assertEqual(ours.lines, [CONNECT, "PASS NEW [CLIENT]:PORT"])
        self.assert_early_end(stock, ours)

    def test_hangup_while_only_dnsbl_is_pending(self):
        # Without the pregreet test the socket is not watched: the hangup is
        # noticed only when the drop reply is written (or not at all).
        a = self.listed()
        stock, ours = self.compare("nobanner", [("sleep", 0.2), ("close",)], a, settle=0.5)
        self.assertEqual(ours.lines[:2], [CONNECT, "DNSBL rank 1 for [CLIENT]:PORT"])

    def test_hangup_in_smtp_engine_before_rcpt(self):
        script = [("reply",), ("cmd", "EHLO c.example"), ("close",)]
        stock, ours = self.compare("deep", script, client_address())
        self.assertEqual(ours.lines, [CONNECT, "HANGUP after TIME from [CLIENT]:PORT in tests after SMTP handshake",
                                      "DISCONNECT [CLIENT]:PORT"])

    def test_hangup_in_smtp_engine_after_rcpt_still_passes(self):
        script = [("reply",), ("cmd", "EHLO c.example"), ("cmd", "MAIL FROM:<s@x.example>"),
                  ("cmd", "RCPT TO:<r@y.example>"), ("close",)]
        stock, ours = self.compare("deep", script, client_address())
        self.assertEqual(ours.transcript[3], "450 4.3.2 Service currently unavailable")
        self.assertEqual(ours.lines[-3:], ["HANGUP after TIME from [CLIENT]:PORT in tests after SMTP handshake",
                                           "PASS NEW [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])

    def test_hangup_while_dnsbl_and_pregreet_are_pending(self):
        stock, ours = self.compare("pg_drop", [("line",), ("close",)], self.listed(), settle=0.5)
        self.assertEqual(ours.lines, [CONNECT, "HANGUP after TIME from [CLIENT]:PORT in tests before SMTP handshake",
                                      "DISCONNECT [CLIENT]:PORT"])

    def test_handoff_fails_after_the_teaser(self):
        # The engine takes over (X21): 220, then 421 for anything but QUIT.
        script = [("reply",), ("cmd", "EHLO c.example"), ("closed",)]
        stock, ours = self.compare("nosmtpd", script, client_address())
        self.assertEqual(ours.transcript, [f"220-{BANNER} | 220 {BANNER}", "421 4.3.2 No system resources",
                                           "<closed>"])
        self.assertEqual(ours.lines, [
            CONNECT, "PASS NEW [CLIENT]:PORT",
            "warning: cannot connect to service private/nosmtpd: No such file or directory",
            "PASS OLD [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])

    def test_handoff_fails_without_teaser(self):
        stock, ours = self.compare("nosmtpd_noteaser", [("reply",), ("closed",)], client_address(),
                                   end="CONNECT from", settle=1.0)
        self.assertEqual(ours.transcript, ["421 4.3.2 All server ports are busy", "<closed>"])
        self.assertEqual(ours.lines, [
            CONNECT, "warning: cannot connect to service private/nosmtpd: No such file or directory"])

    def test_many_clients_at_once(self):
        # Ten listed and ten clean clients at the same moment: our postscreen
        # pipelines their requests on one dnsblog connection.
        clients = [(self.listed(), True) for _ in range(10)] + [(client_address(), False) for _ in range(10)]
        results = {}
        for instance in self.pair.both():
            mark = instance.log.mark()
            address, port = instance.endpoints["nobanner"]
            replies = {}

            def run(source):
                c = SmtpClient(address, port, source=source, timeout=20)
                with c:
                    replies[source] = c.read_reply().lines[0].replace(source, "CLIENT")

            threads = [threading.Thread(target=run, args=(source,)) for source, _ in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join(40)
            instance.log.wait_for(r"^(DISCONNECT|PASS NEW) ", "postscreen", since=mark, count=20, timeout=20)
            time.sleep(0.3)
            lines = sorted(normalize(line.text, addresses={address: "SERVER"})
                           for line in instance.log.lines("postscreen", since=mark))
            results[instance.name] = (replies, lines)
        self.assertEqual(results["ours"], results["stock"])
        replies, lines = results["ours"]
        for source, listed in clients:
            self.assertEqual(replies[source], f"521 5.7.1 {BLOCKED}" if listed else f"220 {BANNER}")
            self.assertIn(f"DNSBL rank 1 for [{source}]:PORT" if listed else f"PASS NEW [{source}]:PORT", lines)

    def test_dnsblog_restarted_between_sessions(self):
        # Our postscreen keeps one connection to dnsblog: when dnsblog goes
        # away while idle, the next lookup reconnects, silently (the class
        # fails on any warning stock does not log too).
        first, second = self.listed(), self.listed()
        stock, ours = self.compare("nobanner", [("reply",), ("closed",)], first)
        self.assertEqual(ours.lines, [CONNECT, "DNSBL rank 1 for [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])
        for instance in self.pair.both():
            pid = instance.log.wait_for(rf"^addr {re.escape(first)} listed by ", "dnsblog", since=0).pid
            os.kill(int(pid), signal.SIGTERM)
            wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10, message=f"{instance.name} dnsblog exit")
        stock, ours = self.compare("nobanner", [("reply",), ("closed",)], second)
        self.assertEqual(ours.transcript, [f"521 5.7.1 {BLOCKED}", "<closed>"])
        self.assertEqual(ours.lines, [CONNECT, "DNSBL rank 1 for [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])

    def concurrent(self, instance, source, script_end):
        """Two sessions from `source` at once; returns the normalised
        postscreen lines (sorted: the two sessions interleave) and replies."""
        mark = instance.log.mark()
        address, port = instance.endpoints["shared"]
        clients = [SmtpClient(address, port, source=source, timeout=15) for _ in range(2)]
        replies = [None, None]

        def run(i):
            replies[i] = " | ".join(clients[i].read_reply().lines)

        for c in clients:
            c.connect()
        try:
            threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
        finally:
            for c in clients:
                c.close()
        instance.log.wait_for(rf"^{script_end} \[{re.escape(source)}\]", "postscreen", since=mark, count=2,
                              timeout=15)
        time.sleep(0.3)
        lines = [normalize(line.text, addresses={source: "CLIENT", address: "SERVER"})
                 for line in instance.log.lines("postscreen", since=mark)
                 if source in line.text]
        return sorted(lines), sorted(r.replace(source, "CLIENT") for r in replies)

    def test_two_concurrent_sessions_of_one_client(self):
        source = client_address()
        results = {}
        for instance in self.pair.both():
            results[instance.name] = self.concurrent(instance, source, "PASS (NEW|OLD)")
        self.assertEqual(results["ours"], results["stock"])
        lines, replies = results["ours"]
        self.assertEqual(lines, [CONNECT, CONNECT, "PASS NEW [CLIENT]:PORT", "PASS OLD [CLIENT]:PORT"])
        self.assertEqual(replies, [f"220-{BANNER} | 220 {BANNER}"] * 2)

    def test_two_concurrent_listed_sessions_share_one_lookup(self):
        source = self.listed()
        results = {}
        for instance in self.pair.both():
            results[instance.name] = self.concurrent(instance, source, "DISCONNECT")
        self.assertEqual(results["ours"], results["stock"])
        lines, replies = results["ours"]
        hangup = "HANGUP after TIME from [CLIENT]:PORT in tests after SMTP handshake"
        self.assertEqual(lines, [CONNECT, CONNECT, "DISCONNECT [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT",
                                 "DNSBL rank 1 for [CLIENT]:PORT", "DNSBL rank 1 for [CLIENT]:PORT", hangup, hangup])
        self.assertEqual(replies, [f"220-{BANNER} | 220 {BANNER}"] * 2)
        for instance in self.pair.both():
            wait_until(lambda: any(source in l.text for l in instance.log.lines("dnsblog")), 10,
                       message=f"{instance.name} dnsblog line")
            with self.subTest(instance=instance.name):
                self.assertEqual(len([l for l in instance.log.lines("dnsblog") if source in l.text]), 1)


if __name__ == "__main__":
    unittest.main()
