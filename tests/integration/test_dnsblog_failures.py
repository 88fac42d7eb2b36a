"""Our dnsblog when lists misbehave: a name server that never answers
(timeouts reported as failures, the deadline's partial score), the list
health check (a list that lists everything or answers 127.255.255.x is
disabled, and enabled again once healthy), and the same list with the
health check off."""

import time
import unittest

from dnsblog_fixture import OurDnsblog, as_int
from psmtest import BlackholeDns, DnsServer, Zone, client_address, require_root

TRY_AGAIN = ("Host or domain name not found. Name service error for name={q} type=A: "
             "Host not found, try again")


class NeverAnswering(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.dns = cls.enterClassContext(BlackholeDns(tcp=True))
        cls.ours = cls.enterClassContext(OurDnsblog(f"{cls.dns.address}:53", {
            "postscreen_dnsbl_sites": "dead.psm.test*2", "dnsblog_health_check_interval": "0"}))

    def test_deadline_reports_timeout_and_partial_score(self):
        client = client_address()
        mark = self.ours.log.mark()
        t0 = time.monotonic()
        r = self.ours.score("d", client, deadline_ms=700, min_ttl=45)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 0.6)
        self.assertLess(elapsed, 2.5)
        self.assertEqual((r["status"], as_int(r["score"]), as_int(r["ttl"])), ("ok", 0, 45))
        site = r["sites"]["dead.psm.test"]
        self.assertEqual((site["status"], site["reason"], site["weight"], site["addresses"]),
                         ("failed", "timeout", "0", ""))
        self.ours.log.wait_for(rf"^warning: dnsblog: no answer within 700 ms for client {client} from "
                               r"dead\.psm\.test -- reporting a partial score", "dnsblog", since=mark)

    def test_resolver_timeout_is_a_failure(self):
        # timeout:1 attempts:1, no deadline in the request (postscreen_dnsbl_timeout = 10s).
        client = client_address()
        before = self.dns.query_count()
        t0 = time.monotonic()
        r = self.ours.score("t", client)
        self.assertLess(time.monotonic() - t0, 5)
        site = r["sites"]["dead.psm.test"]
        self.assertEqual((site["status"], site["reason"], as_int(site["ttl"])), ("failed", "timeout", -1))
        self.assertGreater(self.dns.query_count(), before)
        # A failure is not cached: asking again costs a new query.
        before = self.dns.query_count()
        self.ours.score("t2", client, deadline_ms=300)
        time.sleep(0.2)
        self.assertGreater(self.dns.query_count(), before)

    def test_stock_form_timeout(self):
        client = client_address()
        q = ".".join(reversed(client.split("."))) + ".dead.psm.test"
        mark = self.ours.log.mark()
        self.assertEqual(self.ours.stock("dead.psm.test", client, 5),
                         f"rbl_domain\0dead.psm.test\0client_address\0{client}\0label\x005\0"
                         f"rbl_addr\0\0ttl\x004294967295\0\0".encode())
        self.ours.log.wait_for("^warning: dnsblog_query: lookup error for DNS query "
                               + (q + ": " + TRY_AGAIN.format(q=q)).replace(".", r"\.") + "$",
                               "dnsblog", since=mark)


def everything(zone, result="127.0.0.2"):
    return zone.add("*", "A", result)


