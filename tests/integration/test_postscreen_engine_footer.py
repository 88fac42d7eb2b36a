"""postscreen_reject_footer, postscreen_reject_footer_maps and soft_bounce
end to end, our binary against stock 3.7.11 side by side: the verified
footer example (\\c, \\n, $server_name, $client_address, $client_port,
$localtime, an unknown macro), a map footer looked up with the reply text,
a template with a syntax error, and soft_bounce softening replies and the
RCPT log line.
"""

import unittest

from postscreen_engine_common import Pair, session
from psmtest import require_root

FOOTER = "\\c (see $server_name, client $client_address:$client_port at $localtime $nosuch)\\nSecond line"

PARAMS = {
    "postscreen_greet_banner": "",
    "postscreen_cache_map": "",
    "postscreen_non_smtp_command_enable": "yes",
    "postscreen_non_smtp_command_action": "enforce",
    "postscreen_reject_footer": FOOTER,
    "postscreen_reject_footer_maps": lambda pf: pf.write_map(
        "footer", "/^502 5\\.5\\.2 .*recognized$/ Map footer for $$client_address\n"
                  "/^501 / \\c $$(broken\n", type="regexp"),
}
SERVICES = {"plain": {}, "soft": {"soft_bounce": "yes"}}
SCRIPT = [("reply",), ("cmd", "FOO"), ("cmd", "HELO"), ("cmd", "EHLO x"), ("cmd", "GET /"),
          ("cmd", "MAIL FROM:<a@b>"), ("cmd", "RCPT TO:<c@d>"), ("cmd", "QUIT"), ("closed",)]


class Footers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.pair = cls.enterClassContext(Pair(PARAMS, SERVICES))

    def compare(self, service):
        stock = session(self.pair.stock, service, SCRIPT)
        ours = session(self.pair.ours, service, SCRIPT)
        self.assertEqual(ours[0], stock[0], "replies differ")
        self.assertEqual(ours[1], stock[1], "postscreen log lines differ")
        return stock

    def test_footers(self):
        transcript, lines, _ = self.compare("plain")
        self.assertEqual(transcript[1], "502-5.5.2 Error: command not recognized | 502 5.5.2 Map footer for CLIENT")
        self.assertEqual(transcript[2], "501 Syntax: HELO hostname")  # the map's template is broken
        self.assertEqual(transcript[6], "550-5.5.1 Protocol error (see mx.psm.test, client CLIENT:PORT at "
                                        "LOCALTIME ) | 550 5.5.1 Second line")
        self.assertIn("warning: unknown macro name \"nosuch\" in expansion request", lines)
        self.assertIn("warning: truncated macro reference: \" $(broken\"", lines)

    def test_soft_bounce(self):
        transcript, lines, _ = self.compare("soft")
        self.assertEqual(transcript[1], "402-4.5.2 Error: command not recognized | 402 4.5.2 Map footer for CLIENT")
        self.assertEqual(transcript[2], "401 Syntax: HELO hostname")
        self.assertTrue(transcript[6].startswith("450-4.5.1 Protocol error (see "))
        self.assertIn("NOQUEUE: reject: RCPT from [CLIENT]:PORT: 450 4.5.1 Protocol error; from=<a@b>, to=<c@d>, "
                      "proto=ESMTP, helo=<x>", lines)


if __name__ == "__main__":
    unittest.main()
