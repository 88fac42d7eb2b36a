"""Reference test: proves the psmtest fixtures against stock Postfix alone.

A private stock Postfix 3.7 instance runs stock postscreen on a loopback
port, stock dnsblog and stock smtpd as the `pass` service, inside a mount
namespace whose resolver is an NSD serving a DNSBL zone that lists one
client address. It checks what an operator and a peer see:

(a) a listed client is dropped with `521 5.7.1 Service unavailable; client
    [...] blocked using <zone>`, and the log has `DNSBL rank` and stock
    dnsblog's `addr ... listed by domain ...` line;
(b) a clean client gets the `220-` teaser, `PASS NEW`, is handed to stock
    smtpd (`connect from ...`), and its message reaches the stock queue;
(c) the same client reconnecting (with swaks) gets `PASS OLD` and its
    message is queued too;
(d) a client talking before the greeting is logged `PREGREET`;
(e) a plain stock smtpd listener takes pipelined commands (raw client).
The DNS helpers (NSD counters and updates, slow proxy, black hole) are
checked on their own in a second class.

It is the pattern for the compatibility tests: the same scenario will be
run against our daemons and the normalised logs compared.
"""

import time
import unittest

from psmtest import (BlackholeDns, DnsServer, SlowDnsProxy, SmtpClient, StockPostfix, Zone,
                     client_address, dnswire, normalize, require_root, swaks)

ZONE = "dnsbl.psm.test"
HOSTNAME = "stock.psm.test"
BANNER = f"{HOSTNAME} ESMTP Postfix"