class ListHealth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.x = client_address()
        good = Zone("good.psm.test").list_address("127.0.0.2").list_address(cls.x)
        cls.flip = everything(Zone("flip.psm.test"))
        refuse = everything(Zone("refuse.psm.test"), "127.255.255.254")
        every = everything(Zone("all.psm.test"))
        cls.dns = cls.enterClassContext(DnsServer([good, cls.flip, refuse, every]))
        ns = f"{cls.dns.address}:53"
        cls.ours = cls.enterClassContext(OurDnsblog(ns, {
            "postscreen_dnsbl_sites": "good.psm.test, all.psm.test*3",
            "dnsblog_health_check_interval": "1s"}))
        cls.unchecked = cls.enterClassContext(OurDnsblog(ns, {
            "postscreen_dnsbl_sites": "good.psm.test, all.psm.test*3",
            "dnsblog_health_check_interval": "0"}, name="unchecked"))

    def test_list_everything_is_disabled(self):
        clean = client_address()
        r = self.ours.score("e", clean)
        self.assertEqual(as_int(r["score"]), 0)
        self.assertEqual(r["sites"]["all.psm.test"]["status"], "disabled")
        self.assertEqual(r["sites"]["all.psm.test"]["reason"], "disabled")
        self.assertEqual(r["sites"]["good.psm.test"]["status"], "not_listed")
        r = self.ours.score("x", self.x)
        self.assertEqual(as_int(r["score"]), 1)
        self.assertEqual(r["dnsbl_name"], "good.psm.test")
        self.ours.log.wait_for(r"^warning: dnsblog: disabling DNSBL domain all\.psm\.test: .*127\.0\.0\.1", "dnsblog",
                               since=0)
        # The stock form gets the reply of a lookup error, without a listing.
        self.assertEqual(self.ours.stock("all.psm.test", clean, 2),
                         f"rbl_domain\0all.psm.test\0client_address\0{clean}\0label\x002\0"
                         f"rbl_addr\0\0ttl\x004294967295\0\0".encode())

    def test_without_health_check_everything_is_listed(self):
        clean = client_address()
        r = self.unchecked.score("e", clean)
        self.assertEqual(r["sites"]["all.psm.test"]["status"], "listed")
        self.assertEqual((as_int(r["score"]), r["dnsbl_name"]), (3, "all.psm.test"))

    def test_refusal_codes_never_list(self):
        clean = client_address()
        r = self.ours.score("r", clean, sites="refuse.psm.test*5")
        self.assertEqual(as_int(r["score"]), 0)
        self.assertIn(r["sites"]["refuse.psm.test"]["status"], ("failed", "disabled"))
        self.ours.log.wait_for(r"^warning: dnsblog: disabling DNSBL domain refuse\.psm\.test: .*127\.255\.255\.254",
                               "dnsblog", since=0)
        # Even without the health check a 127.255.255.x reply is no listing.
        r = self.unchecked.score("r", clean, sites="refuse.psm.test*5")
        self.assertEqual(as_int(r["score"]), 0)
        site = r["sites"]["refuse.psm.test"]
        self.assertEqual((site["status"], site["reason"], site["addresses"]), ("failed", "blocked", "127.255.255.254"))
        self.assertEqual(self.unchecked.stock("refuse.psm.test", clean, 4),
                         f"rbl_domain\0refuse.psm.test\0client_address\0{clean}\0label\x004\0"
                         f"rbl_addr\0\0ttl\x004294967295\0\0".encode())

    def test_disabled_then_enabled_again(self):
        mark = self.ours.log.mark()
        r = self.ours.score("f1", self.x, sites="flip.psm.test*2")
        self.assertEqual(r["sites"]["flip.psm.test"]["status"], "disabled")
        self.ours.log.wait_for(r"^warning: dnsblog: disabling DNSBL domain flip\.psm\.test: ", "dnsblog", since=mark)
        # The list is repaired: only the test entry and x are listed.
        self.flip.remove("*")
        self.flip.list_address("127.0.0.2").list_address(self.x)
        self.dns.update(self.flip)
        self.ours.log.wait_for(r"^dnsblog: DNSBL domain flip\.psm\.test is healthy again -- enabled$", "dnsblog",
                               since=mark, timeout=10)
        r = self.ours.score("f2", self.x, sites="flip.psm.test*2")
        self.assertEqual(r["sites"]["flip.psm.test"]["status"], "listed")
        self.assertEqual(as_int(r["score"]), 2)
        r = self.ours.score("f3", client_address(), sites="flip.psm.test*2")
        self.assertEqual(r["sites"]["flip.psm.test"]["status"], "not_listed")


if __name__ == "__main__":
    unittest.main()
