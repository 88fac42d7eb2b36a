"""postscreen's SMTP engine, our binary against stock 3.7.11 side by side
(two private stock instances, one running our postscreen): the three deep
protocol tests (pipelining, non-SMTP command, bare newline) with each
action (ignore, enforce, drop), and the "come back later" flow - a client
that passes the deep tests gets 450 at RCPT and PASS NEW, then PASS OLD and
the hand-off to stock smtpd when it reconnects. Replies and normalised
postscreen log lines must be identical.
"""

import unittest

from postscreen_engine_common import BANNER, Pair, session
from psmtest import client_address, require_root

DEEP = {"postscreen_pipelining_enable": "yes", "postscreen_non_smtp_command_enable": "yes",
        "postscreen_bare_newline_enable": "yes"}


def actions(action):
    return {"postscreen_cache_map": "", "postscreen_pipelining_action": action,
            "postscreen_non_smtp_command_action": action, "postscreen_bare_newline_action": action}


SCRIPTS = {
    "pipelining": [("reply",), ("send", b"EHLO a.example\r\nMAIL FROM:<s@x.example>\r\n"), ("reply",), ("reply",),
                   ("cmd", "RCPT TO:<r@y.example>"), ("cmd", "VRFY r"), ("cmd", "QUIT"), ("closed",)],
    "non_smtp": [("reply",), ("cmd", "EHLO a.example"), ("cmd", "GET / HTTP/1.0"), ("cmd", "MAIL FROM:<s@x.example>"),
                 ("cmd", "RCPT TO:<r@y.example>"), ("cmd", "QUIT"), ("closed",)],
    "bare_newline": [("reply",), ("send", b"HELO bare.example\n"), ("reply",), ("cmd", "MAIL FROM:<>"),
                     ("cmd", "RCPT TO:<\"a b\"@y.example>"), ("cmd", "DATA"), ("closed",)],
}


class DeepTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        params = dict(DEEP, postscreen_greet_banner="")
        services = {"ignore": actions("ignore"), "enforce": actions("enforce"), "drop": actions("drop"),
                    "cached": {}}
        cls.pair = cls.enterClassContext(Pair(params, services))

    def compare(self, service, script, **kw):
        stock = session(self.pair.stock, service, script, **kw)
        ours = session(self.pair.ours, service, script, **kw)
        self.assertEqual(ours[0], stock[0], "replies differ")
        self.assertEqual(ours[1], stock[1], "postscreen log lines differ")
        return stock, ours

    def test_each_deep_test_with_each_action(self):
        for action in ("ignore", "enforce", "drop"):
            for test, script in SCRIPTS.items():
                with self.subTest(action=action, test=test):
                    (transcript, lines, _), _ = self.compare(action, script)
                    self.assertEqual(transcript[0], f"220 {BANNER}")
                    self.assertEqual(lines[-1], "DISCONNECT [CLIENT]:PORT")

    def test_enforce_replies_at_rcpt(self):
        (transcript, lines, _), _ = self.compare("enforce", SCRIPTS["non_smtp"])
        self.assertIn("550 5.5.1 Protocol error", transcript)
        self.assertIn("NOQUEUE: reject: RCPT from [CLIENT]:PORT: 550 5.5.1 Protocol error; from=<s@x.example>, "
                      "to=<r@y.example>, proto=ESMTP, helo=<a.example>", lines)

    def test_drop_replies(self):
        (transcript, _, _), _ = self.compare("drop", SCRIPTS["non_smtp"])
        self.assertIn("521 5.7.0 Error: I can break rules, too. Goodbye.", transcript)
        (transcript, _, _), _ = self.compare("drop", SCRIPTS["pipelining"])
        self.assertIn("521 5.5.1 Protocol error", transcript)

    def test_come_back_later(self):
        source = client_address()
        first = [("reply",), ("cmd", "EHLO good.example"), ("cmd", "MAIL FROM:<s@x.example>"),
                 ("cmd", "RCPT TO:<r@y.example>"), ("cmd", "QUIT"), ("closed",)]
        again = [("reply",), ("cmd", "EHLO good.example"), ("cmd", "QUIT")]
        for instance in self.pair.both():
            transcript, lines, _ = session(instance, "cached", first, source=source)
            with self.subTest(instance="ours" if instance.ours else "stock"):
                self.assertEqual(transcript[3], "450 4.3.2 Service currently unavailable")
                self.assertEqual(lines[-2:], ["PASS NEW [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])
                transcript, lines, _ = session(instance, "cached", again, source=source, end="PASS OLD")
                self.assertEqual(transcript[0], f"220 {BANNER}")           # from smtpd
                self.assertIn("250-PIPELINING", transcript[1].split(" | "))  # smtpd's EHLO
                self.assertEqual(lines, ["CONNECT from [CLIENT]:PORT to [SERVER]:PORT", "PASS OLD [CLIENT]:PORT"])
                instance.log.wait_for(rf"^connect from \S+\[{source}\]", "smtpd")


if __name__ == "__main__":
    unittest.main()
