"""psconf against stock postconf 3.7: default texts byte for byte, and -n output on sample configurations."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

POSTCONF = shutil.which("postconf") or "/usr/sbin/postconf"
BIN_DIR = os.environ.get("PSM_BIN_DIR", "")
PSCONF = os.path.join(BIN_DIR, "psconf")


def run(argv, executable=None):
    """Runs a command with a bounded time; returns (stdout, stderr, status)."""
    proc = subprocess.run(argv, executable=executable, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, LANG="C"))
    return proc.stdout, proc.stderr, proc.returncode


def stock(*args):
    # argv[0] "postconf": stock names itself after it in messages.
    return run(["postconf", *args], executable=POSTCONF)


def ours(*args):
    out, err, status = run([PSCONF, *args])
    # Same messages, our program name.
    return out, err.replace("psconf: ", "postconf: "), status


def names_of(listing):
    return [line.split(" =", 1)[0] for line in listing.splitlines() if " =" in line]


@unittest.skipUnless(os.path.exists(POSTCONF), "stock postconf is not installed")
@unittest.skipUnless(os.access(PSCONF, os.X_OK), "psconf is not built (PSM_BIN_DIR)")
class DefaultsTest(unittest.TestCase):
    """psconf -d prints what postconf -d prints, for every parameter psconf knows."""

    @classmethod
    def setUpClass(cls):
        out, _, status = stock("-d")
        assert status == 0
        cls.stock_names = names_of(out)
        out, _, status = ours("-d")
        assert status == 0
        cls.our_names = names_of(out)

    def test_every_postscreen_and_dnsblog_parameter_is_known(self):
        wanted = [n for n in self.stock_names if n.startswith(("postscreen_", "dnsblog_"))]
        self.assertGreaterEqual(len(wanted), 49)
        missing = sorted(set(wanted) - set(self.our_names))
        self.assertEqual(missing, [], "parameters stock knows and psconf does not")

    def test_postscreen_and_dnsblog_defaults_byte_for_byte(self):
        wanted = [n for n in self.stock_names if n.startswith(("postscreen_", "dnsblog_"))]
        for name in wanted:
            with self.subTest(name=name):
                self.assertEqual(ours("-d", name), stock("-d", name))

    def test_all_registry_defaults_byte_for_byte(self):
        # Includes the host-dependent myhostname, mydomain and mynetworks,
        # computed on this machine by both programs.
        stock_known = set(self.stock_names)
        names = [n for n in self.our_names if n in stock_known]
        self.assertGreater(len(names), 150)
        for flags in ("-d", "-dh", "-dx", "-df"):
            with self.subTest(flags=flags):
                self.assertEqual(ours(flags, *names), stock(flags, *names))

    def test_full_listing_is_sorted_and_matches(self):
        out, err, status = ours("-d")
        self.assertEqual(status, 0)
        self.assertEqual(err, "")
        self.assertEqual(self.our_names, sorted(self.our_names))
        stock_lines = set(stock("-d")[0].splitlines())
        stock_known = set(self.stock_names)
        for line in out.splitlines():
            if names_of(line)[0] in stock_known:
                self.assertIn(line, stock_lines)

    def test_unknown_name_warning(self):
        self.assertEqual(ours("-d", "no_such_parameter", "mail_name"),
                         stock("-d", "no_such_parameter", "mail_name"))


SAMPLE_MAIN_CF = """\
# A sample with the syntax corners main.cf allows.
myhostname = mail.example.org
compatibility_level = 3.6
postscreen_greet_wait = 3s
postscreen_dnsbl_sites = zen.spamhaus.org*2
    bl.spamcop.net*1   b.barracudacentral.org*1
  # a comment between continuation lines

    list.dnswl.org=127.0.[0..255].[0..3]*-2
postscreen_greet_banner = $myhostname   ESMTP  $banner_suffix
banner_suffix = ready
postscreen_blacklist_action = drop
postscreen_dnsbl_ttl = 30m
unused_setting = whatever
indirect = $unused_setting
mynetworks_style = host
myhostname = mail2.example.org
postscreen_access_list=permit_mynetworks,
\tcidr:/etc/postfix/postscreen_access.cidr
empty_value =
"""

SAMPLE_MASTER_CF = """\
smtp      inet  n       -       n       -       1       postscreen
  -o { smtpd_banner = $from_master_cf ESMTP }
