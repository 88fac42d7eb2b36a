"""Stock Postfix 3.7 daemons under our master: stock dnsblog answers a
DNSBL request (looked up in a test zone), stock smtpd as a `pass` service
takes a passed connection with its attributes, and Debian's whole
master.cf (cleanup, qmgr, pickup, trivial-rewrite, ... with their wakeup
timers) runs under our master so that a message sent to stock smtpd lands
in the instance's queue."""

import os
import socket
import subprocess
import time
import unittest

from master_fixture import OurMaster
from psmtest import DnsServer, SmtpClient, Zone, client_address, env, netalloc, require_root


def attrtool(*args, stdin=None):
    return subprocess.run([env.our_binary("psm-attrtool"), *args], input=stdin, capture_output=True, timeout=30)


class StockDnsblog(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.listed = client_address()
        zone = Zone("dnsbl.psm.test").list_address(cls.listed, "127.0.0.2")
        cls.dns = cls.enterClassContext(DnsServer([zone]))
        cls.pf = OurMaster(dns=cls.dns)
        cls.addClassCleanup(cls.pf.stop)
        cls.pf.add_service("dnsblog", "unix", "dnsblog", maxproc="0")
        cls.pf.start()

    def test_stock_dnsblog_answers(self):
        path = os.path.join(self.pf.queue_dir, "private", "dnsblog")
        r = attrtool("-T", "20", "request", path, "rbl_domain=dnsbl.psm.test", f"client_address={self.listed}",
                     "label=7")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode().splitlines()
        self.assertIn("rbl_domain=dnsbl.psm.test", lines)
        self.assertIn(f"client_address={self.listed}", lines)
        self.assertIn("label=7", lines)
        self.assertIn("rbl_addr=127.0.0.2", lines)
        clean = client_address()
        r = attrtool("-T", "20", "request", path, "rbl_domain=dnsbl.psm.test", f"client_address={clean}", "label=8")
        self.assertIn("rbl_addr=", r.stdout.decode().splitlines())
        # dnsblog insists on -z: it got it, and master had nothing to complain about.
        self.assertEqual([l.raw for l in self.pf.log.lines() if l.severity != "info"], [])


class StockSmtpdPass(unittest.TestCase):
    def test_passed_connection_reaches_stock_smtpd(self):
        require_root()
        pf = OurMaster(params={"smtpd_peername_lookup": "no", "smtpd_client_connection_count_limit": "0",
                               "smtpd_banner": "$myhostname ESMTP passed"})
        self.addCleanup(pf.stop)
        pf.add_service("smtpd", "pass", "smtpd")
        pf.add_service("proxymap", "unix", "proxymap")
        pf.start()
        client, server_side = socket.socketpair()
        with client, server_side, socket.socket(socket.AF_UNIX) as ch:
            ch.settimeout(10)
            client.settimeout(10)
            ch.connect(os.path.join(pf.queue_dir, "private", "smtpd"))
            # postscreen's hand-off (protocols.md §2.2): one 0x00 byte with the
            # descriptor, then the four attributes.
            socket.send_fds(ch, [b"\0"], [server_side.fileno()])
            ch.sendall(b"client_address\x00192.0.2.10\x00client_port\x0043104\x00server_address\x00"
                       b"192.0.2.1\x00server_port\x0025\x00\x00")
            server_side.close()
            self.assertEqual(ch.recv(10), b"")  # smtpd closes the hand-off channel
            f = client.makefile("rwb")
            self.assertEqual(f.readline(), b"220 stock.psm.test ESMTP passed\r\n")
            f.write(b"QUIT\r\n")
            f.flush()
            self.assertTrue(f.readline().startswith(b"221 "))
        pf.log.wait_for(r"^connect from unknown\[192\.0\.2\.10\]$", "smtpd")
        line = pf.log.wait_for(r"^disconnect from unknown\[192\.0\.2\.10\]", "smtpd")
        self.assertIsNotNone(line)
        # smtpd got "-t pass -o stress=" from our master, as from stock's.
        self.assertEqual([l.raw for l in pf.log.lines() if l.severity != "info"], [])


class WholeStockInstance(unittest.TestCase):
    def test_message_lands_in_the_queue(self):
        require_root()
        pf = OurMaster(keep_dist=True, params={"smtpd_peername_lookup": "no"})
        self.addCleanup(pf.stop)
        addr = netalloc.server_address()
        port = netalloc.free_port(addr)
        pf.add_service(f"{addr}:{port}", "inet", "smtpd", private="n")
        pf.start()
        c = SmtpClient(addr, port)
        with c:
            t = c.transaction(helo="client.psm.test", mail_from="sender@psm.test", rcpt_to=["rcpt@example.com"],
                              data="Subject: through our master\r\n\r\nhello\r\n")
        self.assertTrue(t.accepted, str(t))
        queued = pf.wait_queued(queue_id=t.queue_id, timeout=15)
        self.assertEqual(queued[0]["queue_name"], "hold")
        self.assertEqual(queued[0]["sender"], "sender@psm.test")
        # Stock daemons' trouble would show up as warnings from master or them.
        problems = [l.raw for l in pf.problems() if "dict_nis_init" not in l.text]
        self.assertEqual(problems, [])


if __name__ == "__main__":
    unittest.main()
