"""postscreen's temporary allowlist (postscreen_cache_map, default
btree:$data_directory/postscreen_cache) with our postscreen under stock
master, against stock 3.7:

* the file is interchangeable: a record stock postscreen wrote makes ours
  say PASS OLD (same data_directory, the file as stock left it), a record
  ours wrote makes stock say PASS OLD, and stock `postmap -s`/`-q` read ours;
* expiry: with a 2 s postscreen_greet_ttl the record stops counting and the
  client runs the pregreet test again; with a 3 s retention time and a 3 s
  cleanup interval the periodic cleanup drops the records and logs stock's
  "cache btree:... full cleanup: retained=N dropped=N entries" line;
* a file mail_owner may not open: the same error and warnings as stock;
* cleanup counts: on a cache seeded with records of every kind (expired
  long ago, 0 and 1 stamps, stamps of disabled tests, short and malformed
  values) ours logs the same line as stock and leaves the same records.
"""

import os
import re
import time
import unittest

from postscreen_cache_common import instance, postmap_s, postscreen_problems, seed_cache, visit, wait_cached, wake
from psmtest import client_address, normalize, procs, require_root, wait_until

TEASER = "220-mx.psm.test ESMTP Postfix"
SMTPD = "220 mx.psm.test ESMTP Postfix"


class Interchange(unittest.TestCase):
    def test_stock_and_ours_honour_each_others_records(self):
        require_root()
        pf, endpoint = instance(ours=False)
        cache = pf.cache_path[:-3]
        a, b = client_address(), client_address()

        # Stock postscreen writes a record for a.
        with pf:
            self.assertEqual(visit(pf, endpoint, a), (TEASER, "NEW"))
            wait_cached(pf, a)
            self.assertEqual(visit(pf, endpoint, a), (SMTPD, "OLD"))
        stock_record = postmap_s(cache, pf.config_dir)[a]
        self.assertRegex(stock_record, r"^\d{10};1;1;1;1$")

        # Ours opens stock's file: a is allowlisted at once; b is new.
        pf.use_ours("postscreen")
        mark = pf.log.mark()
        with pf:
            self.assertEqual(visit(pf, endpoint, a), (SMTPD, "OLD"))
            self.assertEqual(visit(pf, endpoint, b), (TEASER, "NEW"))
            wait_cached(pf, b)
            self.assertEqual(visit(pf, endpoint, b), (SMTPD, "OLD"))
            self.assertEqual(postscreen_problems(pf, mark), [])
        # Stock's reader sees both records; ours did not touch a's.
        entries = postmap_s(cache, pf.config_dir)
        self.assertEqual(entries[a], stock_record)
        self.assertRegex(entries[b], r"^\d{10};1;1;1;1$")
        stamp = int(entries[b].split(";")[0])
        self.assertLessEqual(abs(stamp - (time.time() + 86400)), 120, "b's pregreet stamp is now + greet_ttl (1d)")
        res = procs.run(["/usr/sbin/postmap", "-c", pf.config_dir, "-q", b, f"btree:{cache}"], timeout=30)
        self.assertEqual(res.stdout.strip(), entries[b])
        # The file is stock's: no journal left behind after a clean stop.
        self.assertEqual(sorted(f for f in os.listdir(pf.data_dir) if "postscreen_cache" in f),
                         ["postscreen_cache.db"])

        # Stock opens the file ours wrote: b is allowlisted.
        pf.use_stock("postscreen")
        mark = pf.log.mark()
        with pf:
            self.assertEqual(visit(pf, endpoint, b), (SMTPD, "OLD"))
            self.assertEqual(visit(pf, endpoint, a), (SMTPD, "OLD"))
            self.assertEqual(postscreen_problems(pf, mark), [])


class Expiry(unittest.TestCase):
    PARAMS = {
        "postscreen_greet_ttl": "2s",
        "postscreen_cache_retention_time": "3s",
        "postscreen_cache_cleanup_interval": "3s",
    }

    def run_scenario(self, ours):
        pf, endpoint = instance(ours, self.PARAMS, name="ours" if ours else "stock")
        name = f"btree:{pf.cache_path[:-3]}"
        cleanup = rf"^cache {re.escape(name)} full cleanup: retained=(\d+) dropped=(\d+) entries$"
        result = {}
        with pf:
            # Empty cache, no _LAST_CACHE_CLEANUP_COMPLETED_: a walk at once.
            wake(pf, endpoint)
            first = pf.log.wait_for(cleanup, "postscreen", since=0, timeout=15)
            result["first"] = first.match.groups()
            x, y = client_address(), client_address()
            result["x new"] = visit(pf, endpoint, x)
            stamp = int(wait_cached(pf, x).split(";")[0])
            result["x within ttl"] = visit(pf, endpoint, x)  # well before stamp (now + 2 s)
            result["y new"] = visit(pf, endpoint, y)
            wait_cached(pf, y)
            # Past the pregreet stamp (whole seconds: now > stamp), before the
            # retention time lets a cleanup drop it: the greet test runs
            # again; the record has no 0 stamp, so the conclusion says PASS
            # OLD (as stock).
            wait_until(lambda: time.time() >= stamp + 1.05, 10)
            result["x expired"] = visit(pf, endpoint, x)
            # No more clients: the cleanup walks drop both records (retention
            # 3 s past their stamps) and later walks find an empty cache.
            mark = pf.log.mark()
            counts = []

            def emptied():
                lines = pf.log.lines("postscreen", cleanup, since=mark)
                counts[:] = [tuple(int(n) for n in line.match.groups()) for line in lines]
                return counts and counts[-1] == (0, 0) and sum(d for _, d in counts) >= 2

            wait_until(emptied, 30, message=f"cleanup lines {counts}\n{pf.describe()}")
            result["dropped"] = sum(d for _, d in counts)
            result["problems"] = postscreen_problems(pf, 0)
        result["left"] = sorted(k for k in postmap_s(pf.cache_path[:-3], pf.config_dir) if k in (x, y))
        return result

    def test_records_expire_and_cleanup_drops_them_as_stock(self):
        require_root()
        stock = self.run_scenario(False)
        ours = self.run_scenario(True)
        expected = {
            "first": ("0", "0"),
            "x new": (TEASER, "NEW"),
            "y new": (TEASER, "NEW"),
            "x within ttl": (SMTPD, "OLD"),
            "x expired": (TEASER, "OLD"),
            "dropped": 2,
            "problems": [],
            "left": [],
        }
        self.assertEqual(stock, expected)
        self.assertEqual(ours, expected)


