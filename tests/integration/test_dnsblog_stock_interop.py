"""Our dnsblog in place of stock's, under a STOCK master and for a STOCK
postscreen (Postfix 3.7).

Two private stock instances share one NSD with a DNSBL zone and an
allowlist zone and run side by side: "stock" has stock dnsblog, "mixed" has
our dnsblog (`use_ours("dnsblog")`, name servers from the instance's
resolv.conf, i.e. the NSD). Each has two postscreen listeners, one with
`postscreen_dnsbl_action = drop` and one with `enforce`; the latter also
uses a list NSD does not serve, so that every lookup there is an error. The same client
address talks to both at once; the test compares what the client saw, the
normalised postscreen lines of the session (`DNSBL rank N for [addr]:port`,
the 521 drop, the `NOQUEUE: reject: RCPT ...` line of enforce, `PASS NEW`,
`PASS OLD`), the DNSBL expiry stamp postscreen cached from dnsblog's TTL,
and dnsblog's own lines (`addr X listed by domain Y as Z`, and the
`dnsblog_query: lookup error ...` warning).
"""

import os
import re
import threading
import time
import unittest

from psmtest import (DnsServer, SmtpClient, StockPostfix, Zone, client_address, normalize, our_binary,
                     require_root, reverse_name)

HOSTNAME = "stock.psm.test"
BLACK = "black.psm.test"
WHITE = "white.psm.test"
# A list NSD does not serve (it answers REFUSED): every lookup is an error,
# which stock dnsblog logs with the resolver's text.
DEAD = "nozone.psm.test"
STOCK_DNSBLOG = "/usr/lib/postfix/sbin/dnsblog"
# Distinct weights, so that the domain named in a reject never depends on
# which answer comes first.
SITES = f"{BLACK}*2,{BLACK}=127.0.0.4*3,{WHITE}*-4"
# The enforce listener's lists (a master.cf -o value: no blanks).
ENFORCE_SITES = f"{SITES},{DEAD}*7"


def dead_warning(client):
    """Stock dnsblog's warning for a lookup in DEAD (glibc's TRY_AGAIN text)."""
    q = f"{reverse_name(client)}.{DEAD}"
    return (f"postfix/dnsblog: warning: dnsblog_query: lookup error for DNS query {q}: Host or domain name not "
            f"found. Name service error for name={q} type=A: Host not found, try again")


def run_both(fn, instances):
    """fn(instance) on every instance at once (threads); the results in
    order; the first exception is raised again."""
    results = [None] * len(instances)
    errors = []

    def body(i, inst):
        try:
            results[i] = fn(inst)
        except BaseException as e:  # re-raised in the test's thread
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i, inst), daemon=True) for i, inst in enumerate(instances)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if any(t.is_alive() for t in threads):
        raise AssertionError("a session thread did not finish within 60 s")
    if errors:
        raise errors[0]
    return results


class Instance:
    def __init__(self, name, dns, ours):
        self.name = name
        self.pf = StockPostfix(myhostname=HOSTNAME, dns=dns, params={
            "postscreen_dnsbl_sites": SITES,
            "postscreen_dnsbl_threshold": "2",
            "postscreen_dnsbl_action": "drop",
            "postscreen_dnsbl_min_ttl": "5s",
            "postscreen_dnsbl_timeout": "5s",
            "postscreen_greet_wait": "2s",
        })
        self.drop = self.pf.add_postscreen()
        # A second postscreen needs a cache of its own (postscreen locks it).
        self.enforce = self.pf.add_postscreen(options={
            "postscreen_dnsbl_action": "enforce",
            "postscreen_dnsbl_sites": ENFORCE_SITES,
            "postscreen_cache_map": "btree:$data_directory/postscreen_enforce_cache"})
        self.expected_dnsblog = os.path.realpath(our_binary("dnsblog") if ours else STOCK_DNSBLOG)
        if ours:
            self.pf.use_ours("dnsblog")

    @property
    def log(self):
        return self.pf.log

    def session_lines(self, client, since, last_regex, timeout=15):
        """postscreen's lines about `client` since `since`, once `last_regex`
        has been logged, normalised."""
        self.log.wait_for(last_regex, "postscreen", since=since, timeout=timeout)
        endpoints = {self.drop[0]: "SERVER", self.enforce[0]: "SERVER", client: "CLIENT"}
        return [normalize(line.text, addresses=endpoints) for line in self.log.lines("postscreen", since=since)
                if f"[{client}]" in line.text]

    def dnsblog_lines(self, client, since):
        """dnsblog's lines about client (its address, or its DNSBL query names)."""
        names = [client, reverse_name(client)]
        lines = self.log.lines("dnsblog", "|".join(rf"(?<![0-9.]){re.escape(n)}(?![0-9])" for n in names), since=since)
        for line in lines:
            self.assert_dnsblog_process(line)
        return sorted(f"{line.program}: {line.text}" for line in lines)

    def assert_dnsblog_process(self, line):
        """The line came from the dnsblog this instance is meant to run
        (stock's and ours both stay up while idle, for max_idle = 100s)."""
        try:
            exe = os.path.realpath(os.readlink(f"/proc/{line.pid}/exe"))
        except OSError as e:
            raise AssertionError(f"{self.name}: dnsblog pid {line.pid} is gone: {e}") from e
        if exe != self.expected_dnsblog:
            raise AssertionError(f"{self.name}: dnsblog pid {line.pid} runs {exe}, not {self.expected_dnsblog}")


