"""postscreen life cycle, allowlist/denylist corners: the allowlist
interface veto (ALLOWLIST VETO, 450 at RCPT, never cached), the legacy
wording with compatibility_level < 3.6 (WHITELISTED / BLACKLISTED and the
backwards-compatibility notice), access-list errors (unknown word, a table
in a table's result), and a denylisted client with action ignore that
passes, then comes back as PASS OLD. Our postscreen + our dnsblog against
stock 3.7 side by side (postscreen_life_common): replies and normalised
postscreen log lines (warnings included) must equal stock's.
"""

import unittest

from postscreen_life_common import BANNER, LifeCase, LifePair
from psmtest import DnsServer, Zone, client_address, require_root

CONNECT = "CONNECT from [CLIENT]:PORT to [SERVER]:PORT"
RCPT_SCRIPT = [("reply",), ("cmd", "EHLO c.example"), ("cmd", "MAIL FROM:<s@x.example>"),
               ("cmd", "RCPT TO:<r@y.example>"), ("cmd", "QUIT"), ("closed",)]
QUIT_SCRIPT = [("reply",), ("cmd", "QUIT"), ("closed",)]


class Lists(LifeCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        c = cls.clients = {name: client_address() for name in (
            "permit", "reject", "nested", "reject_cached")}
        cls.dns = cls.enterClassContext(DnsServer([Zone("unused.psm.test")]))
        cidr = (f"{c['permit']}/32 permit\n{c['reject']}/32 reject\n{c['reject_cached']}/32 reject\n"
                f"{c['nested']}/32 cidr:/nonexistent/table\n")

        def table(pf):
            return pf.write_map("access.cidr", cidr, type="cidr")

        def acl(prefix):
            return lambda pf: prefix + table(pf)

        nocache = {"postscreen_cache_map": ""}
        services = {
            "veto": dict(nocache, postscreen_allowlist_interfaces="127.0.0.1"),
            "compat": dict(nocache, compatibility_level="3.5", postscreen_access_list=acl("")),
            "compat_set": dict(nocache, compatibility_level="3.5", respectful_logging="no",
                               postscreen_access_list=acl("")),
            # Pre-3.6 parameter names still work.
            "legacy_names": dict(nocache, postscreen_blacklist_action="drop",
                                 postscreen_whitelist_interfaces="127.0.0.1", postscreen_access_list=acl("")),
            "badword": dict(nocache, postscreen_access_list=acl("bogus_word,")),
            "acl": dict(nocache, postscreen_access_list=acl("")),
            "cached": {"postscreen_access_list": acl("")},
        }
        cls.pair = cls.enterClassContext(LifePair(cls.dns, {}, services))

    def test_allowlist_interface_veto(self):
        stock, ours = self.compare("veto", RCPT_SCRIPT, client_address())
        self.assertEqual(ours.transcript[0], f"220-{BANNER} | 220 {BANNER}")
        self.assertEqual(ours.transcript[3], "450 4.3.2 Service currently unavailable")
        self.assertEqual(ours.lines[:2], [CONNECT, "ALLOWLIST VETO [CLIENT]:PORT"])
        self.assertEqual(ours.lines[-1], "DISCONNECT [CLIENT]:PORT")
        self.assertNotIn("PASS NEW [CLIENT]:PORT", ours.lines)

    def test_legacy_wording_below_compatibility_level_3_6(self):
        # The notice comes once per process: with the first such line only.
        stock, ours = self.compare("compat", QUIT_SCRIPT, self.clients["permit"], end="WHITELISTED", settle=0.3)
        self.assertEqual(ours.transcript, [f"220 {BANNER}", "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(ours.lines[:2], [CONNECT, "WHITELISTED [CLIENT]:PORT"])
        stock, ours = self.compare("compat", QUIT_SCRIPT, self.clients["reject"], end="PASS NEW", settle=0.3)
        self.assertEqual(ours.lines, [CONNECT, "BLACKLISTED [CLIENT]:PORT", "PASS NEW [CLIENT]:PORT"])

    def test_legacy_wording_chosen_explicitly(self):
        stock, ours = self.compare("compat_set", QUIT_SCRIPT, self.clients["reject"], end="PASS NEW", settle=0.3)
        self.assertEqual(ours.lines, [CONNECT, "BLACKLISTED [CLIENT]:PORT", "PASS NEW [CLIENT]:PORT"])

    def test_legacy_parameter_names(self):
        stock, ours = self.compare("legacy_names", [("reply",), ("closed",)], self.clients["reject"])
        self.assertEqual(ours.transcript, ["521 5.3.2 Service currently unavailable", "<closed>"])
        stock, ours = self.compare("legacy_names", RCPT_SCRIPT, client_address())
        self.assertEqual(ours.lines[:2], [CONNECT, "ALLOWLIST VETO [CLIENT]:PORT"])
        self.assertEqual(ours.transcript[3], "450 4.3.2 Service currently unavailable")

    def test_unknown_access_list_word(self):
        stock, ours = self.compare("badword", QUIT_SCRIPT, self.clients["permit"], end="PASS NEW", settle=0.3)
        self.assertIn("warning: postscreen_access_list: unknown command: bogus_word -- ignoring the remainder of "
                      "this access list", ours.lines)

    def test_table_in_a_table_result(self):
        stock, ours = self.compare("acl", QUIT_SCRIPT, self.clients["nested"], end="PASS NEW", settle=0.3)
        self.assertTrue(any(line.startswith("warning: table cidr:") for line in ours.lines), ours.lines)

    def test_denylist_ignore_then_pass_old(self):
        a = self.clients["reject_cached"]
        stock, ours = self.compare("cached", QUIT_SCRIPT, a, end="PASS NEW", settle=0.3)
        self.assertEqual(ours.lines, [CONNECT, "DENYLISTED [CLIENT]:PORT", "PASS NEW [CLIENT]:PORT"])
        stock, ours = self.compare("cached", QUIT_SCRIPT, a, end="PASS OLD", settle=0.3)
        self.assertEqual(ours.transcript[0], f"220 {BANNER}")
        self.assertEqual(ours.lines, [CONNECT, "DENYLISTED [CLIENT]:PORT", "PASS OLD [CLIENT]:PORT"])


if __name__ == "__main__":
    unittest.main()
