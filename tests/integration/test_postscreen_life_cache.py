"""postscreen life cycle across connections (the temporary allowlist): a
clean client passes the greet and DNSBL tests (PASS NEW) and is cached
with stock's stamps; when only its DNSBL stamp has expired it gets no
teaser on the next connection, is looked up again and is logged PASS OLD;
a client whose record is still valid is PASS OLD at once. Our postscreen +
our dnsblog against stock 3.7 side by side (postscreen_life_common):
replies, normalised postscreen log lines and the cache records (within a
few seconds) must equal stock's.
"""

import time
import unittest

from postscreen_life_common import BANNER, LifeCase, LifePair
from psmtest import DnsServer, Zone, client_address, require_root, wait_until

CONNECT = "CONNECT from [CLIENT]:PORT to [SERVER]:PORT"
QUIT_SCRIPT = [("reply",), ("cmd", "QUIT"), ("closed",)]
NOT_LISTED_TTL = 1200


class CacheLife(LifeCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        bl = Zone("bl.psm.test", ttl=300, negative_ttl=NOT_LISTED_TTL, soa_ttl=NOT_LISTED_TTL)
        bl.list_address("127.0.0.2", "127.0.0.2")
        cls.listed = client_address()
        bl.list_address(cls.listed, "127.0.0.2")
        cls.dns = cls.enterClassContext(DnsServer([bl]))
        site = {"postscreen_dnsbl_sites": "bl.psm.test", "postscreen_dnsbl_action": "drop"}
        services = {
            "normal": dict(site),
            # DNSBL results expire after 2 s; a separate cache file.
            "short": dict(site, postscreen_dnsbl_min_ttl="1s", postscreen_dnsbl_max_ttl="2s",
                          postscreen_cache_map=lambda pf: f"btree:{pf.data_dir}/short_cache"),
            "ignore": dict(site, postscreen_dnsbl_action="ignore", postscreen_cache_map="btree:$data_directory/ign"),
        }
        cls.pair = cls.enterClassContext(LifePair(cls.dns, {}, services))

    def entries(self, instance, address):
        wait_until(lambda: address in instance.pf.cache_entries(), 10, message=f"{instance.name} cache record")
        return [int(s) for s in instance.pf.cache_entries()[address].split(";")]

    def test_pass_new_record_then_pass_old(self):
        a = client_address()
        started = time.time()
        stock, ours = self.compare("normal", QUIT_SCRIPT, a, end="PASS NEW", settle=0.3)
        self.assertEqual(ours.transcript[0], f"220-{BANNER} | 220 {BANNER}")
        self.assertEqual(ours.lines, [CONNECT, "PASS NEW [CLIENT]:PORT"])
        records = {i.name: self.entries(i, a) for i in self.pair.both()}
        for got, want in zip(records["ours"], records["stock"]):
            if want in (0, 1):
                self.assertEqual(got, want, records)
            else:
                self.assertLessEqual(abs(got - want), 5, records)
        # pregreet: a day; DNSBL: the "not listed" TTL; deep tests off.
        self.assertLessEqual(abs(records["ours"][0] - (started + 86400)), 10, records)
        self.assertLessEqual(abs(records["ours"][1] - (started + NOT_LISTED_TTL)), 10, records)
        self.assertEqual(records["ours"][2:], [1, 1, 1])
        stock, ours = self.compare("normal", QUIT_SCRIPT, a, end="PASS OLD", settle=0.3)
        self.assertEqual(ours.transcript, [f"220 {BANNER}", "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(ours.lines, [CONNECT, "PASS OLD [CLIENT]:PORT"])

    def test_expired_dnsbl_stamp_is_tested_again(self):
        a = client_address()
        stock, ours = self.compare("short", QUIT_SCRIPT, a, end="PASS NEW", settle=0.3)
        self.assertEqual(ours.lines, [CONNECT, "PASS NEW [CLIENT]:PORT"])
        time.sleep(3.2)
        # Only the DNSBL test is due: no teaser, no greet wait on input.
        stock, ours = self.compare("short", QUIT_SCRIPT, a, end="PASS OLD", settle=0.3)
        self.assertEqual(ours.transcript, [f"220 {BANNER}", "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(ours.lines, [CONNECT, "PASS OLD [CLIENT]:PORT"])

    def test_listed_with_ignore_is_looked_up_again(self):
        # Pregreet passes and is cached; the DNSBL test never passes, so the
        # next connection (no teaser) asks again, and no PASS line comes.
        a = self.listed
        stock, ours = self.compare("ignore", QUIT_SCRIPT, a, end=r"DNSBL rank \d+ for", settle=0.5)
        self.assertEqual(ours.transcript[0], f"220-{BANNER} | 220 {BANNER}")
        self.assertEqual(ours.lines, [CONNECT, "DNSBL rank 1 for [CLIENT]:PORT"])
        stock, ours = self.compare("ignore", QUIT_SCRIPT, a, end=r"DNSBL rank \d+ for", settle=0.5)
        self.assertEqual(ours.transcript, [f"220 {BANNER}", "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(ours.lines, [CONNECT, "DNSBL rank 1 for [CLIENT]:PORT"])


if __name__ == "__main__":
    unittest.main()
