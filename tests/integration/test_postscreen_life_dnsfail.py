"""postscreen life cycle when the DNSBL answers are late: every DNS
answer comes 4 s late (a slow proxy in front of NSD; both resolvers wait
up to 6 s). With postscreen_dnsbl_timeout 1 s postscreen warns "dnsblog
reply timeout" and the listed client passes on its partial score; with a
greet wait shorter than the answer's delay the listed client passes too,
without a warning; a dnsblog service that does not exist
(dnsblog_service_name pointing nowhere) is warned about and the client
passes. Our postscreen + our dnsblog against stock 3.7 side by side
(postscreen_life_common): replies and normalised postscreen log lines must
equal stock's.

Known differences (reported): OUR dnsblog answers
postscreen by the request's deadline and then warns "dnsblog: no answer
within N ms for client ... -- reporting a partial score"; stock dnsblog
keeps waiting for the resolver and logs the late listing ("addr ... listed
by domain ...") or the resolver's lookup error instead.
"""

import unittest

from postscreen_life_common import BANNER, LifeCase, LifePair
from psmtest import DnsServer, SlowDnsProxy, Zone, client_address, require_root

CONNECT = "CONNECT from [CLIENT]:PORT to [SERVER]:PORT"
QUIT_SCRIPT = [("reply",), ("cmd", "QUIT"), ("closed",)]


class DnsFailures(LifeCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.listed = [client_address() for _ in range(3)]
        bl = Zone("bl.psm.test")
        bl.list_address("127.0.0.2", "127.0.0.2")
        for address in cls.listed:
            bl.list_address(address, "127.0.0.2")
        cls.nsd = cls.enterClassContext(DnsServer([bl]))
        cls.dns = cls.enterClassContext(SlowDnsProxy((cls.nsd.address, 53), delay=4))
        site = {"postscreen_dnsbl_sites": "bl.psm.test", "postscreen_dnsbl_action": "drop",
                "postscreen_cache_map": ""}
        services = {
            # 3 s (stock: 2-3 s) outlasts the 1 s dnsblog timeout.
            "timeout": dict(site, postscreen_greet_wait="3s", postscreen_dnsbl_timeout="1s"),
            "late": dict(site, postscreen_greet_wait="2s", postscreen_dnsbl_timeout="8s"),
            "nodnsblog": dict(site, dnsblog_service_name="nodnsblog"),
        }
        cls.pair = cls.enterClassContext(LifePair(
            cls.dns, {"dnsblog_health_check_interval": "0"}, services, resolv_options="timeout:6 attempts:1",
            allowed_extra=[r"^postfix/dnsblog: warning: dnsblog: no answer within \d+ ms for client "],
            allowed_missing=[r"^postfix/dnsblog: addr \S+ listed by domain ",
                             r"^postfix/dnsblog: warning: dnsblog_query: lookup error for DNS query "]))

    def test_dnsblog_reply_timeout(self):
        stock, ours = self.compare("timeout", QUIT_SCRIPT, self.listed[0], end="PASS NEW", settle=0.3)
        self.assertEqual(ours.transcript[0], f"220-{BANNER} | 220 {BANNER}")
        warning = "warning: dnsblog reply timeout 1s for bl.psm.test"
        self.assertEqual(stock.lines, [CONNECT, warning, "PASS NEW [CLIENT]:PORT"])
        # Ours asks dnsblog for a reply by the dnsbl timeout: its partial reply
        # and postscreen's own timer come at the same moment; either way the
        # stock warning must be there.
        self.assertEqual(ours.lines, stock.lines)

    def test_answer_after_the_greet_wait(self):
        stock, ours = self.compare("late", QUIT_SCRIPT, self.listed[1], end="PASS NEW", settle=0.3)
        self.assertEqual(ours.transcript[0], f"220-{BANNER} | 220 {BANNER}")
        self.assertEqual(ours.lines, [CONNECT, "PASS NEW [CLIENT]:PORT"])

    def test_no_dnsblog_service(self):
        stock, ours = self.compare("nodnsblog", QUIT_SCRIPT, self.listed[2], end="PASS NEW", settle=0.3)
        self.assertEqual(ours.transcript[0], f"220-{BANNER} | 220 {BANNER}")
        self.assertEqual(ours.lines, [
            CONNECT, "warning: psc_dnsbl_request: connect to private/nodnsblog service: No such file or directory",
            "PASS NEW [CLIENT]:PORT"])


if __name__ == "__main__":
    unittest.main()
