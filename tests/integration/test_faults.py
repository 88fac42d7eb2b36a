"""Faults a front-line daemon must survive (issue 8): the DNS server gone,
and the file-descriptor limit reached.

DNS server gone: our postscreen + our dnsblog and stock's, side by side
under stock master (postscreen_life_common), one NSD serving the DNSBL.
A listed client is rejected by both; NSD is stopped; a listed client is
now decided without the listing (PASS NEW and the hand-off, both within a
bounded time: nothing hangs) with the same replies and postscreen lines as
stock; NSD comes back and the next listed client is rejected again.
With the server gone, the kernel answers each query with an ICMP port
unreachable: stock's resolver sees it on its connected socket and ours in
the socket's error queue (IP_RECVERR), so both log at once
`warning: dnsblog_query: lookup error for DNS query ...: Host not found, try
again` and the client is decided without waiting for a DNS timeout.

File-descriptor limit: postscreen runs under a wrapper that sets
RLIMIT_NOFILE soft = hard = 256 (postscreen raises the soft limit to the
hard one, so the hard one has to be low too) and more clients connect than
it has descriptors. Ours keeps the last 32 descriptors (1/64 of the limit,
at least 32) for the sessions it holds: a client whose connection takes one
of them is refused as at the pre-queue limit (`421 4.3.2 All screening
ports are busy`, `reject: connect from ...: all screening ports busy`, one
warning), the clients it took keep their sessions (one of them pregreets
and gets the 521 of postscreen_greet_action = drop at once), the process
stays the same and serves new clients once others leave; with every client
slot taken, an allowlisted client still reaches smtpd (the hand-off has its
descriptors). The descriptor table never fills, so this runs under the
sanitizers too. Stock 3.7 is not the model here: its postscreen dies at the
limit (`fatal: fcntl F_DUPFD: Too many open files`, master restarts it) and
drops every client it held; the stock test pins that reference behaviour
down.
"""

import os
import re
import time
import unittest

from master_fixture import alive
from postscreen_life_common import BANNER, LifeCase, LifePair
from psmtest import (DnsServer, SmtpClient, SmtpTimeout, StockPostfix, Zone, client_address, env, procs,
                     require_root)

CONNECT = "CONNECT from [CLIENT]:PORT to [SERVER]:PORT"
QUIT_SCRIPT = [("reply",), ("cmd", "QUIT"), ("closed",)]
DROP_SCRIPT = [("reply",), ("closed",)]
ZONE = "bl.psm.test"


