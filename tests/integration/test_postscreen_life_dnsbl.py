"""postscreen life cycle, DNSBL test: our postscreen asking our dnsblog
(weighted request) against stock postscreen + stock dnsblog, both looking
up real zones served by NSD (postscreen_life_common). Listed clients with
postscreen_dnsbl_action enforce (550 at RCPT, NOQUEUE line with
helo/from/to), drop (521) and ignore (handed off, no PASS); weights and
the threshold over two lists; an address filter; an allowlist site with a
negative weight and postscreen_dnsbl_allowlist_threshold (PASS NEW at once,
every test stamped); postscreen_dnsbl_reply_map. Replies and normalised
postscreen log lines must equal stock's, and each dnsblog must log the
listing the same way.
"""

import time
import unittest

from postscreen_life_common import BANNER, LifeCase, LifePair
from psmtest import DnsServer, Zone, client_address, normalize, require_root, wait_until

CONNECT = "CONNECT from [CLIENT]:PORT to [SERVER]:PORT"
ALLOW_TTL = 600


class DnsblTest(LifeCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        c = cls.clients = {name: client_address() for name in (
            "enforce", "drop", "ignore", "w1", "w2", "w3", "f3", "f10", "allow", "allow_clean", "map", "m1", "m2", "map_enforce")}
        # The allowlisted client's TTL is the smallest of wl's "listed" TTL and
        # bl's "not listed" (SOA) TTL (stock's rule): make wl's the smaller.
        bl = Zone("bl.psm.test", ttl=300, negative_ttl=1200, soa_ttl=1200)
        bl2 = Zone("bl2.psm.test", ttl=300)
        wl = Zone("wl.psm.test", ttl=ALLOW_TTL)
        for zone in (bl, bl2, wl):
            zone.list_address("127.0.0.2", "127.0.0.2")   # the lists' test entry
        for name in ("enforce", "drop", "ignore", "w2", "w3", "map", "map_enforce"):
            bl.list_address(c[name], "127.0.0.2")
        for name in ("w1", "w3"):
            bl2.list_address(c[name], "127.0.0.2")
        bl.list_address(c["f3"], "127.0.0.3")
        bl.list_address(c["f10"], "127.0.0.10")
        wl.list_address(c["allow"], "127.0.0.2")
        bl.list_address(c["m1"], "127.0.0.3")
        bl2.list_address(c["m1"], "127.0.0.2")
        bl.list_address(c["m2"], "127.0.0.2")
        cls.dns = cls.enterClassContext(DnsServer([bl, bl2, wl]))
        # Only "allow" keeps the cache: one file per postscreen (exclusive lock).
        one = {"postscreen_dnsbl_sites": "bl.psm.test", "postscreen_cache_map": ""}
        services = {
            "enforce": dict(one, postscreen_dnsbl_action="enforce"),
            "drop": dict(one, postscreen_dnsbl_action="drop"),
            "ignore": dict(one, postscreen_dnsbl_action="ignore"),
            "weights": {"postscreen_dnsbl_sites": "bl.psm.test*2,bl2.psm.test", "postscreen_dnsbl_threshold": "3",
                        "postscreen_dnsbl_action": "drop", "postscreen_cache_map": ""},
            "filter": {"postscreen_dnsbl_sites": "bl.psm.test=127.0.0.[2..4]", "postscreen_dnsbl_action": "drop",
                       "postscreen_cache_map": ""},
            "allow": {"postscreen_dnsbl_sites": "bl.psm.test,wl.psm.test*-2", "postscreen_greet_wait": "10s",
                      "postscreen_dnsbl_allowlist_threshold": "-1", "postscreen_dnsbl_action": "drop",
                      "postscreen_pipelining_enable": "yes"},
            # One domain twice (filters, weights): the reply names the site
            # that contributed the largest weight.
            "multi": {"postscreen_dnsbl_sites": "bl.psm.test=127.0.0.2*3,bl.psm.test=127.0.0.3,bl2.psm.test*2",
                      "postscreen_dnsbl_threshold": "3", "postscreen_dnsbl_action": "drop",
                      "postscreen_cache_map": ""},
            "allow_short": {"postscreen_dnsbl_sites": "bl.psm.test,wl.psm.test*-2",
                            "postscreen_dnsbl_allowlist_threshold": "-1", "postscreen_dnsbl_action": "drop",
                            "postscreen_pipelining_enable": "yes", "postscreen_cache_map": ""},
            "map": dict(one, postscreen_dnsbl_action="drop", postscreen_dnsbl_reply_map=lambda pf: pf.write_map(
                "dnsbl_reply", {"bl.psm.test": "public-bl.example"})),
            "map_enforce": dict(one, postscreen_dnsbl_action="enforce", soft_bounce="yes",
                                postscreen_dnsbl_reply_map=lambda pf: pf.write_map(
                                    "dnsbl_reply2", {"bl.psm.test": "public-bl.example"})),
        }
        cls.pair = cls.enterClassContext(LifePair(cls.dns, {}, services))

    def dnsblog_lines(self, instance, address):
        return [normalize(line.text, addresses={address: "CLIENT"})
                for line in instance.log.lines("dnsblog") if address in line.text]

    def assert_dnsblog_logged(self, address, expected):
        for instance in self.pair.both():
            wait_until(lambda: len(self.dnsblog_lines(instance, address)) >= len(expected), 10,
                       message=f"{instance.name} dnsblog lines for {address}")
        stock, ours = (sorted(self.dnsblog_lines(i, address)) for i in self.pair.both())
        self.assertEqual(ours, stock, "dnsblog lines differ from stock")
        self.assertEqual(ours, sorted(expected))

    def test_enforce(self):
        a = self.clients["enforce"]
        script = [("reply",), ("cmd", "EHLO listed.example"), ("cmd", "MAIL FROM:<s@x.example>"),
                  ("cmd", "RCPT TO:<r@y.example>"), ("cmd", "QUIT"), ("closed",)]
        stock, ours = self.compare("enforce", script, a)
        reply = "550 5.7.1 Service unavailable; client [CLIENT] blocked using bl.psm.test"
        self.assertEqual(ours.transcript[0], f"220-{BANNER} | 220 {BANNER}")
        self.assertEqual(ours.transcript[3:], [reply, "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(ours.lines, [
            CONNECT, "DNSBL rank 1 for [CLIENT]:PORT",
            f"NOQUEUE: reject: RCPT from [CLIENT]:PORT: {reply}; from=<s@x.example>, to=<r@y.example>, "
            "proto=ESMTP, helo=<listed.example>",
            "DISCONNECT [CLIENT]:PORT"])
        self.assert_dnsblog_logged(a, ["addr CLIENT listed by domain bl.psm.test as 127.0.0.2"])

    def test_drop(self):
        stock, ours = self.compare("drop", [("reply",), ("closed",)], self.clients["drop"])
        self.assertEqual(ours.transcript, [
            f"220-{BANNER} | 521 5.7.1 Service unavailable; client [CLIENT] blocked using bl.psm.test", "<closed>"])
        self.assertEqual(ours.lines, [CONNECT, "DNSBL rank 1 for [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])

    def test_ignore_hands_off_without_pass(self):
        script = [("reply",), ("cmd", "QUIT"), ("closed",)]
        stock, ours = self.compare("ignore", script, self.clients["ignore"], end=r"DNSBL rank \d+ for", settle=0.5)
        self.assertEqual(ours.transcript, [f"220-{BANNER} | 220 {BANNER}", "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(ours.lines, [CONNECT, "DNSBL rank 1 for [CLIENT]:PORT"])

    def test_weights_and_threshold(self):
        stock, ours = self.compare("weights", [("reply",), ("closed",)], self.clients["w3"])
        self.assertEqual(ours.transcript[0],
                         f"220-{BANNER} | 521 5.7.1 Service unavailable; client [CLIENT] blocked using bl.psm.test")
        self.assertEqual(ours.lines, [CONNECT, "DNSBL rank 3 for [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])
        self.assert_dnsblog_logged(self.clients["w3"], ["addr CLIENT listed by domain bl.psm.test as 127.0.0.2",
                                                        "addr CLIENT listed by domain bl2.psm.test as 127.0.0.2"])
        for name in ("w2", "w1"):   # scores 2 and 1: below the threshold
            with self.subTest(client=name):
                stock, ours = self.compare("weights", [("reply",), ("cmd", "QUIT"), ("closed",)],
                                           self.clients[name], end="PASS NEW", settle=0.3)
                self.assertEqual(ours.transcript[0], f"220-{BANNER} | 220 {BANNER}")
                self.assertEqual(ours.lines, [CONNECT, "PASS NEW [CLIENT]:PORT"])

    def test_address_filter(self):
        stock, ours = self.compare("filter", [("reply",), ("closed",)], self.clients["f3"])
        self.assertEqual(ours.lines, [CONNECT, "DNSBL rank 1 for [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])
        stock, ours = self.compare("filter", [("reply",), ("cmd", "QUIT"), ("closed",)], self.clients["f10"],
                                   end="PASS NEW", settle=0.3)
        self.assertEqual(ours.lines, [CONNECT, "PASS NEW [CLIENT]:PORT"])
        self.assert_dnsblog_logged(self.clients["f10"], ["addr CLIENT listed by domain bl.psm.test as 127.0.0.10"])

    def test_allowlist_site_skips_the_other_tests(self):
        a = self.clients["allow"]
        started = time.time()
        stock, ours = self.compare("allow", [("reply",), ("cmd", "QUIT"), ("closed",)], a, end="PASS NEW",
                                   settle=0.3)
        # Handed to smtpd as soon as the DNS replies are in (long before the
        # 10 s greet wait ends): no pipelining test.
        self.assertEqual(ours.transcript, [f"220-{BANNER} | 220 {BANNER}", "221 2.0.0 Bye", "<closed>"])
        self.assertLess(stock.elapsed, 6, "stock")
        self.assertLess(ours.elapsed, 6)
        self.assertEqual(ours.lines, [CONNECT, "PASS NEW [CLIENT]:PORT"])
        # Every test (also the disabled ones) is stamped with the DNSBL TTL.
        for instance in self.pair.both():
            wait_until(lambda: a in instance.pf.cache_entries(), 10, message=f"{instance.name} cache entry")
            stamps = [int(s) for s in instance.pf.cache_entries()[a].split(";")]
            with self.subTest(instance=instance.name):
                self.assertEqual(len(set(stamps)), 1, stamps)
                self.assertLessEqual(abs(stamps[0] - (started + ALLOW_TTL)), 10, stamps)
        # A client that the allowlist does not know runs the pipelining test.
        script = [("reply",), ("cmd", "EHLO c.example"), ("cmd", "MAIL FROM:<s@x.example>"),
                  ("cmd", "RCPT TO:<r@y.example>"), ("cmd", "QUIT"), ("closed",)]
        stock, ours = self.compare("allow_short", script, self.clients["allow_clean"])
        self.assertEqual(ours.transcript[3], "450 4.3.2 Service currently unavailable")
        self.assertEqual(ours.lines[-2:], ["PASS NEW [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])

    def test_one_domain_twice_reports_the_largest_weight(self):
        for name, rank, site in (("m1", 3, "bl2.psm.test"), ("m2", 3, "bl.psm.test")):
            with self.subTest(client=name):
                stock, ours = self.compare("multi", [("reply",), ("closed",)], self.clients[name])
                self.assertEqual(ours.transcript[0], f"220-{BANNER} | 521 5.7.1 Service unavailable; "
                                 f"client [CLIENT] blocked using {site}")
                self.assertEqual(ours.lines, [CONNECT, f"DNSBL rank {rank} for [CLIENT]:PORT",
                                              "DISCONNECT [CLIENT]:PORT"])

    def test_reply_map(self):
        stock, ours = self.compare("map", [("reply",), ("closed",)], self.clients["map"])
        self.assertEqual(ours.transcript, [
            f"220-{BANNER} | 521 5.7.1 Service unavailable; client [CLIENT] blocked using public-bl.example",
            "<closed>"])
        self.assertEqual(ours.lines, [CONNECT, "DNSBL rank 1 for [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])
        self.assert_dnsblog_logged(self.clients["map"], ["addr CLIENT listed by domain bl.psm.test as 127.0.0.2"])

    def test_reply_map_with_enforce_and_soft_bounce(self):
        script = [("reply",), ("cmd", "EHLO listed.example"), ("cmd", "MAIL FROM:<s@x.example>"),
                  ("cmd", "RCPT TO:<r@y.example>"), ("cmd", "QUIT"), ("closed",)]
        stock, ours = self.compare("map_enforce", script, self.clients["map_enforce"])
        reply = "450 4.7.1 Service unavailable; client [CLIENT] blocked using public-bl.example"
        self.assertEqual(ours.transcript[3], reply)
        self.assertIn(f"NOQUEUE: reject: RCPT from [CLIENT]:PORT: {reply}; from=<s@x.example>, to=<r@y.example>, "
                      "proto=ESMTP, helo=<listed.example>", ours.lines)


if __name__ == "__main__":
    unittest.main()