smtpd     pass  -       -       n       -       -       smtpd
"""


@unittest.skipUnless(os.path.exists(POSTCONF), "stock postconf is not installed")
@unittest.skipUnless(os.access(PSCONF, os.X_OK), "psconf is not built (PSM_BIN_DIR)")
class NonDefaultTest(unittest.TestCase):
    """psconf -c DIR -n against postconf -c DIR -n on sample configurations."""

    def make_dir(self, main_cf, master_cf=None):
        path = tempfile.mkdtemp(prefix="psm-psconf-")
        self.addCleanup(shutil.rmtree, path, True)
        with open(os.path.join(path, "main.cf"), "w") as f:
            f.write(main_cf)
        if master_cf is not None:
            with open(os.path.join(path, "master.cf"), "w") as f:
                f.write(master_cf)
        # Both programs re-read a file younger than a second after 2 s.
        old = time.time() - 60
        for name in ("main.cf", "master.cf"):
            if os.path.exists(os.path.join(path, name)):
                os.utime(os.path.join(path, name), (old, old))
        return path

    def assert_same(self, *args):
        out, err, status = ours(*args)
        s_out, s_err, s_status = stock(*args)
        self.assertEqual(out, s_out)
        self.assertEqual(status, s_status)
        # postconf flags the same problems; its order of unused-parameter
        # warnings follows a hash table, ours the file.
        self.assertEqual(sorted(set(err.splitlines())), sorted(set(s_err.splitlines())))
        return out, err

    def test_sample_non_default(self):
        d = self.make_dir(SAMPLE_MAIN_CF, SAMPLE_MASTER_CF)
        out, err = self.assert_same("-c", d, "-n")
        self.assertIn("postscreen_dnsbl_sites = zen.spamhaus.org*2 bl.spamcop.net*1 "
                      "b.barracudacentral.org*1 list.dnswl.org=127.0.[0..255].[0..3]*-2\n", out)
        self.assertIn("myhostname = mail2.example.org\n", out)
        self.assertIn("config_directory = %s\n" % d, out)
        self.assertIn("main.cf: unused parameter: indirect=$unused_setting", err)
        self.assertIn("overriding earlier entry: myhostname=mail.example.org", err)

    def test_sample_variants(self):
        d = self.make_dir(SAMPLE_MAIN_CF, SAMPLE_MASTER_CF)
        for args in (["-nh"], ["-nx"], ["-nf"], ["-n", "myhostname", "no_such_parameter", "mydomain",
                                                 "banner_suffix"],
                     ["-x", "postscreen_denylist_action", "postscreen_dnsbl_max_ttl", "mydomain",
                      "mynetworks", "postscreen_greet_banner", "respectful_logging", "smtputf8_enable"],
                     ["postscreen_blacklist_action", "postscreen_dnsbl_ttl"]):
            with self.subTest(args=args):
                self.assert_same("-c", d, *args)

    def test_without_master_cf(self):
        d = self.make_dir("myhostname = host.example\nfoo = $bar\n")
        out, err = self.assert_same("-c", d, "-n")
        self.assertIn("open %s/master.cf: No such file or directory" % d, err)
        self.assertIn("undefined parameter: bar", err)

    def test_command_line_override(self):
        d = self.make_dir("myhostname = host.example\n", "")
        self.assert_same("-c", d, "-o", "myhostname=other.example", "-x", "myhostname", "mydomain")

    def test_syntax_error(self):
        d = self.make_dir("foo = bar\nbadline\n  cont\n", "")
        out, err, status = ours("-c", d, "-n")
        s_out, s_err, s_status = stock("-c", d, "-n")
        self.assertEqual((out, status), (s_out, s_status))
        self.assertEqual(err, s_err)

    def test_missing_main_cf(self):
        d = self.make_dir("")
        os.unlink(os.path.join(d, "main.cf"))
        self.assertEqual(ours("-c", d, "-n"), stock("-c", d, "-n"))


if __name__ == "__main__":
    unittest.main()
