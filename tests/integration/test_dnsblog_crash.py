"""A dnsblog that dies while lookups are in flight.

A private stock master runs OUR postscreen and OUR dnsblog
(`use_ours("postscreen")`, `use_ours("dnsblog")`). dnsblog's name server is
a SlowDnsProxy in front of NSD, made slow enough that lookups are still
unanswered when the test kills dnsblog with SIGKILL. Then:

* every session waiting for a score is still decided when its greet wait
  ends (PASS NEW without a score, as stock's partial score), with a
  postscreen warning about the lost dnsblog connection, and no hang;
* postscreen itself keeps running (same process);
* master reports the killed process, and the next lookup makes it start a
  new dnsblog, which answers: a listed client is dropped again.
"""

import os
import signal
import threading
import time
import unittest

from psmtest import (DnsServer, SlowDnsProxy, SmtpClient, StockPostfix, Zone, client_address, our_binary,
                     require_root, wait_until)

ZONE = "dnsbl.psm.test"
HOSTNAME = "stock.psm.test"
GREET_WAIT = 3


def children_running(parent_pid, exe):
    """pids of the processes whose parent is parent_pid and whose executable is exe."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent_pid and os.path.realpath(os.readlink(f"/proc/{name}/exe")) == exe:
                found.append(int(name))
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not ours to read
    return found


def master_pid(pf):
    """The stock master of this instance (`master -c CONFIG_DIR -d`)."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"/master") and pf.config_dir.encode() in argv:
            return int(name)
    raise AssertionError("master of the instance not found\n" + pf.describe())


class KilledDnsblog(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.dnsblog_exe = os.path.realpath(our_binary("dnsblog"))
        our_binary("postscreen")
        cls.listed = [client_address() for _ in range(3)]
        zone = Zone(ZONE, ttl=60, negative_ttl=60)
        for addr in cls.listed:
            zone.list_address(addr, "127.0.0.2")
        cls.dns = cls.enterClassContext(DnsServer([zone]))
        cls.proxy = cls.enterClassContext(SlowDnsProxy(upstream=(cls.dns.address, 53), delay=0.02))
        # The instance's resolver (smtpd's reverse lookups) is NSD itself;
        # dnsblog asks the proxy, and waits up to 10 s for an answer.
        cls.pf = StockPostfix(myhostname=HOSTNAME, dns=cls.dns, resolv_options="timeout:10 attempts:1", params={
            "postscreen_dnsbl_sites": ZONE,
            "postscreen_dnsbl_action": "drop",
            "postscreen_greet_wait": f"{GREET_WAIT}s",
            "postscreen_dnsbl_timeout": "20s",
            "dnsblog_nameservers": f"{cls.proxy.address}:{cls.proxy.port}",
        })
        cls.addr, cls.port = cls.pf.add_postscreen()
        cls.pf.use_ours("postscreen")
        cls.pf.use_ours("dnsblog")
        cls.enterClassContext(cls.pf)
        cls.master = master_pid(cls.pf)

    def tearDown(self):
        self.proxy.delay = 0.02

    def dnsblogs(self):
        return children_running(self.master, self.dnsblog_exe)

    def test_kill_during_lookups_then_respawn(self):
        log = self.pf.log
        mark = log.mark()
        # A first client starts dnsblog (nothing slow yet): it is dropped.
        with SmtpClient(self.addr, self.port, source=self.listed[0], timeout=15) as c:
            self.assertEqual(c.read_reply(timeout=15).last,
                             f"521 5.7.1 Service unavailable; client [{self.listed[0]}] blocked using {ZONE}")
        log.wait_for(rf"^addr {self.listed[0]} listed by domain {ZONE} as 127\.0\.0\.2$", "dnsblog", since=mark)
        wait_until(lambda: len(self.dnsblogs()) == 1, 10, message="one dnsblog child of master")
        (victim,) = self.dnsblogs()
        postscreen = log.wait_for(rf"^CONNECT from \[{self.listed[0]}\]", "postscreen", since=mark).pid

        # Now DNS takes longer than the greet wait; two clients (one listed,
        # one clean) wait for their scores when dnsblog is killed.
        self.proxy.delay = 30
        mark = log.mark()
        queries = self.proxy.query_count()
        clean = client_address()
        results = {}

        def session(source):
            try:
                with SmtpClient(self.addr, self.port, source=source, timeout=20) as c:
                    reply = c.read_reply(timeout=20)
                    results[source] = (reply.lines, reply.at - c.connected_at, c.command("QUIT").code)
            except Exception as e:  # reported by the main thread
                results[source] = e

        threads = [threading.Thread(target=session, args=(a,), daemon=True) for a in (self.listed[1], clean)]
        for t in threads:
            t.start()
        # Both lookups are in flight at the (slow) name server.
        wait_until(lambda: self.proxy.query_count() >= queries + 2, 10, message="both DNS queries at the proxy")
        log.wait_for_all([(rf"^CONNECT from \[{a}\]", "postscreen") for a in (self.listed[1], clean)], since=mark)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        for t in threads:
            t.join(40)
        self.assertFalse(any(t.is_alive() for t in threads), "a session hung")

        for source in (self.listed[1], clean):
            with self.subTest(client=source):
                result = results.get(source)
                self.assertNotIsInstance(result, Exception)
                lines, took, quit_code = result
                # Decided at the end of the greet wait without a score: passed
                # to smtpd (stock's partial score when dnsblog gives nothing).
                self.assertEqual(lines, [f"220-{HOSTNAME} ESMTP Postfix", f"220 {HOSTNAME} ESMTP Postfix"])
                self.assertLess(took, GREET_WAIT + 5)
                self.assertEqual(quit_code, 221)
                log.wait_for(rf"^PASS NEW \[{source}\]:\d+$", "postscreen", since=mark)
        self.assertLess(time.monotonic() - killed_at, GREET_WAIT + 10)
        log.assert_absent(r"^DNSBL rank", "postscreen", since=mark)
        # Stock's attribute-reader wording for a connection closed mid-list.
        warning = log.wait_for(r"^warning: premature end-of-input on private/dnsblog while reading input "
                               r"attribute name$", "postscreen", since=mark)
        self.assertEqual(warning.pid, postscreen)
        log.wait_for(rf"^warning: process \S+/dnsblog pid {victim} killed by signal 9$", "master", since=mark)
        self.assertNotIn(victim, self.dnsblogs())

        # DNS is fast again: the next lookup makes master start a new
        # dnsblog, and listed clients are dropped again.
        self.proxy.delay = 0.02
        mark = log.mark()
        with SmtpClient(self.addr, self.port, source=self.listed[2], timeout=15) as c:
            self.assertEqual(c.read_reply(timeout=15).last,
                             f"521 5.7.1 Service unavailable; client [{self.listed[2]}] blocked using {ZONE}")
        line = log.wait_for(rf"^addr {self.listed[2]} listed by domain {ZONE} as 127\.0\.0\.2$", "dnsblog",
                            since=mark)
        self.assertNotEqual(line.pid, victim)
        self.assertIn(line.pid, self.dnsblogs())
        rank = log.wait_for(rf"^DNSBL rank 1 for \[{self.listed[2]}\]:\d+$", "postscreen", since=mark)
        self.assertEqual(rank.pid, postscreen)
        log.assert_absent(r"^(fatal|panic): ", ["postscreen", "dnsblog"], since=0)


if __name__ == "__main__":
    unittest.main()