class DnsServerGone(LifeCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.listed = [client_address() for _ in range(3)]
        bl = Zone(ZONE)
        bl.list_address("127.0.0.2", "127.0.0.2")
        for address in cls.listed:
            bl.list_address(address, "127.0.0.2")
        cls.dns = cls.enterClassContext(DnsServer([bl]))
        site = {"postscreen_dnsbl_sites": ZONE, "postscreen_dnsbl_action": "drop",
                "postscreen_cache_map": ""}
        cls.pair = cls.enterClassContext(LifePair(
            cls.dns, {"dnsblog_health_check_interval": "0"}, {"main": site}))

    def rejected(self, source):
        stock, ours = self.compare("main", DROP_SCRIPT, source)
        reply = f"521 5.7.1 Service unavailable; client [CLIENT] blocked using {ZONE}"
        self.assertEqual(ours.transcript, [f"220-{BANNER} | {reply}", "<closed>"])
        return stock, ours

    def test_dns_server_stops_and_comes_back(self):
        self.rejected(self.listed[0])

        self.dns.stop()
        started = time.monotonic()
        stock, ours = self.compare("main", QUIT_SCRIPT, self.listed[1], end="PASS NEW", timeout=30)
        # Decided without the listing, like stock, within a bounded time
        # (greet wait 2 s + the resolver's give-up), not hung.
        self.assertEqual(ours.transcript, [f"220-{BANNER} | 220 {BANNER}", "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(stock.lines[0], CONNECT)
        self.assertEqual(stock.lines[-1], "PASS NEW [CLIENT]:PORT")
        self.assertLess(time.monotonic() - started, 25)
        for instance in self.pair.both():
            self.assertTrue(instance.pf.running(), instance.pf.describe())

        self.dns.start()
        self.rejected(self.listed[2])


WRAPPER = '''#!/usr/bin/python3
# Runs postscreen with a low descriptor limit (soft = hard).
import os, resource, sys
resource.setrlimit(resource.RLIMIT_NOFILE, ({limit}, {limit}))
os.execv({binary!r}, sys.argv)
'''

LIMIT = 256
HEADROOM = 32  # descriptors ours keeps free: max(32, LIMIT / 64)
EXTRA = 40  # clients beyond the limit
PARAMS = {
    "postscreen_greet_wait": "60s",        # nobody is decided by the clock during the test
    "postscreen_greet_action": "drop",     # a pregreet is answered at once
    "postscreen_pre_queue_limit": "1000",  # the descriptor limit comes first
    "postscreen_cache_map": "",
}


def limited_postscreen(kind, services=(), **params):
    """A private instance whose postscreen (`kind`: ours or stock) runs with
    LIMIT descriptors; `services=None` keeps StockPostfix's usual services
    (what smtpd needs to talk to a client)."""
    pf = StockPostfix(services=None if services is None else list(services))
    address, port = pf.add_postscreen(dnsblog=False, tlsproxy=False)
    pf.set(**dict(PARAMS, **params))
    binary = env.our_binary("postscreen") if kind == "ours" else os.path.join(env.STOCK_DAEMON_DIR, "postscreen")
    wrapper = os.path.join(pf.dir, "postscreen-limited")
    with open(wrapper, "w") as f:
        f.write(WRAPPER.format(limit=LIMIT, binary=binary))
    os.chmod(wrapper, 0o755)
    pf.use_daemon("postscreen", wrapper)
    return pf, address, port


def postscreen_pid(pf, since):
    line = pf.log.wait_for(r"^CONNECT from ", "postscreen", since=since, timeout=30)
    return line.pid


def settled_connects(pf, since, quiet=1.0, timeout=60.0):
    """Waits until postscreen logged no new CONNECT for `quiet` s; returns the count."""
    state = {"count": -1, "at": time.monotonic()}

    def settled():
        count = len(pf.log.lines("postscreen", r"^CONNECT from ", since=since))
        if count != state["count"]:
            state.update(count=count, at=time.monotonic())
        return time.monotonic() - state["at"] >= quiet

    procs.wait_until(settled, timeout, message="postscreen kept taking clients")
    return state["count"]


def teaser_or_nothing(clients):
    """Per client: (bytes that came, closed?)."""
    return [(c.read_available(0.005), c.is_closed(0.005)) for c in clients]


def pregreet_dropped(test, client):
    client.send(b"EHLO pregreet.example\r\n")
    reply = client.read_reply(timeout=30)
    test.assertEqual(reply.lines, ["521 5.5.1 Protocol error"])
    test.assertIn(client.wait_closed(30), ("eof", "reset"))


class DescriptorLimit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()

    def open_clients(self, address, port, count, source=None):
        clients = []
        for _ in range(count):
            c = SmtpClient(address, port, source=source, timeout=30)
            c.connect()
            self.addCleanup(c.close)
            clients.append(c)
        return clients

    def fill(self, pf, address, port):
        """Connects LIMIT + EXTRA clients; returns (served, refused, pid,
        mark): those given the teaser and held, those refused and closed,
        postscreen's pid and the log mark taken before the first one."""
        mark = pf.log.mark()
        clients = self.open_clients(address, port, LIMIT + EXTRA)
        pid = postscreen_pid(pf, mark)
        pf.log.wait_for(rf"^warning: open file limit {LIMIT} nearly reached: refusing new clients while fewer "
                        rf"than {HEADROOM} descriptors are free$", "postscreen", since=mark, timeout=30)
        connects = settled_connects(pf, mark)
        self.assertEqual(connects, len(clients))  # each one logged, the refused ones too
        got = teaser_or_nothing(clients)
        teaser = f"220-{pf.main['myhostname']} ESMTP Postfix\r\n".encode()
        served = [c for c, g in zip(clients, got) if g == (teaser, False)]
        refused = [c for c, g in zip(clients, got) if g == (b"421 4.3.2 All screening ports are busy\r\n", True)]
        self.assertEqual(len(served) + len(refused), len(clients), set(got))
        # Every descriptor but the headroom and a few of its own serves a
        # client; the rest are refused, each with stock's pre-queue line.
        self.assertGreater(len(served), LIMIT - HEADROOM - 30, set(got))
        self.assertGreaterEqual(len(refused), EXTRA)
        rejects = pf.log.lines("postscreen", r"^reject: connect from \[[\d.]+\]:\d+: all screening ports busy$",
                               since=mark)
        self.assertEqual(len(rejects), len(refused))
        pf.log.assert_absent(r"^error: accept connection", "postscreen", since=mark)
        return served, refused, pid, mark

    def test_ours_refuses_at_the_limit_and_keeps_serving(self):
        pf, address, port = limited_postscreen("ours")
        self.enterContext(pf)
        served, refused, pid, mark = self.fill(pf, address, port)
        teaser = f"220-{pf.main['myhostname']} ESMTP Postfix\r\n".encode()
        # A connected client is unaffected: its session goes on.
        pregreet_dropped(self, served[0])
        # Clients leave; new ones are served, by the same process.
        for c in served[1:]:
            c.close()
        fresh = self.open_clients(address, port, 1)[0]
        self.assertEqual(fresh.read_line(30)[0], teaser)
        pregreet_dropped(self, fresh)
        self.assertTrue(alive(pid))
        self.assertEqual({line.pid for line in pf.log.lines("postscreen", since=mark)}, {pid})
        pf.log.assert_absent(r"^(fatal|panic):", "postscreen", since=mark)
        self.assertEqual(pf.log.lines("master", r"^warning: ", since=mark), [])

    def test_ours_hands_off_with_every_client_slot_taken(self):
        # Every client slot is taken; one client leaves and an allowlisted
        # one takes its slot: its hand-off to smtpd needs a descriptor more,
        # which the headroom has.
        friend = client_address()
        pf, address, port = limited_postscreen("ours", services=None)
        pf.set(postscreen_access_list=pf.write_map("friends", f"{friend}/32 permit\n", type="cidr"))
        self.enterContext(pf)
        served, refused, pid, mark = self.fill(pf, address, port)
        served[0].close()
        pf.log.wait_for(r"^HANGUP after ", "postscreen", since=mark, timeout=30)
        ours = self.open_clients(address, port, 1, source=friend)[0]
        banner = f"{pf.main['myhostname']} ESMTP Postfix"
        try:
            reply = ours.read_reply(timeout=30).lines
        except SmtpTimeout:
            log = [line.raw for line in pf.log.lines(since=mark)
                   if not re.search(r"CONNECT from|reject: connect from", line.raw)]
            self.fail("no reply for the allowlisted client; log:\n" + "\n".join(log[-30:]))
        self.assertEqual(reply, [f"220 {banner}"])
        self.assertEqual(ours.command("EHLO client.example").lines[0], f"250-{pf.main['myhostname']}")
        self.assertEqual(ours.command("QUIT").lines[0][:3], "221")
        pf.log.wait_for(rf"^ALLOWLISTED \[{re.escape(friend)}\]:\d+$", "postscreen", since=mark)
        pf.log.assert_absent(r"^warning: cannot connect to service", "postscreen", since=mark)
        # The clients held meanwhile are still there.
        pregreet_dropped(self, served[1])
        self.assertTrue(alive(pid))
        pf.log.assert_absent(r"^(fatal|panic):", "postscreen", since=mark)

    def test_stock_reference_dies_at_the_limit(self):
        pf, address, port = limited_postscreen("stock")
        self.enterContext(pf)
        mark = pf.log.mark()
        clients = self.open_clients(address, port, LIMIT + EXTRA)
        pid = postscreen_pid(pf, mark)
        pf.log.wait_for(r"^fatal: fcntl F_DUPFD: Too many open files$", "postscreen", since=mark, timeout=30)
        pf.log.wait_for(rf"^warning: process \S+/postscreen pid {pid} exit status 1$", "master",
                        since=mark, timeout=30)
        # The clients it held are gone with it.
        self.assertTrue(clients[0].is_closed(30))
        procs.wait_until(lambda: not alive(pid), 30, message="stock postscreen still alive")


if __name__ == "__main__":
    unittest.main()
