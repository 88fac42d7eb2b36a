"""postscreen's SMTP engine limits and hostile input, our binary against
stock 3.7.11 side by side: the command count limit (the 21st command), the
command time limit, the line length limit (2047 bytes pass, 2048 do not),
a 100 KB line, NUL bytes, binary garbage, a client that trickles one byte
per second - each gets stock's reply and log lines. Then, on ours only:
memory stays bounded and other clients are served while hostile clients
are connected.
"""

import os
import threading
import time
import unittest

from postscreen_engine_common import BANNER, Pair, rss_kib, session
from psmtest import SmtpClient, client_address, require_root

PARAMS = {
    "postscreen_greet_banner": "",
    "postscreen_non_smtp_command_enable": "yes",  # default action: drop
    "postscreen_bare_newline_enable": "yes",      # default action: ignore
    "postscreen_cache_map": "",
}
SERVICES = {"limits": {"postscreen_command_time_limit": "3s"}}


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.pair = cls.enterClassContext(Pair(PARAMS, SERVICES))

    def compare(self, script, **kw):
        stock = session(self.pair.stock, "limits", script, **kw)
        ours = session(self.pair.ours, "limits", script, **kw)
        self.assertEqual(ours[1], stock[1], "postscreen log lines differ")
        return stock, ours

    def compare_all(self, script, **kw):
        stock, ours = self.compare(script, **kw)
        self.assertEqual(ours[0], stock[0], "replies differ")
        return stock[0], stock[1]

    def test_command_count_limit(self):
        script = [("reply",)] + [("cmd", "NOOP")] * 20 + [("cmd", "RSET"), ("closed",)]
        transcript, lines = self.compare_all(script)
        self.assertEqual(transcript[-2], "421 mx.psm.test Service unavailable - try again later")
        self.assertIn("COMMAND COUNT LIMIT from [CLIENT]:PORT after NOOP", lines)

    def test_quit_is_exempt_from_the_count(self):
        script = [("reply",)] + [("cmd", "NOOP")] * 20 + [("cmd", "QUIT"), ("closed",)]
        transcript, lines = self.compare_all(script)
        self.assertEqual(transcript[-2], "221 2.0.0 Bye")

    def test_command_time_limit(self):
        transcript, lines = self.compare_all([("reply",), ("cmd", "HELO x"), ("reply",), ("closed",)], timeout=15)
        self.assertEqual(transcript[2], "421 4.4.2 mx.psm.test Error: timeout exceeded")
        self.assertIn("COMMAND TIME LIMIT from [CLIENT]:PORT after HELO", lines)

    def test_trickling_client_hits_the_time_limit(self):
        transcript, lines = self.compare_all([("reply",), ("trickle", b"NO", 1.0), ("reply",), ("closed",)],
                                             timeout=15)
        self.assertEqual(transcript[1], "421 4.4.2 mx.psm.test Error: timeout exceeded")
        self.assertIn("COMMAND TIME LIMIT from [CLIENT]:PORT after CONNECT", lines)

    def test_line_length_limit(self):
        transcript, lines = self.compare_all([("reply",), ("send", b"x" * 2047 + b"\r\n"), ("reply",),
                                              ("send", b"y" * 2048 + b"\r\n"), ("reply",), ("closed",)])
        self.assertEqual(transcript[1:], ["502 5.5.2 Error: command not recognized",
                                          "421 mx.psm.test Service unavailable - try again later", "<closed>"])
        self.assertIn("COMMAND LENGTH LIMIT from [CLIENT]:PORT after UNIMPLEMENTED", lines)

    def test_100k_line(self):
        (stock_transcript, lines, _), (ours_transcript, _, _) = self.compare(
            [("reply",), ("send", b"A" * 100_000 + b"\r\n"), ("reply",), ("closed",)])
        self.assertIn("COMMAND LENGTH LIMIT from [CLIENT]:PORT after CONNECT", lines)
        # The unread rest of the line makes the close a reset: the client
        # sees the 421 or, depending on timing, only the reset - as with stock.
        for transcript in (stock_transcript, ours_transcript):
            self.assertTrue(transcript[1] == "421 mx.psm.test Service unavailable - try again later"
                            or transcript[1].startswith("<"), transcript)

    def test_nul_bytes(self):
        transcript, lines = self.compare_all([("reply",), ("send", b"NOOP\0junk\r\n"), ("reply",),
                                              ("send", b"\0NOOP\r\n"), ("reply",), ("cmd", "QUIT"), ("closed",)])
        self.assertEqual(transcript[1:3], ["250 2.0.0 Ok", "502 5.5.2 Error: command not recognized"])

    def test_binary_garbage(self):
        garbage = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(0x80, 0x100)) + b"\r\n"
        transcript, lines = self.compare_all([("reply",), ("send", garbage), ("reply",), ("closed",)])
        self.assertEqual(transcript[1], "521 5.7.0 Error: I can break rules, too. Goodbye.")
        self.assertTrue(any(line.startswith("NON-SMTP COMMAND from [CLIENT]:PORT after CONNECT: ") for line in lines))

    def test_bare_newlines_and_garbage_lines(self):
        data = b"HELO a\nNOOP\r\rx\nnoop \xff\xfe\r\n"
        transcript, lines = self.compare_all([("reply",), ("send", data), ("reply",), ("reply",), ("reply",),
                                              ("cmd", "QUIT"), ("closed",)])
        self.assertIn("BARE NEWLINE from [CLIENT]:PORT after HELO a", lines)

    def test_hostile_clients_do_not_starve_others_or_grow_memory(self):
        ours = self.pair.ours
        address, port = ours.endpoints["limits"]
        with SmtpClient(address, port) as probe:
            probe.read_reply()
            pid = ours.log.wait_for(rf"^CONNECT from \[{probe.source}\]", "postscreen").pid
        before = rss_kib(pid)
        stop = threading.Event()
        hostile = []

        def trickler():
            with SmtpClient(address, port, timeout=20) as c:
                hostile.append(c)
                c.read_reply()
                for _ in range(8):
                    if stop.is_set():
                        return
                    try:
                        c.send(b"x")
                    except OSError:
                        return
                    time.sleep(0.5)

        def flooder():
            with SmtpClient(address, port, timeout=20) as c:
                c.read_reply()
                try:
                    for _ in range(25):  # 100 KB without a newline
                        c.send(os.urandom(4096).replace(b"\n", b"x"))
                except OSError:
                    pass

        threads = [threading.Thread(target=trickler) for _ in range(20)]
        threads += [threading.Thread(target=flooder) for _ in range(20)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            # A good client is served at once meanwhile.
            for _ in range(5):
                started = time.monotonic()
                with SmtpClient(address, port) as good:
                    self.assertEqual(good.read_reply().last, f"220 {BANNER}")
                    self.assertEqual(good.command("NOOP").last, "250 2.0.0 Ok")
                    self.assertEqual(good.command("QUIT").last, "221 2.0.0 Bye")
                self.assertLess(time.monotonic() - started, 1.0)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        after = rss_kib(pid)
        self.assertLess(after - before, 16 * 1024, f"RSS grew from {before} KiB to {after} KiB")
        ours.log.wait_for(r"COMMAND LENGTH LIMIT", "postscreen", since=0)


if __name__ == "__main__":
    unittest.main()
