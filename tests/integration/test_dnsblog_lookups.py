"""Our dnsblog stand-alone (-L unix:PATH) against a real NSD on loopback:
weighted requests (scores, filters, negative weights, TTL bounds, several A
records, cache hits counted at the server), the stock per-site form, and bad
input that gets a clear error while the process keeps serving."""

import unittest

from dnsblog_fixture import U32, OurDnsblog, as_int, score_request, score_reply, stock_request
from psmtest import DnsServer, Zone, client_address, require_root

SITES = "bl.psm.test*2, bl.psm.test=127.0.0.4*3, wl.psm.test=127.0.0.3*-5"


class WeightedAndStockForms(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.l1, cls.l2, cls.l3, cls.w, cls.both, cls.clean = (client_address() for _ in range(6))
        bl = Zone("bl.psm.test", ttl=300, negative_ttl=120)
        bl.list_address("127.0.0.2", "127.0.0.2")            # health-check test entry
        bl.list_address(cls.l1, "127.0.0.2")
        bl.list_address(cls.l2, ["127.0.0.2", "127.0.0.4"])  # two A records
        bl.list_address(cls.l3, "127.0.0.10", ttl=30)
        bl.list_address(cls.both, "127.0.0.2", ttl=200)
        wl = Zone("wl.psm.test", ttl=600, negative_ttl=90)
        wl.list_address("127.0.0.2", "127.0.0.2")
        wl.list_address(cls.w, "127.0.0.3")
        wl.list_address(cls.both, "127.0.0.3", ttl=400)
        cls.dns = cls.enterClassContext(DnsServer([bl, wl]))
        cls.ours = cls.enterClassContext(OurDnsblog(f"{cls.dns.address}:53", {"postscreen_dnsbl_sites": SITES}))

    def test_listed_scores_and_weights(self):
        r = self.ours.score("a", self.l1)
        self.assertEqual((r["label"], r["status"], r["reason"], r["client_address"]), ("a", "ok", "", self.l1))
        self.assertEqual(as_int(r["score"]), 2)
        # Stock's TTL rule: the smallest TTL of the answers that count against the
        # client -- here also wl.psm.test's "not listed" (90) for a negative weight.
        self.assertEqual(as_int(r["ttl"]), 90)
        self.assertEqual(r["dnsbl_name"], "bl.psm.test")
        self.assertEqual(r["sites"]["bl.psm.test"],
                         {"site": "bl.psm.test", "status": "listed", "addresses": "127.0.0.2", "ttl": "300",
                          "weight": "2", "reason": ""})
        self.assertEqual(r["sites"]["wl.psm.test"]["status"], "not_listed")
        self.assertEqual(r["sites"]["wl.psm.test"]["weight"], "0")
        self.assertEqual(list(r["sites"]), ["bl.psm.test", "wl.psm.test"])  # order of first appearance
        self.ours.log.wait_for(rf"^addr {self.l1} listed by domain bl\.psm\.test as 127\.0\.0\.2$", "dnsblog")
        r = self.ours.score("a2", self.l1, sites="bl.psm.test*2")
        self.assertEqual((as_int(r["score"]), as_int(r["ttl"])), (2, 300))

    def test_multiple_a_records_and_filters(self):
        r = self.ours.score("b", self.l2)
        site = r["sites"]["bl.psm.test"]
        self.assertEqual(site["addresses"], "127.0.0.2 127.0.0.4")
        self.assertEqual(as_int(site["weight"]), 5)      # *2 unfiltered + *3 for =127.0.0.4
        self.assertEqual(as_int(r["score"]), 5)
        # A filter that matches neither record adds nothing.
        r = self.ours.score("c", self.l1, sites="bl.psm.test=127.0.0.[3..11]*7, wl.psm.test")
        self.assertEqual((as_int(r["score"]), r["sites"]["bl.psm.test"]["status"]), (0, "listed"))
        self.assertEqual(r["dnsbl_name"], "")
        r = self.ours.score("d", self.l3, sites="bl.psm.test=127.0.0.[3..11;15]*7")
        self.assertEqual(as_int(r["score"]), 7)

    def test_allowlist_negative_weight(self):
        r = self.ours.score("w", self.w)
        self.assertEqual(as_int(r["score"]), -5)
        self.assertEqual(r["score"], str(U32 - 5))  # Postfix's unsigned int text on the wire
        self.assertEqual(r["sites"]["wl.psm.test"]["status"], "listed")
        self.assertEqual(as_int(r["sites"]["wl.psm.test"]["weight"]), -5)
        # score <= 0: the smallest TTL of the answers that count for the client
        # (bl.psm.test's negative answer, 120, and wl.psm.test's listing, 600).
        self.assertEqual(as_int(r["ttl"]), 120)
        r = self.ours.score("both", self.both)
        self.assertEqual(as_int(r["score"]), -3)
        self.assertEqual(as_int(r["ttl"]), 400)

    def test_not_listed_negative_ttl(self):
        r = self.ours.score("n", self.clean)
        self.assertEqual((r["status"], as_int(r["score"]), r["dnsbl_name"]), ("ok", 0, ""))
        self.assertEqual({d: s["status"] for d, s in r["sites"].items()},
                         {"bl.psm.test": "not_listed", "wl.psm.test": "not_listed"})
        self.assertEqual(r["sites"]["bl.psm.test"]["ttl"], "120")  # the SOA's TTL in the NXDOMAIN answer
        self.assertEqual(r["sites"]["wl.psm.test"]["ttl"], "90")

    def test_ttl_bounds(self):
        r = self.ours.score("t1", self.l1, sites="bl.psm.test", max_ttl=100)
        self.assertEqual(as_int(r["ttl"]), 100)
        r = self.ours.score("t2", self.l1, sites="bl.psm.test", min_ttl=1000, max_ttl=2000)
        self.assertEqual(as_int(r["ttl"]), 1000)
        r = self.ours.score("t3", self.l3, sites="bl.psm.test")  # A TTL 30 < default min 60
        self.assertEqual(as_int(r["ttl"]), 60)
        self.assertEqual(r["sites"]["bl.psm.test"]["ttl"], "30")

    def test_cache_hits_cost_no_query(self):
        fresh = client_address()
        before = self.dns.query_count()
        first = self.ours.score("c1", fresh)
        after_first = self.dns.query_count()
        self.assertEqual(after_first - before, 2)  # one A query per distinct domain
        for i in range(5):
            again = self.ours.score(f"c{i + 2}", fresh)
            self.assertEqual(again["sites"], first["sites"] | {})
            self.assertEqual(as_int(again["score"]), 0)
        self.assertEqual(self.dns.query_count(), after_first)
        # The stock form shares the same cache.
        self.ours.stock("bl.psm.test", fresh)
        self.assertEqual(self.dns.query_count(), after_first)

    def test_pipelined_requests_on_one_connection(self):
        addrs = [self.l1, self.l2, self.w, self.clean] * 5
        with self.ours.connect() as c:
            c.send(b"".join(__import__("dnsblog_fixture").encode(score_request(f"p{i}", a))
                            for i, a in enumerate(addrs)))
            replies = {}
            for _ in addrs:
                r = score_reply(c.read_list())
                replies[r["label"]] = r
        self.assertEqual(sorted(replies), sorted(f"p{i}" for i in range(len(addrs))))
        for i, a in enumerate(addrs):
            self.assertEqual(replies[f"p{i}"]["client_address"], a)
            self.assertEqual(as_int(replies[f"p{i}"]["score"]), {self.l1: 2, self.l2: 5, self.w: -5,
                                                                 self.clean: 0}[a])

    def test_stock_form_reply_bytes(self):
        self.assertEqual(self.ours.stock("bl.psm.test", self.l2, 7),
                         f"rbl_domain\0bl.psm.test\0client_address\0{self.l2}\0label\x007\0"
                         f"rbl_addr\x00127.0.0.2 127.0.0.4\0ttl\x00300\0\0".encode())
        self.assertEqual(self.ours.stock("bl.psm.test", self.clean, 1),
                         f"rbl_domain\0bl.psm.test\0client_address\0{self.clean}\0label\0001\0"
                         f"rbl_addr\0\0ttl\x00120\0\0".encode())

    # -- bad input: a clear error, and the process keeps serving ----------
    def assert_still_serving(self):
        self.assertEqual(as_int(self.ours.score("alive", self.l1)["score"]), 2)
        self.assertTrue(self.ours.proc.running())

    def test_weighted_unknown_attribute_and_connection_stays_usable(self):
        mark = self.ours.log.mark()
        with self.ours.connect() as c:
            c.send(score_request("u", self.l1, foo="bar"))
            r = score_reply(c.read_list())
            self.assertEqual((r["label"], r["status"], r["reason"]), ("u", "error", "unknown attribute: foo"))
            c.send(score_request("v", self.l1))
            r = score_reply(c.read_list())
            self.assertEqual((r["label"], r["status"], as_int(r["score"])), ("v", "ok", 2))
        self.ours.log.wait_for(r"^warning: dnsblog: bad dnsbl_score request: unknown attribute: foo$", "dnsblog",
                               since=mark)
        self.assert_still_serving()

    def test_weighted_bad_address_and_bad_sites(self):
        r = self.ours.score("x", "not-an-ip")
        self.assertEqual((r["status"], r["reason"]), ("error", "bad client address: not-an-ip"))
        r = self.ours.score("y", self.l1, sites="bl.psm.test*x")
        self.assertEqual(r["status"], "error")
        self.assertEqual(r["reason"], 'bad DNSBL weight factor "x" in "bl.psm.test*x"')
        r = self.ours.score("z", self.l1, sites="bl.psm.test=127.0.0.[2..")
        self.assertEqual(r["status"], "error")
        self.assertTrue(r["reason"], r)
        r = self.ours.score("q", self.l1, deadline_ms="soon")
        self.assertEqual(r["status"], "error")
        self.assert_still_serving()

    def test_undecodable_list(self):
        # After a weighted request: an error reply, then the connection closes.
        with self.ours.connect() as c:
            c.send(score_request("ok", self.l1))
            self.assertEqual(score_reply(c.read_list())["status"], "ok")
            c.send(b"request\0dnsbl_score\0label\0" + b"x" * 9000 + b"\0\0")
            r = score_reply(c.read_list())
            self.assertEqual((r["label"], r["status"], r["reason"]), ("", "error", "malformed attribute list"))
            self.assertTrue(c.closed())
        # As the first list, the form is unknown: stock's warning, no reply, close.
        mark = self.ours.log.mark()
        with self.ours.connect() as c:
            c.send(b"request\0dnsbl_score\0label\0" + b"x" * 9000 + b"\0\0")
            self.assertTrue(c.closed())
        self.ours.log.wait_for(r"^warning: .*dnsblog socket", "dnsblog", since=mark)
        self.assert_still_serving()

    def test_stock_form_malformed_requests(self):
        mark = self.ours.log.mark()
        with self.ours.connect() as c:
            c.send([("client_address", self.l1), ("rbl_domain", "bl.psm.test"), ("label", 1)])
            self.assertTrue(c.closed())  # no reply, as stock
        self.ours.log.wait_for(r"^warning: unexpected attribute client_address from dnsblog socket "
                               r"\(expecting: rbl_domain\)$", "dnsblog", since=mark)
        with self.ours.connect() as c:
            c.send(stock_request("bl.psm.test", self.l1, "notanumber"))
            self.assertTrue(c.closed())
        # A non-address is a lookup error reply (stock would query junk).
        self.assertEqual(self.ours.stock("bl.psm.test", "junk", 3),
                         b"rbl_domain\0bl.psm.test\0client_address\0junk\0label\0003\0"
                         b"rbl_addr\0\0ttl\0004294967295\0\0")
        self.ours.log.wait_for(r"^warning: dnsblog: malformed client address in request for domain "
                               r"bl\.psm\.test: junk$", "dnsblog", since=mark)
        with self.ours.connect() as c:  # EOF in the middle of a list
            c.send(b"rbl_domain\0bl.psm.test\0")
            c.sock.shutdown(__import__("socket").SHUT_WR)
            self.assertTrue(c.closed())
        self.assert_still_serving()


if __name__ == "__main__":
    unittest.main()
