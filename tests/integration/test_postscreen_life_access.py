"""postscreen life cycle, permanent access list (postscreen_access_list):
our postscreen + our dnsblog against stock 3.7 side by side
(postscreen_life_common). permit_mynetworks and a cidr: table permit a
client at once (ALLOWLISTED, straight to smtpd, no teaser); a cidr reject
is DENYLISTED and handled per postscreen_denylist_action: ignore (the
normal tests run: PASS NEW), enforce (550 5.3.2 at RCPT, also when the
client is on the DNSBL: the last enforce reply wins), drop (521 5.3.2);
dunno continues with the normal tests. Replies and normalised postscreen
log lines must equal stock's.
"""

import unittest

from postscreen_life_common import BANNER, LifeCase, LifePair
from psmtest import DnsServer, Zone, client_address, require_root

CONNECT = "CONNECT from [CLIENT]:PORT to [SERVER]:PORT"
TEASER = f"220-{BANNER}"


class AccessList(LifeCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        c = cls.clients = {name: client_address() for name in (
            "mynet", "permit", "dunno", "reject", "reject_ignore", "reject_listed")}
        bl = Zone("bl.psm.test")
        bl.list_address("127.0.0.2", "127.0.0.2")
        bl.list_address(c["reject_listed"], "127.0.0.2")
        cls.dns = cls.enterClassContext(DnsServer([bl]))
        cidr = (f"{c['permit']}/32 permit\n{c['dunno']}/32 dunno\n"
                f"{c['reject']}/32 reject\n{c['reject_ignore']}/32 REJECT\n{c['reject_listed']}/32 reject\n")

        def access_list(pf):
            return "permit_mynetworks," + pf.write_map("access.cidr", cidr, type="cidr")

        params = {"mynetworks": f"127.0.0.1/32 {c['mynet']}/32", "postscreen_access_list": access_list,
                  "postscreen_dnsbl_sites": "bl.psm.test", "postscreen_dnsbl_action": "enforce"}
        services = {action: {"postscreen_denylist_action": action, "postscreen_cache_map": ""} for action in ("ignore", "enforce", "drop")}
        cls.pair = cls.enterClassContext(LifePair(cls.dns, params, services))

    def test_permit_mynetworks_and_cidr_permit(self):
        for name in ("mynet", "permit"):
            with self.subTest(client=name):
                stock, ours = self.compare("drop", [("reply",), ("cmd", "QUIT"), ("closed",)], self.clients[name],
                                           end="ALLOWLISTED", settle=0.3)
                self.assertEqual(ours.transcript, [f"220 {BANNER}", "221 2.0.0 Bye", "<closed>"])
                self.assertEqual(ours.lines, [CONNECT, "ALLOWLISTED [CLIENT]:PORT"])

    def test_dunno_continues(self):
        stock, ours = self.compare("drop", [("reply",), ("cmd", "QUIT"), ("closed",)], self.clients["dunno"],
                                   end="PASS NEW", settle=0.3)
        self.assertEqual(ours.transcript[0], f"{TEASER} | 220 {BANNER}")
        self.assertEqual(ours.lines, [CONNECT, "PASS NEW [CLIENT]:PORT"])

    def test_reject_ignore(self):
        stock, ours = self.compare("ignore", [("reply",), ("cmd", "QUIT"), ("closed",)], self.clients["reject_ignore"],
                                   end="PASS NEW", settle=0.3)
        self.assertEqual(ours.transcript[0], f"{TEASER} | 220 {BANNER}")
        self.assertEqual(ours.lines, [CONNECT, "DENYLISTED [CLIENT]:PORT", "PASS NEW [CLIENT]:PORT"])

    def test_reject_enforce(self):
        script = [("reply",), ("cmd", "HELO denied.example"), ("cmd", "MAIL FROM:<s@x.example>"),
                  ("cmd", "RCPT TO:<r@y.example>"), ("cmd", "QUIT"), ("closed",)]
        stock, ours = self.compare("enforce", script, self.clients["reject"])
        reply = "550 5.3.2 Service currently unavailable"
        self.assertEqual(ours.transcript[0], f"{TEASER} | 220 {BANNER}")
        self.assertEqual(ours.transcript[3:], [reply, "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(ours.lines, [
            CONNECT, "DENYLISTED [CLIENT]:PORT",
            f"NOQUEUE: reject: RCPT from [CLIENT]:PORT: {reply}; from=<s@x.example>, to=<r@y.example>, "
            "proto=SMTP, helo=<denied.example>",
            "DISCONNECT [CLIENT]:PORT"])

    def test_reject_enforce_then_dnsbl_enforce_last_reply_wins(self):
        script = [("reply",), ("cmd", "EHLO denied.example"), ("cmd", "MAIL FROM:<s@x.example>"),
                  ("cmd", "RCPT TO:<r@y.example>"), ("cmd", "QUIT"), ("closed",)]
        stock, ours = self.compare("enforce", script, self.clients["reject_listed"])
        reply = "550 5.7.1 Service unavailable; client [CLIENT] blocked using bl.psm.test"
        self.assertEqual(ours.transcript[3], reply)
        self.assertEqual(ours.lines[:3], [CONNECT, "DENYLISTED [CLIENT]:PORT", "DNSBL rank 1 for [CLIENT]:PORT"])

    def test_reject_drop(self):
        stock, ours = self.compare("drop", [("reply",), ("closed",)], self.clients["reject"])
        self.assertEqual(ours.transcript, ["521 5.3.2 Service currently unavailable", "<closed>"])
        self.assertEqual(ours.lines, [CONNECT, "DENYLISTED [CLIENT]:PORT", "DISCONNECT [CLIENT]:PORT"])


if __name__ == "__main__":
    unittest.main()
