"""cidr: tables, ours (psm-dictq) against stock `postmap -q`: answers and warnings.

A rich table (IPv4, IPv6, negation, nested if/endif, brackets, continuation
lines, comments and many bad rules) is queried with more than fifty keys,
including IPv6 forms and keys that are not addresses; every answer and every
warning line must be identical. Inline tables and fatal open errors too.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

POSTMAP = shutil.which("postmap") or "/usr/sbin/postmap"
BIN_DIR = os.environ.get("PSM_BIN_DIR", "")
DICTQ = os.path.join(BIN_DIR, "psm-dictq")
ENV = dict(os.environ, LANG="C", LC_ALL="C")
TIMEOUT = 20
# Stock postmap reads main.cf first; a machine with the postfix package but no
# configured instance has none in /etc/postfix, so give it an empty one.
STOCK_CONFIG = tempfile.TemporaryDirectory(prefix="psm-cidr-stock-")
with open(os.path.join(STOCK_CONFIG.name, "main.cf"), "w", encoding="ascii"):
    pass

TABLE = """\
# cidr compatibility table (compared with postmap -q)
192.0.2.1\texact-v4
192.0.2.0/25\tlow-half
[192.0.2.128]/25\thigh-half
[198.51.100.7]\tbracket-host
198.51.100.0/24\tmulti word   value
\tcontinued
  # an indented comment inside a logical line

    and more   \t