class CleanupCounts(unittest.TestCase):
    # Only the pregreet test is enabled: the other four stamps never matter.
    SEED = {
        "192.0.2.1": "4000000000;1;1;1;1",  # valid for decades: kept
        "192.0.2.2": "1000;1;1;1;1",  # expired long ago: dropped
        "192.0.2.3": "0;0;0;0;0",  # never passed: dropped
        "192.0.2.4": "4000000000;0;0;1000;1",  # stale stamps of disabled tests: kept
        "192.0.2.5": "4000000000",  # one field (the rest read as 1): kept
        "192.0.2.6": "junk",  # malformed: read as 1, dropped
        "2001:db8::7": "4000000000;5;5;5;5",  # kept
        "192.0.2.8": "1;4000000000;4000000000;4000000000;4000000000",  # dropped
    }

    def run_scenario(self, ours):
        pf, endpoint = instance(ours, {"postscreen_cache_cleanup_interval": "1h"}, name="ours" if ours else "stock")
        seed_cache(pf, self.SEED)
        name = f"btree:{pf.cache_path[:-3]}"
        with pf:
            wake(pf, endpoint)
            line = pf.log.wait_for(rf"^cache {re.escape(name)} (full|partial) cleanup: .*", "postscreen", since=0,
                                   timeout=15)
            problems = postscreen_problems(pf, 0)
        entries = postmap_s(pf.cache_path[:-3], pf.config_dir)
        last = entries.pop("_LAST_CACHE_CLEANUP_COMPLETED_", None)
        return line.text.replace(name, "NAME"), entries, last, problems

    def test_seeded_cache_cleanup_matches_stock(self):
        require_root()
        before = time.time()
        stock = self.run_scenario(False)
        ours = self.run_scenario(True)
        after = time.time()
        self.assertEqual(stock[0], "cache NAME full cleanup: retained=4 dropped=4 entries")
        self.assertEqual(ours[0], stock[0])
        kept = {k: v for k, v in self.SEED.items() if k in ("192.0.2.1", "192.0.2.4", "192.0.2.5", "2001:db8::7")}
        self.assertEqual(stock[1], kept)
        self.assertEqual(ours[1], stock[1])
        for _, _, last, problems in (stock, ours):
            self.assertIsNotNone(last)
            self.assertTrue(before - 1 <= int(last) <= after + 1, last)
            self.assertEqual(problems, [])


class UnusableFile(unittest.TestCase):
    """A cache file mail_owner may not write (postmap run by root on a
    root-owned source leaves a root-owned 0644 file): stock and ours log the
    same error and warnings (open, the failed cleanup walk, each lookup and
    update) and serve every client as new."""

    def run_scenario(self, ours):
        pf, endpoint = instance(ours, name="ours" if ours else "stock")
        text = os.path.join(pf.data_dir, "postscreen_cache")
        with open(text, "w") as f:
            f.write("192.0.2.1 4000000000;1;1;1;1\n")
        procs.run(["/usr/sbin/postmap", "-c", pf.config_dir, f"btree:{text}"], timeout=30)
        self.assertEqual(os.stat(pf.cache_path).st_uid, 0)
        clients = [client_address(), client_address()]
        with pf:
            passes = [visit(pf, endpoint, c) for c in clients]
            pf.log.wait_for(r"could not update entry for " + re.escape(clients[-1]) + "$", "postscreen", since=0,
                            timeout=15)
        names = {c: f"CLIENT{i}" for i, c in enumerate(clients)}
        names[endpoint[0]] = "SERVER"
        lines = [normalize(line.text, addresses=names, extra=[(re.escape(pf.dir), "DIR")])
                 for line in pf.log.lines("postscreen", since=0)]
        return passes, lines

    def test_unusable_file_is_logged_as_stock(self):
        require_root()
        stock = self.run_scenario(False)
        ours = self.run_scenario(True)
        self.assertEqual(stock[0], [(TEASER, "NEW")] * 2)
        self.assertIn("error: open database DIR/data/postscreen_cache.db: Permission denied", stock[1])
        self.assertIn("cache btree:DIR/data/postscreen_cache partial cleanup: retained=0 dropped=0 entries", stock[1])
        self.assertEqual(ours, stock)


if __name__ == "__main__":
    unittest.main()
