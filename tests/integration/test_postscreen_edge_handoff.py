"""postscreen's hand-off to the REAL stock smtpd, ours beside stock 3.7.11.

Two private stock instances with the same main.cf and master.cf (stock
smtpd is the `smtpd pass` service behind postscreen); one runs stock
postscreen, the other ours. A client that passes (permanently allowlisted,
or new and quiet through the greet wait) ends up talking to stock smtpd:
smtpd's banner and EHLO reply, smtpd's `connect from unknown[ADDR]:PORT`
with the client's real address and port (smtpd_client_port_logging), and
the message it sent is in the instance's hold queue.

A second listener names a pass service whose socket does not exist
(`-o smtpd_service_name=...`): an allowlisted client gets stock's
`421 4.3.2 All server ports are busy`, a new client after the teaser gets
the X21 engine (`421 4.3.2 No system resources` to its first command), and
the warning and postscreen log lines are stock's. A third listener hands off to
a pass service with one smtpd process: a second client waits until the
first is done, then gets smtpd.
"""

import re
import unittest

from postscreen_engine_common import HOSTNAME, Pair, session, session_lines
from psmtest import SmtpClient, client_address, normalize, require_root, swaks, wait_until

BANNER = f"{HOSTNAME} ESMTP Postfix"
ALLOWED = [client_address() for _ in range(6)]  # permanently allowlisted clients
MISSING = "psm-no-such-smtpd"


def _access_list(pf):
    return "permit_mynetworks, " + pf.write_map(
        "ps_access", "".join(f"{a}/32 permit\n" for a in ALLOWED), type="cidr")


PARAMS = {
    "postscreen_greet_wait": "2s",
    "postscreen_access_list": _access_list,
    "smtpd_peername_lookup": "no",        # no DNS: smtpd logs unknown[ADDR]
    "smtpd_client_port_logging": "yes",   # ... and the client's port
}
# Each postscreen needs its own cache file (it holds an exclusive lock).
SERVICES = {"main": {}, "nopass": {"smtpd_service_name": MISSING,
                                   "postscreen_cache_map": "btree:$data_directory/nopass_cache"},
            "single": {"smtpd_service_name": "smtpd1",
                       "postscreen_cache_map": "btree:$data_directory/single_cache"}}