[2001:db8::]/48\tv6-doc
2001:DB8:1::1\tv6-exact-upper
[2001:db8:2::/64]\tv6-bracket-inside
::ffff:10.9.8.7\tv4-mapped-exact
192.168.1.1/24\tnon-null-host-bits
2001:db8:3::1/48\tv6-non-null
10.0.0.0/33\tbad-length
2001:db8::/129\tbad-length-v6
10.0.0.0/x\tbad-mask
10.0.0.0/\tempty-mask
10.0.0.x/8\tbad-net
01.2.3.4\tleading-zero
[10.1.1.1\tmissing-bracket
[10.1.1.1]junk\tgarbage
fe80::1%lo\tscoped
1.2.3.4/288\tmask-wraps-to-32
1.2.3.0/256\tmask-wraps-to-0
10.1.1.2
!
!  \t
endif
ENDIF trailing
if
if 5.5.5.5 junk
IFX 5.5.5.6 not-a-keyword
if 10.0.0.0/8
if !10.1.2.0/24
10.1.0.0/16\tten-one-not-two
endif
10.1.2.0/24\tten-one-two
10.0.0.0/8\tten
EndIf
10.1.1.1\tunreachable
if!172.16.0.0/12
172.32.0.1\toutside-172-16
endif
172.16.5.5\tinside-172-16
if 203.0.0.0/8
!203.0.113.0/24\tin-203-not-113
endif
if [2001:db8::]/32
!2001:db8:ff::/48\tv6-in-doc32-not-ff
endif
if 100.100.0.0/16
!!100.100.100.100\tdouble-negation
! 100.100.100.101\tnegation-with-space
endif
!2001:db8::/32\tv6-outside-doc
::/0\tany-v6
if 100.64.0.0/10
100.64.1.1\tcgn-host
endif junk
100.64.0.0/10\tcgn-after-bad-endif
0.0.0.0/0\tonly-inside-unterminated-if
"""

KEYS = [
    # IPv4
    "192.0.2.1", "192.0.2.2", "192.0.2.127", "192.0.2.128", "192.0.2.255",
    "198.51.100.7", "198.51.100.8", "198.51.99.1", "192.168.1.1", "192.168.1.0",
    "10.0.0.0", "10.0.0.1", "10.1.3.3", "10.1.2.3", "10.2.0.1", "10.1.1.1",
    "10.1.1.2", "1.2.3.4", "1.2.3.5", "172.32.0.1", "172.16.5.5", "172.15.0.1",
    "203.0.113.5", "203.0.112.5", "203.1.1.1", "100.64.1.1", "100.64.0.7",
    "100.100.100.100", "100.100.100.101", "100.100.1.1", "100.128.0.1", "8.8.8.8", "0.0.0.0",
    "255.255.255.255", "5.5.5.5",
    # IPv6
    "2001:db8::1", "2001:DB8::1", "2001:db8:0:0:0:0:0:1", "2001:db8:1::1",
    "2001:db8:1:0::1", "2001:db8:2::5", "2001:db8:2:1::5", "2001:db8:ff::1",
    "2001:db8:ff:1::1", "2001:db9::1", "::1", "::", "::ffff:10.9.8.7",
    "::FFFF:10.9.8.7", "::ffff:192.0.2.1", "fe80::1", "2001:db8:3::1",
    # not addresses
    "foo", "01.2.3.4", "1.2.3", "1.2.3.4.5", "192.0.2.1/32", "[192.0.2.1]",
    "192.0.2.1 ", " 192.0.2.1", "2001:db8::g", "1.2.3.4:25", "example.com",
    "::ffff:999.1.1.1", "fe80::1%lo", "-1.2.3.4",
]


def stock_query(table, key):
    """Returns (answer, warning lines) of postmap -q KEY TABLE."""
    proc = subprocess.run([POSTMAP, "-c", STOCK_CONFIG.name, "-q", key, table], capture_output=True, text=True,
                          env=ENV, timeout=TIMEOUT, check=False)
    answer = proc.stdout.rstrip("\n") if proc.returncode == 0 else "(not found)"
    return answer, strip_program(proc.stderr)


def strip_program(stderr):
    return [line[len("postmap: "):] if line.startswith("postmap: ") else line
            for line in stderr.splitlines()]


def our_query(table, keys):
    """Returns ({key: answer}, warning lines, exit status) of psm-dictq."""
    proc = subprocess.run([DICTQ, table, *keys], capture_output=True, text=True,
                          env=ENV, timeout=TIMEOUT, check=False)
    answers = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("\t")
        answers[key] = value
    return answers, proc.stderr.splitlines(), proc.returncode


@unittest.skipUnless(os.path.exists(POSTMAP), "stock postmap is not installed")
class CidrVersusPostmap(unittest.TestCase):
    def setUp(self):
        self.assertTrue(os.access(DICTQ, os.X_OK), f"missing {DICTQ} (set PSM_BIN_DIR)")
        self.tmp = tempfile.TemporaryDirectory(prefix="psm-cidr-")
        self.addCleanup(self.tmp.cleanup)

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_rich_table_answers_and_warnings(self):
        table = "cidr:" + self.write("rich.cidr", TABLE)
        ours, our_warnings, status = our_query(table, KEYS)
        self.assertEqual(status, 0)
        self.assertGreaterEqual(len(KEYS), 50)
        found = 0
        for key in KEYS:
            answer, warnings = stock_query(table, key)
            with self.subTest(key=key):
                self.assertEqual(ours.get(key), answer)
                self.assertEqual(our_warnings, warnings)
            found += answer != "(not found)"
        # The table must exercise both outcomes substantially.
        self.assertGreater(found, 25)
        self.assertGreater(len(KEYS) - found, 15)
        self.assertGreater(len(our_warnings), 15)

    def test_inline_tables(self):
        cases = [
            "cidr:{ {192.0.2.0/24 reject x}, {192.0.2.1/24 bad}, {if 192.0.2.5}, { 0.0.0.0/0  permit } }",
            "cidr:{{192.0.2.1 a}}",
            "cidr:{ { 192.0.2.1 a } , , {192.0.2.2 {b}} {} {#192.0.2.3 c}, {192.0.2.3 d}}",
            "cidr:{ {!192.0.2.1 not-one}, {endif}, {[2001:db8::]/32 v6} }",
            "cidr:{}",
        ]
        keys = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.5", "198.51.100.1", "2001:db8::1", "x"]
        for table in cases:
            ours, our_warnings, status = our_query(table, keys)
            with self.subTest(table=table):
                self.assertEqual(status, 0)
                for key in keys:
                    answer, warnings = stock_query(table, key)
                    self.assertEqual(ours.get(key), answer, key)
                    self.assertEqual(our_warnings, warnings)

    def test_fatal_open_errors(self):
        missing = os.path.join(self.tmp.name, "missing.cidr")
        cases = [
            "cidr:" + missing,
            "cidr:{ {192.0.2.1 a}",
            "cidr:{ {192.0.2.1 a }x }",
            "cidr:{ {192.0.2.1 a}}x",
            "cidr:{ 192.0.2.1 a }",
            "cidr: { {192.0.2.1 a} }",
        ]
        for table in cases:
            proc = subprocess.run([POSTMAP, "-c", STOCK_CONFIG.name, "-q", "192.0.2.1", table], capture_output=True,
                                  text=True, env=ENV, timeout=TIMEOUT, check=False)
            stock = strip_program(proc.stderr)
            ours, our_errors, status = our_query(table, ["192.0.2.1"])
            with self.subTest(table=table):
                self.assertNotEqual(proc.returncode, 0)
                self.assertEqual(status, 1)
                self.assertEqual(ours, {})
                self.assertEqual(len(stock), 1)
                self.assertTrue(stock[0].startswith("fatal: "), stock)
                self.assertEqual(our_errors, stock)

    def test_logical_line_that_starts_with_whitespace(self):
        text = "  192.0.2.1 first-line-indented-and-long-enough\n 192.0.2.2 joined\n192.0.2.3 ok\n"
        table = "cidr:" + self.write("indent.cidr", text)
        ours, our_warnings, _ = our_query(table, ["192.0.2.1", "192.0.2.3"])
        for key in ("192.0.2.1", "192.0.2.3"):
            answer, warnings = stock_query(table, key)
            self.assertEqual(ours.get(key), answer)
            self.assertEqual(our_warnings, warnings)
        self.assertEqual(len(our_warnings), 1)


if __name__ == "__main__":
    unittest.main()