class StockPostscreenWithOurDnsblog(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        our_binary("dnsblog")
        cls.listed = client_address()
        cls.multi = client_address()
        cls.allowed = client_address()
        black = Zone(BLACK, ttl=300, negative_ttl=120)
        black.list_address("127.0.0.2").list_address(cls.listed, "127.0.0.2")
        black.list_address(cls.multi, ["127.0.0.2", "127.0.0.4"], ttl=200)
        black.list_address(cls.allowed, "127.0.0.2")
        white = Zone(WHITE, ttl=300, negative_ttl=120).list_address(cls.allowed, "127.0.0.2")
        cls.dns = cls.enterClassContext(DnsServer([black, white]))
        cls.stock = Instance("stock", cls.dns, ours=False)
        cls.mixed = Instance("mixed", cls.dns, ours=True)
        cls.enterClassContext(cls.stock.pf)
        cls.enterClassContext(cls.mixed.pf)
        cls.both = [cls.stock, cls.mixed]

    def setUp(self):
        self.marks = {inst.name: inst.log.mark() for inst in self.both}

    def tearDown(self):
        for inst in self.both:
            bad = [line for line in inst.pf.problems(self.marks[inst.name])
                   if line.severity in ("fatal", "panic") or "exit status" in line.text]
            self.assertEqual(bad, [], f"{inst.name} instance reported problems:\n{inst.pf.describe()}")

    def drop_session(self, client):
        """A client that only reads: what it saw, plus the instance's lines."""

        def session(inst):
            with SmtpClient(*inst.drop, source=client, timeout=15) as c:
                reply = c.read_reply(timeout=15)
                closed = c.wait_closed(timeout=15) if reply.code == 521 else c.command("QUIT").code
                return reply.lines, closed

        return run_both(session, self.both)

    def compare_logs(self, client, last_regex):
        stock_ps, mixed_ps = (inst.session_lines(client, self.marks[inst.name], last_regex) for inst in self.both)
        self.assertEqual(mixed_ps, stock_ps)
        stock_db, mixed_db = (inst.dnsblog_lines(client, self.marks[inst.name]) for inst in self.both)
        self.assertEqual(mixed_db, stock_db)
        return stock_ps, stock_db

    def test_listed_client_is_dropped(self):
        (stock_seen, stock_closed), (mixed_seen, mixed_closed) = self.drop_session(self.listed)
        self.assertEqual(stock_seen, [f"220-{HOSTNAME} ESMTP Postfix",
                                      f"521 5.7.1 Service unavailable; client [{self.listed}] blocked using {BLACK}"])
        self.assertEqual(mixed_seen, stock_seen)
        self.assertIn(mixed_closed, ("eof", "reset"))
        ps, db = self.compare_logs(self.listed, rf"^DISCONNECT \[{self.listed}\]:\d+$")
        self.assertIn("DNSBL rank 2 for [CLIENT]:PORT", ps)
        self.assertEqual(db, [f"postfix/dnsblog: addr {self.listed} listed by domain {BLACK} as 127.0.0.2",
])

    def test_several_a_records_and_filter(self):
        (stock_seen, _), (mixed_seen, _) = self.drop_session(self.multi)
        self.assertEqual(mixed_seen, stock_seen)
        self.assertEqual(stock_seen[-1],
                         f"521 5.7.1 Service unavailable; client [{self.multi}] blocked using {BLACK}")
        ps, db = self.compare_logs(self.multi, rf"^DISCONNECT \[{self.multi}\]:\d+$")
        # 2 for any answer, 3 more for the 127.0.0.4 filter.
        self.assertIn("DNSBL rank 5 for [CLIENT]:PORT", ps)
        self.assertEqual(db, [f"postfix/dnsblog: addr {self.multi} listed by domain {BLACK} as {a}"
                              for a in ("127.0.0.2", "127.0.0.4")])

    def test_allowlist_outweighs_listing(self):
        (stock_seen, stock_quit), (mixed_seen, mixed_quit) = self.drop_session(self.allowed)
        self.assertEqual(stock_seen, [f"220-{HOSTNAME} ESMTP Postfix", f"220 {HOSTNAME} ESMTP Postfix"])
        self.assertEqual((mixed_seen, mixed_quit), (stock_seen, stock_quit))
        ps, db = self.compare_logs(self.allowed, rf"^PASS NEW \[{self.allowed}\]:\d+$")
        self.assertNotIn("DNSBL rank", " ".join(ps))
        self.assertEqual(db, [f"postfix/dnsblog: addr {self.allowed} listed by domain {d} as 127.0.0.2"
                              for d in (BLACK, WHITE)])

    def test_clean_client_passes_then_is_old(self):
        clean = client_address()
        (stock_seen, _), (mixed_seen, _) = self.drop_session(clean)
        self.assertEqual(mixed_seen, stock_seen)
        self.assertEqual(stock_seen[-1], f"220 {HOSTNAME} ESMTP Postfix")
        ps, db = self.compare_logs(clean, rf"^PASS NEW \[{clean}\]:\d+$")
        self.assertEqual(db, [])
        # postscreen cached the DNSBL result for the TTL dnsblog sent (the
        # SOA's 120 s; min_ttl is 5 s): the same expiry stamp in both caches.
        stamps = [int(inst.pf.cache_entries()[clean].split(";")[1]) for inst in self.both]
        self.assertLessEqual(abs(stamps[0] - stamps[1]), 3, stamps)
        self.assertLessEqual(abs(stamps[0] - (time.time() + 120)), 20, stamps)
        # Reconnecting: PASS OLD, no DNSBL lookup.
        self.marks = {inst.name: inst.log.mark() for inst in self.both}
        (stock_seen, _), (mixed_seen, _) = self.drop_session(clean)
        self.assertEqual(stock_seen, [f"220 {HOSTNAME} ESMTP Postfix"])
        self.assertEqual(mixed_seen, stock_seen)
        ps, _ = self.compare_logs(clean, rf"^PASS OLD \[{clean}\]:\d+$")
        self.assertIn("PASS OLD [CLIENT]:PORT", ps)

    def test_enforce_rejects_rcpt(self):
        def session(inst):
            with SmtpClient(*inst.enforce, source=self.listed, timeout=15) as c:
                seen = [" | ".join(c.read_reply(timeout=15).lines)]
                for cmd in ("EHLO client.psm.test", "MAIL FROM:<a@client.psm.test>", "RCPT TO:<b@dest.psm.test>",
                            "QUIT"):
                    reply = c.command(cmd)
                    seen.append(reply.lines[-1] if cmd.startswith("EHLO") else " | ".join(reply.lines))
                return seen

        stock_seen, mixed_seen = run_both(session, self.both)
        self.assertEqual(mixed_seen, stock_seen)
        self.assertEqual(stock_seen[3],
                         f"550 5.7.1 Service unavailable; client [{self.listed}] blocked using {BLACK}")
        ps, db = self.compare_logs(self.listed, rf"^DISCONNECT \[{self.listed}\]:\d+$")
        self.assertIn("DNSBL rank 2 for [CLIENT]:PORT", ps)
        self.assertEqual(db, [f"postfix/dnsblog: addr {self.listed} listed by domain {BLACK} as 127.0.0.2",
                              dead_warning(self.listed)])
        self.assertIn(f"NOQUEUE: reject: RCPT from [CLIENT]:PORT: 550 5.7.1 Service unavailable; client [CLIENT] "
                      f"blocked using {BLACK}; from=<a@client.psm.test>, to=<b@dest.psm.test>, proto=ESMTP, "
                      f"helo=<client.psm.test>", ps)


if __name__ == "__main__":
    unittest.main()
