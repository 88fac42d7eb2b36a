"""End to end through our master: one `master -c DIR` runs our postscreen,
our dnsblog and our tlsproxy (under the bundled configuration's service
names psm-dnsblog / psm-tlsproxy) together with stock Postfix 3.7's smtpd
as the `pass` service and Debian's other stock daemons (cleanup, qmgr,
trivial-rewrite, ...), all from one private instance. NSD serves a DNSBL
zone listing one client; master runs in a mount namespace whose resolver is
that NSD, so our dnsblog (resolv.conf) and stock smtpd (reverse lookups)
both ask it.

swaks, as a real client:
- a clean client waits the greet wait, gets PASS NEW and is handed to
  stock smtpd, whose message lands in the instance's queue (postqueue);
  the same client again: PASS OLD, queued as well; the smtpd that took
  them is a child of our master;
- a listed client is rejected at RCPT TO with stock's DNSBL reply, our
  dnsblog logged the listing, and nothing is queued.
"""

import os
import re
import unittest

from master_fixture import OurMaster, children_of, cmdline
from psmtest import DnsServer, Zone, client_address, require_root, swaks

ZONE = "dnsbl.psm.test"


class EndToEndThroughOurMaster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.listed = client_address()
        zone = Zone(ZONE).list_address(cls.listed, "127.0.0.2").list_address("127.0.0.2", "127.0.0.2")
        cls.dns = cls.enterClassContext(DnsServer([zone]))
        # The bundled configuration's postscreen settings, a short greet wait.
        cls.pf = OurMaster(keep_dist=True, dns=cls.dns, params={
            "dnsblog_service_name": "psm-dnsblog",
            "tlsproxy_service_name": "psm-tlsproxy",
            "postscreen_access_list": "permit_mynetworks",
            "postscreen_dnsbl_sites": f"{ZONE}*2",
            "postscreen_dnsbl_threshold": "2",
            "postscreen_dnsbl_action": "enforce",
            "postscreen_greet_action": "enforce",
            "postscreen_greet_wait": "2s",
        })
        cls.addClassCleanup(cls.pf.stop)
        cls.addr, cls.port = cls.pf.add_postscreen(dnsblog=False, tlsproxy=False)
        cls.pf.add_service("psm-dnsblog", "unix", "dnsblog", maxproc="0")
        cls.pf.add_service("psm-tlsproxy", "unix", "tlsproxy", maxproc="0")
        for daemon in ("postscreen", "dnsblog", "tlsproxy"):
            cls.pf.use_ours(daemon)
        cls.pf.start()

    def send(self, source):
        return swaks(self.addr, self.port, source=source, to="user@example.com", timeout=40)

    def assert_queued(self, result):
        self.assertEqual(result.returncode, 0, result.output)
        self.assertIsNotNone(result.queue_id, result.output)
        entries = self.pf.wait_queued(result.queue_id, timeout=15)
        self.assertEqual(entries[0]["queue_name"], "hold")
        self.assertEqual([r["address"] for r in entries[0]["recipients"]], ["user@example.com"])

    def test_clean_client_pass_new_then_old_reaches_stock_queue(self):
        clean = client_address()
        client = re.escape(clean)
        mark = self.pf.log.mark()
        result = self.send(clean)
        self.assert_queued(result)
        self.pf.log.wait_for(rf"^PASS NEW \[{client}\]:\d+$", "postscreen", since=mark, timeout=15)
        line = self.pf.log.wait_for(rf"^connect from unknown\[{client}\]$", "smtpd", since=mark)
        self.pf.log.wait_for(rf"^{re.escape(result.queue_id)}: client=unknown\[{client}\]$", "smtpd",
                             since=mark)
        # The stock smtpd that took the client is our master's child (it
        # stays for max_idle after the session).
        smtpds = [p for p in children_of(self.pf.master_pid()) if cmdline(p)[:1] == ["smtpd"]]
        self.assertIn(line.pid, smtpds, self.pf.describe())

        mark = self.pf.log.mark()
        again = self.send(clean)
        self.assert_queued(again)
        self.assertNotEqual(again.queue_id, result.queue_id)
        self.pf.log.wait_for(rf"^PASS OLD \[{client}\]:\d+$", "postscreen", since=mark, timeout=15)
        self.pf.log.assert_absent(r"^PASS NEW ", "postscreen", since=mark)
        self.assertEqual(self.pf.problems(since=mark), [])

    def test_listed_client_rejected(self):
        mark = self.pf.log.mark()
        before = {e["queue_id"] for e in self.pf.queue()}
        result = self.send(self.listed)
        reply = f"550 5.7.1 Service unavailable; client [{self.listed}] blocked using {ZONE}"
        self.assertIn(reply, result.server_lines, result.output)
        self.assertIsNone(result.queue_id, result.output)
        listed = re.escape(self.listed)
        self.pf.log.wait_for(rf"^addr {listed} listed by domain {re.escape(ZONE)} as 127\.0\.0\.2$",
                             "dnsblog", since=mark, timeout=15)
        self.pf.log.wait_for(rf"^DNSBL rank 2 for \[{listed}\]:\d+$", "postscreen", since=mark)
        self.pf.log.wait_for(rf"^NOQUEUE: reject: RCPT from \[{listed}\]:\d+: {re.escape(reply)};",
                             "postscreen", since=mark)
        self.pf.log.assert_absent(rf"connect from unknown\[{listed}\]", "smtpd", since=mark)
        self.assertEqual({e["queue_id"] for e in self.pf.queue()}, before)


if __name__ == "__main__":
    unittest.main()