class StockPostscreenReference(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.listed = client_address()
        zone = Zone(ZONE, ttl=60, negative_ttl=30)
        zone.list_address(cls.listed, "127.0.0.2", txt="psmtest: listed")
        # enterClassContext starts the fixture and stops it after the class,
        # whatever happens.
        cls.dns = cls.enterClassContext(DnsServer([zone]))
        cls.pf = StockPostfix(myhostname=HOSTNAME, dns=cls.dns, params={
            "postscreen_dnsbl_sites": ZONE,
            "postscreen_dnsbl_action": "drop",
            "postscreen_greet_wait": "2s",
        })
        cls.addr, cls.port = cls.pf.add_postscreen()
        cls.smtpd_addr, cls.smtpd_port = cls.pf.add_smtpd()  # plain smtpd, no postscreen
        cls.enterClassContext(cls.pf)

    def setUp(self):
        self.mark = self.pf.log.mark()

    def tearDown(self):
        bad = [line for line in self.pf.problems(self.mark)
               if line.severity in ("fatal", "panic") or "exit status" in line.text]
        self.assertEqual(bad, [], "stock Postfix reported problems")

    def connect(self, source=None, endpoint=None):
        address, port = endpoint or (self.addr, self.port)
        return self.enterContext(SmtpClient(address, port, source=source, timeout=10))

    def test_a_listed_client_is_dropped(self):
        queries_before = self.dns.query_count()
        c = self.connect(source=self.listed)
        reply = c.read_reply()
        # The teaser comes at once; the drop reply ends the greet wait.
        self.assertEqual(reply.lines, [
            f"220-{BANNER}",
            f"521 5.7.1 Service unavailable; client [{self.listed}] blocked using {ZONE}"])
        self.assertIn(c.wait_closed(), ("eof", "reset"))

        log = self.pf.log
        client = rf"\[{self.listed}\]:{c.source_port}"
        connect = log.wait_for(rf"^CONNECT from {client} to \[{self.addr}\]:{self.port}$",
                               "postscreen")
        listed = log.wait_for(rf"^addr {self.listed} listed by domain {ZONE} as 127\.0\.0\.2$",
                              "dnsblog")
        rank = log.wait_for(rf"^DNSBL rank 1 for {client}$", "postscreen")
        disconnect = log.wait_for(rf"^DISCONNECT {client}$", "postscreen")
        self.assertLess(connect.offset, listed.offset)
        self.assertLess(listed.offset, rank.offset)
        self.assertLess(rank.offset, disconnect.offset)
        log.assert_absent(rf"PASS (NEW|OLD) {client}", "postscreen")
        # Stock dnsblog asked our NSD: the mount namespace works.
        self.assertGreater(self.dns.query_count(), queries_before)
        # The normaliser hides what changes from run to run.
        self.assertEqual(normalize(rank.text, addresses={self.listed: "CLIENT"}),
                         "DNSBL rank 1 for [CLIENT]:PORT")

    def test_b_clean_client_passes_and_mail_is_queued(self):
        c = self.connect()
        greeting = c.read_reply()
        # 220- teaser from postscreen, then 220 from smtpd after PASS NEW.
        self.assertEqual(greeting.lines, [f"220-{BANNER}", f"220 {BANNER}"])
        self.assertLess(greeting.first_at - c.connected_at, 1.0)  # teaser at once
        self.assertGreaterEqual(greeting.at - greeting.first_at, 0.5)  # greet wait (1..2 s)

        log = self.pf.log
        client = rf"\[{c.source}\]:{c.source_port}"
        log.wait_for(rf"^PASS NEW {client}$", "postscreen")
        log.wait_for(rf"^connect from unknown\[{c.source}\]$", "smtpd")
        log.assert_absent(rf"DNSBL rank", "postscreen")

        t = c.transaction(read_greeting=False)
        self.assertTrue(t.accepted, str(t))
        self.assertEqual(t.reply("RCPT").code, 250)
        held = self.pf.wait_queued(t.queue_id)
        self.assertEqual(held[0]["queue_name"], "hold")
        self.assertEqual(held[0]["recipients"][0]["address"], "rcpt@dest.psm.test")
        self.assertIn(t.queue_id, self.pf.postqueue_p())
        self.assertIn(c.source, self.pf.cache_entries())

    def test_c_reconnect_passes_old_with_swaks(self):
        source = client_address()
        first = self.connect(source=source)
        self.assertEqual(first.read_reply().code, 220)
        self.assertEqual(first.command("QUIT").code, 221)
        self.pf.log.wait_for(rf"^PASS NEW \[{source}\]:{first.source_port}$", "postscreen")

        mark = self.pf.log.mark()
        result = swaks(self.addr, self.port, source=source, to="swaks@dest.psm.test")
        self.assertEqual(result.returncode, 0, result.output)
        # No teaser this time: smtpd's greeting is the first line.
        self.assertEqual(result.server_lines[0], f"220 {BANNER}", result.output)
        self.assertTrue(result.accepted, result.output)
        self.pf.log.wait_for(rf"^PASS OLD \[{source}\]:\d+$", "postscreen", since=mark)
        self.pf.log.wait_for(rf"^{result.queue_id}: client=unknown\[{source}\]$", "smtpd",
                             since=mark)
        self.pf.wait_queued(result.queue_id)
        self.assertIn(result.queue_id, self.pf.postqueue_p())

    def test_d_pregreet_is_logged(self):
        c = self.connect()
        c.send(b"EHLO pregreet.psm.test\r\n")
        line = self.pf.log.wait_for(
            rf"^PREGREET 24 after (\S+) from \[{c.source}\]:{c.source_port}: "
            r"EHLO pregreet\.psm\.test\\r\\n$", "postscreen")
        self.assertRegex(line.match.group(1), r"^\d+(\.\d+)?$")
        self.assertEqual(
            normalize(line.text, addresses={c.source: "CLIENT"}),
            r"PREGREET 24 after TIME from [CLIENT]:PORT: EHLO pregreet.psm.test\r\n")
        # Default greet action "ignore": handed to smtpd without a PASS line.
        self.pf.log.wait_for(rf"^connect from unknown\[{c.source}\]$", "smtpd")
        self.pf.log.assert_absent(rf"PASS (NEW|OLD) \[{c.source}\]", "postscreen")

    def test_e_pipelined_commands_to_plain_smtpd(self):
        c = self.connect(endpoint=(self.smtpd_addr, self.smtpd_port))
        self.assertEqual(c.read_reply().lines, [f"220 {BANNER}"])
        self.assertIn("PIPELINING", c.command("EHLO pipe.psm.test").texts)
        c.send(b"MAIL FROM:<a@client.psm.test>\r\nRCPT TO:<b@dest.psm.test>\r\nDATA\r\n")
        codes = [r.code for r in c.read_replies(3)]
        self.assertEqual(codes, [250, 250, 354])
        c.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        queued, bye = c.read_replies(2)
        self.assertRegex(queued.last, r"^250 2\.0\.0 Ok: queued as [0-9A-F]+$")
        self.assertEqual(bye.code, 221)
        self.assertEqual(c.wait_closed(), "eof")
        self.pf.wait_queued(queued.last.rsplit(" ", 1)[1])


class DnsFixtures(unittest.TestCase):
    """The DNS helpers on their own (no Postfix): counters, delay, silence."""

    @classmethod
    def setUpClass(cls):
        require_root()
        cls.zone = Zone("fixtures.psm.test", negative_ttl=7).add("www", "A", "127.0.0.9")
        cls.dns = cls.enterClassContext(DnsServer([cls.zone]))

    def test_query_count_and_negative_ttl(self):
        before = self.dns.query_count()
        self.assertEqual(self.dns.query("www.fixtures.psm.test").values("A"), ["127.0.0.9"])
        missing = self.dns.query("nothere.fixtures.psm.test")
        self.assertEqual(missing.rcode, "NXDOMAIN")
        self.assertEqual(missing.authority[0].value["minimum"], 7)
        self.assertEqual(self.dns.query("1.0.0.127.in-addr.arpa", "PTR").rcode, "NXDOMAIN")
        self.assertEqual(self.dns.query_count(), before + 3)

    def test_zone_update(self):
        self.zone.add("new", "TXT", 'with "quotes"')
        self.dns.update(self.zone)
        self.assertEqual(self.dns.query("new.fixtures.psm.test", "TXT").values(),
                         [('with "quotes"',)])

    def test_slow_proxy_and_black_hole(self):
        with SlowDnsProxy(self.dns.endpoint, delay=0.1) as proxy:
            answer = dnswire.query(proxy.address, "www.fixtures.psm.test")
            self.assertEqual(answer.values(), ["127.0.0.9"])
            self.assertGreaterEqual(answer.elapsed, 0.1)
            self.assertEqual(proxy.query_count(), 1)
        with BlackholeDns() as hole:
            start = time.monotonic()
            with self.assertRaises(dnswire.DnsTimeout):
                dnswire.query(hole.address, "www.fixtures.psm.test", timeout=0.2)
            self.assertLess(time.monotonic() - start, 1.0)
            self.assertEqual(hole.query_count(), 1)


if __name__ == "__main__":
    unittest.main()