class Handoff(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        pair = Pair(PARAMS, SERVICES)
        for inst in pair.both():
            # A pass service with one smtpd process: a second hand-off waits.
            inst.pf.add_service("smtpd1", "pass", "smtpd", maxproc="1")
        cls.pair = cls.enterClassContext(pair)

    def setUp(self):
        self.marks = {inst: inst.log.mark() for inst in self.pair.both()}

    def tearDown(self):
        for inst in self.pair.both():
            bad = [line.raw for line in inst.pf.problems(self.marks[inst])
                   if line.severity in ("fatal", "panic")
                   or re.search(r"exit status|killed by signal", line.text)]
            self.assertEqual(bad, [], f"problems in the {'ours' if inst.ours else 'stock'} instance")

    def smtpd_lines(self, inst, client, since):
        """smtpd's lines about this client, normalised."""
        tag = f"[{client.source}]:{client.source_port}"
        return [normalize(line.text, addresses={client.source: "CLIENT"})
                for line in inst.log.lines("smtpd", since=since)
                if tag in line.text]

    def allowlisted_transaction(self, inst, source):
        mark = inst.log.mark()
        address, port = inst.endpoints["main"]
        with SmtpClient(address, port, source=source) as c:
            t = c.transaction()
            self.assertTrue(t.accepted, str(t))
            greeting, ehlo = t.greeting, t.reply("EHLO")
            held = inst.pf.wait_queued(t.queue_id)
            self.assertEqual(held[0]["queue_name"], "hold")
            self.assertEqual(held[0]["recipients"][0]["address"], "rcpt@dest.psm.test")
            self.assertIn(t.queue_id, inst.pf.postqueue_p())
            client = rf"\[{re.escape(c.source)}\]:{c.source_port}"
            inst.log.wait_for(rf"^ALLOWLISTED {client}$", "postscreen", since=mark)
            # smtpd got the real client endpoint, port included.
            inst.log.wait_for(rf"^connect from unknown{client}$", "smtpd", since=mark)
            inst.log.wait_for(rf"^{t.queue_id}: client=unknown{client}$", "smtpd", since=mark)
            inst.log.wait_for(rf"^disconnect from unknown{client} ", "smtpd", since=mark, timeout=10)
            return greeting, ehlo, self.smtpd_lines(inst, c, mark), session_lines(inst, mark, c, address)

    def test_allowlisted_client_talks_to_stock_smtpd(self):
        results = {}
        for inst, source in zip(self.pair.both(), ALLOWED[:2]):
            results[inst.ours] = self.allowlisted_transaction(inst, source)
        (s_greet, s_ehlo, s_smtpd, s_ps), (o_greet, o_ehlo, o_smtpd, o_ps) = results[False], results[True]
        # No teaser: smtpd's own banner is the whole greeting.
        self.assertEqual(o_greet.lines, [f"220 {BANNER}"])
        self.assertEqual(o_greet.lines, s_greet.lines)
        self.assertEqual(o_ehlo.lines, s_ehlo.lines)
        self.assertEqual(o_ehlo.lines[0], f"250-{HOSTNAME}")
        self.assertEqual(o_smtpd, s_smtpd, "stock smtpd logged differently behind ours")
        self.assertIn("connect from unknown[CLIENT]:PORT", o_smtpd)
        self.assertEqual(o_ps, s_ps, "postscreen log lines differ")
        self.assertEqual(o_ps, ["CONNECT from [CLIENT]:PORT to [SERVER]:PORT", "ALLOWLISTED [CLIENT]:PORT"])

    def test_new_client_passes_greet_wait_and_sends_with_swaks(self):
        seen = {}
        for inst in self.pair.both():
            mark = inst.log.mark()
            address, port = inst.endpoints["main"]
            source = client_address()
            r = swaks(address, port, source=source, timeout=20)
            self.assertTrue(r.accepted, r.output)
            self.assertEqual(r.server_lines[:2], [f"220-{BANNER}", f"220 {BANNER}"], r.output)
            self.assertIsNotNone(r.queue_id, r.output)
            inst.pf.wait_queued(r.queue_id)
            connect = inst.log.wait_for(rf"^CONNECT from \[{re.escape(source)}\]:(\d+) to ", "postscreen",
                                        since=mark)
            client = rf"\[{re.escape(source)}\]:{connect.match.group(1)}"
            inst.log.wait_for(rf"^PASS NEW {client}$", "postscreen", since=mark)
            smtpd_connect = inst.log.wait_for(rf"^connect from unknown{client}$", "smtpd", since=mark)
            inst.log.wait_for(rf"^{r.queue_id}: client=unknown{client}$", "smtpd", since=mark)
            # The cache learned the client (its next visit is PASS OLD).
            wait_until(lambda: source in inst.pf.cache_entries(), 10, interval=0.3,
                       message=f"{source} in the {'ours' if inst.ours else 'stock'} cache")
            seen[inst.ours] = (connect.offset < smtpd_connect.offset,
                               normalize(smtpd_connect.text, addresses={source: "CLIENT"}))
        self.assertEqual(seen[True], seen[False])
        self.assertEqual(seen[True], (True, "connect from unknown[CLIENT]:PORT"))

    def test_handoff_waits_while_smtpd_is_busy(self):
        results = {}
        first, second = ALLOWED[4:6]  # the same addresses in both instances
        for inst in self.pair.both():
            mark = inst.log.mark()
            address, port = inst.endpoints["single"]
            with SmtpClient(address, port, source=first, timeout=15) as a, \
                    SmtpClient(address, port, source=second, timeout=15) as b:
                self.assertEqual(a.read_reply().lines, [f"220 {BANNER}"])
                inst.log.wait_for(rf"^ALLOWLISTED \[{re.escape(second)}\]:{b.source_port}$", "postscreen", since=mark)
                # The only smtpd is busy with the first client.
                self.assertEqual(b.read_available(1.0), b"")
                self.assertEqual(a.command("QUIT").last, "221 2.0.0 Bye")
                # Then smtpd takes the waiting hand-off.
                self.assertEqual(b.read_reply().lines, [f"220 {BANNER}"])
                self.assertEqual(b.command("QUIT").last, "221 2.0.0 Bye")
                inst.log.wait_for(rf"^connect from unknown\[{re.escape(second)}\]:{b.source_port}$", "smtpd",
                                  since=mark)
            results[inst.ours] = session_lines(inst, mark, b, address)
        self.assertEqual(results[True], results[False], "postscreen log lines differ")

    def test_missing_pass_socket_allowlisted_client(self):
        results = {}
        for inst, source in zip(self.pair.both(), ALLOWED[2:4]):
            mark = inst.log.mark()
            address, port = inst.endpoints["nopass"]
            with SmtpClient(address, port, source=source) as c:
                reply = c.read_reply()
                how = c.wait_closed()
            inst.log.wait_for(rf"^warning: cannot connect to service private/{MISSING}: No such file or directory$",
                              "postscreen", since=mark)
            # No DISCONNECT line in this case: wait a moment to be sure.
            inst.log.assert_absent(r"^DISCONNECT ", "postscreen", since=mark, wait=0.5)
            results[inst.ours] = (reply.lines, how, session_lines(inst, mark, c, address))
        self.assertEqual(results[False][0], ["421 4.3.2 All server ports are busy"])
        self.assertEqual(results[True][:2], results[False][:2])
        self.assertEqual(results[True][2], results[False][2], "postscreen log lines differ")
        self.assertEqual(results[True][2], [
            "CONNECT from [CLIENT]:PORT to [SERVER]:PORT", "ALLOWLISTED [CLIENT]:PORT",
            f"warning: cannot connect to service private/{MISSING}: No such file or directory"])

    def test_missing_pass_socket_after_teaser_is_x21(self):
        script = [("reply",), ("cmd", "EHLO client.psm.test"), ("closed",)]
        stock = session(self.pair.stock, "nopass", script, timeout=15)
        ours = session(self.pair.ours, "nopass", script, timeout=15)
        self.assertEqual(ours[0], stock[0], "replies differ")
        self.assertEqual(ours[1], stock[1], "postscreen log lines differ")
        self.assertEqual(stock[0], [f"220-{BANNER} | 220 {BANNER}", "421 4.3.2 No system resources", "<closed>"])
        self.assertEqual(stock[1], [
            "CONNECT from [CLIENT]:PORT to [SERVER]:PORT", "PASS NEW [CLIENT]:PORT",
            f"warning: cannot connect to service private/{MISSING}: No such file or directory",
            "PASS OLD [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])

    def test_x21_quit_gets_bye(self):
        script = [("reply",), ("cmd", "QUIT"), ("closed",)]
        stock = session(self.pair.stock, "nopass", script, timeout=15)
        ours = session(self.pair.ours, "nopass", script, timeout=15)
        self.assertEqual(ours[0], stock[0], "replies differ")
        self.assertEqual(ours[1], stock[1], "postscreen log lines differ")
        self.assertEqual(stock[0][1:], ["221 2.0.0 Bye", "<closed>"])


if __name__ == "__main__":
    unittest.main()
