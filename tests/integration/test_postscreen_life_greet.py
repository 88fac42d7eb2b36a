"""postscreen life cycle, greeting phase: our postscreen + our dnsblog
against stock 3.7 side by side (postscreen_life_common). A clean client is
told the teaser banner, waits the greet wait, passes (PASS NEW) and is
handed to smtpd; on reconnect it is PASS OLD and meets smtpd at once. A
client that hangs up in the greet wait is logged HANGUP. A pregreeting
client with each postscreen_greet_action (ignore, enforce, drop).
Replies and normalised postscreen log lines must equal stock's.
"""

import threading
import unittest

from postscreen_life_common import BANNER, LifeCase, LifePair
from psmtest import DnsServer, Zone, client_address, require_root

TEASER = "mx.psm.test psm teaser"
EARLY = b"EHLO early.example\r\n"


class GreetPhase(LifeCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.dns = cls.enterClassContext(DnsServer([Zone("unused.psm.test")]))
        params = {"postscreen_greet_banner": "$myhostname psm teaser"}
        # One cache file per postscreen process (it holds an exclusive lock).
        services = {
            "default": {},
            "nobanner": {"postscreen_greet_banner": "", "postscreen_cache_map": ""},
            "ignore": {"postscreen_greet_action": "ignore", "postscreen_cache_map": ""},
            "enforce": {"postscreen_greet_action": "enforce", "postscreen_cache_map": ""},
            "drop": {"postscreen_greet_action": "drop", "postscreen_cache_map": ""},
        }
        cls.pair = cls.enterClassContext(LifePair(cls.dns, params, services))

    def test_clean_client_pass_new_then_pass_old(self):
        source = client_address()
        first = [("reply",), ("cmd", "EHLO clean.example"), ("cmd", "QUIT"), ("closed",)]
        stock, ours = self.compare("default", first, source, end="PASS NEW", settle=0.3)
        self.assertEqual(ours.transcript[0], f"220-{TEASER} | 220 {BANNER}")
        self.assertTrue(ours.transcript[1].startswith("250-mx.psm.test | "), ours.transcript)
        self.assertEqual(ours.lines, ["CONNECT from [CLIENT]:PORT to [SERVER]:PORT", "PASS NEW [CLIENT]:PORT"])
        again = [("reply",), ("cmd", "QUIT"), ("closed",)]
        stock, ours = self.compare("default", again, source, end="PASS OLD", settle=0.3)
        self.assertEqual(ours.transcript, [f"220 {BANNER}", "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(ours.lines, ["CONNECT from [CLIENT]:PORT to [SERVER]:PORT", "PASS OLD [CLIENT]:PORT"])

    def test_teaser_comes_at_once_and_smtpd_after_the_greet_wait(self):
        stock, ours = self.compare("default", [("line",), ("reply",), ("cmd", "QUIT"), ("closed",)],
                                   client_address(), end="PASS NEW")
        self.assertEqual(ours.transcript[:2], [f"220-{TEASER}", f"220 {BANNER}"])
        # The whole greet wait (2 s; stock's whole-second timer: 1-3 s).
        self.assertGreaterEqual(ours.elapsed, 1.9)
        self.assertGreaterEqual(stock.elapsed, 0.9)

    def test_empty_greet_banner_turns_the_pregreet_test_off(self):
        # Nothing left to test: handed to smtpd at once, no PASS line.
        stock, ours = self.compare("nobanner", [("reply",), ("cmd", "QUIT"), ("closed",)], client_address(),
                                   end="CONNECT from", settle=0.5)
        self.assertEqual(ours.transcript, [f"220 {BANNER}", "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(ours.lines, ["CONNECT from [CLIENT]:PORT to [SERVER]:PORT"])

    def test_hangup_in_greet_wait(self):
        stock, ours = self.compare("default", [("line",), ("sleep", 0.3), ("close",)], client_address())
        self.assertEqual(ours.transcript, [f"220-{TEASER}"])
        self.assertEqual(ours.lines, ["CONNECT from [CLIENT]:PORT to [SERVER]:PORT",
                                      "HANGUP after TIME from [CLIENT]:PORT in tests before SMTP handshake",
                                      "DISCONNECT [CLIENT]:PORT"])

    def test_pregreet_ignore_is_handed_off_with_its_bytes(self):
        script = [("send", EARLY), ("reply",), ("reply",), ("cmd", "QUIT"), ("closed",)]
        stock, ours = self.compare("ignore", script, client_address(), end=r"PREGREET \d+ after \S+ from",
                                   settle=0.5)
        self.assertEqual(ours.transcript[0], f"220-{TEASER} | 220 {BANNER}")
        self.assertTrue(ours.transcript[1].startswith("250-mx.psm.test | "), ours.transcript)
        self.assertEqual(ours.lines, ["CONNECT from [CLIENT]:PORT to [SERVER]:PORT",
                                      r"PREGREET 20 after TIME from [CLIENT]:PORT: EHLO early.example\r\n"])

    def test_pregreet_enforce_rejects_rcpt(self):
        script = [("send", EARLY), ("reply",), ("cmd", "MAIL FROM:<s@x.example>"), ("cmd", "RCPT TO:<r@y.example>"),
                  ("cmd", "QUIT"), ("closed",)]
        stock, ours = self.compare("enforce", script, client_address())
        self.assertTrue(ours.transcript[0].startswith(f"220-{TEASER} | 250-mx.psm.test | "), ours.transcript)
        self.assertEqual(ours.transcript[2:], ["550 5.5.1 Protocol error", "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(ours.lines, [
            "CONNECT from [CLIENT]:PORT to [SERVER]:PORT",
            r"PREGREET 20 after TIME from [CLIENT]:PORT: EHLO early.example\r\n",
            "NOQUEUE: reject: RCPT from [CLIENT]:PORT: 550 5.5.1 Protocol error; from=<s@x.example>, "
            "to=<r@y.example>, proto=ESMTP, helo=<early.example>",
            "DISCONNECT [CLIENT]:PORT"])

    def test_pregreet_drop(self):
        stock, ours = self.compare("drop", [("send", EARLY), ("reply",), ("closed",)], client_address())
        self.assertEqual(ours.transcript, [f"220-{TEASER} | 521 5.5.1 Protocol error", "<closed>"])
        self.assertEqual(ours.lines, ["CONNECT from [CLIENT]:PORT to [SERVER]:PORT",
                                      r"PREGREET 20 after TIME from [CLIENT]:PORT: EHLO early.example\r\n",
                                      "DISCONNECT [CLIENT]:PORT"])

    def test_pregreet_text_is_escaped_and_cut(self):
        early = b"EHLO x\tY\x01\xff\\" + b"A" * 200 + b"\r\n"
        stock, ours = self.compare("drop", [("send", early), ("reply",), ("closed",)], client_address())
        self.assertEqual(ours.lines[1], "PREGREET 213 after TIME from [CLIENT]:PORT: EHLO x\\tY\\001\\377\\\\"
                         + "A" * 81)

    def test_partial_line_pregreet(self):
        stock, ours = self.compare("drop", [("send", b"EHLO"), ("reply",), ("closed",)], client_address())
        self.assertEqual(ours.lines[1], "PREGREET 4 after TIME from [CLIENT]:PORT: EHLO")

    def test_pregreet_then_hangup(self):
        for action in ("ignore", "enforce", "drop"):
            with self.subTest(action=action):
                end = r"PREGREET \d+ after \S+ from" if action == "ignore" else "DISCONNECT"
                stock, ours = self.compare(action, [("send", EARLY), ("close",)], client_address(), end=end,
                                           settle=0.5)
                self.assertEqual(ours.lines[:2], ["CONNECT from [CLIENT]:PORT to [SERVER]:PORT",
                                                  r"PREGREET 20 after TIME from [CLIENT]:PORT: EHLO early.example\r\n"])

    def test_reload_during_the_greet_wait(self):
        # The old postscreen finishes its session; the new one takes the next.
        def reload_both():
            for instance in self.pair.both():
                instance.pf.reload()

        reloader = threading.Timer(0.5, reload_both)
        reloader.start()
        try:
            stock, ours = self.compare("default", [("line",), ("reply",), ("cmd", "QUIT"), ("closed",)],
                                       client_address(), end="PASS NEW", settle=0.3)
        finally:
            reloader.join()
        self.assertEqual(ours.transcript[:2], [f"220-{TEASER}", f"220 {BANNER}"])
        self.assertEqual(ours.lines, ["CONNECT from [CLIENT]:PORT to [SERVER]:PORT", "PASS NEW [CLIENT]:PORT"])
        stock, ours = self.compare("default", [("reply",), ("cmd", "QUIT"), ("closed",)], client_address(),
                                   end="PASS NEW", settle=0.3)
        self.assertEqual(ours.lines[-1], "PASS NEW [CLIENT]:PORT")


if __name__ == "__main__":
    unittest.main()
