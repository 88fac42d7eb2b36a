"""Our attribute encoder/decoder against stock Postfix 3.7 daemons: a
dnsblog request built by our encoder is understood by stock dnsblog, its
reply decodes to the bytes of protocols.md 3.3, stock tlsproxy's 28-byte
announcement decodes, and our STRICT scan words errors as stock dnsblog
logs them for the same input."""

import os
import subprocess
import unittest

from psmtest import StockPostfix, require_root

REPLY_87 = (b"rbl_domain\x00zen.spamhaus.org\x00client_address\x00127.0.0.1\x00label\x000\x00"
            b"rbl_addr\x00\x00ttl\x004294967295\x00\x00")


def bin_dir():
    path = os.environ.get("PSM_BIN_DIR")
    if not path:
        raise RuntimeError("PSM_BIN_DIR is not set (run the tests through ctest)")
    return path


def attrtool(*args, stdin=None, timeout=30):
    return subprocess.run([os.path.join(bin_dir(), "psm-attrtool"), *args], input=stdin,
                          capture_output=True, timeout=timeout)


def decoded(stdout):
    """psm-attrtool's output: (raw bytes, [(name, value), ...])."""
    lines = stdout.decode().splitlines()
    assert lines[0].startswith("raw "), lines
    pairs = [tuple(line.split("=", 1)) for line in lines[1:]]
    return bytes.fromhex(lines[0][4:]), pairs


class AttrVsStock(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        # Only postlog and the two stock daemons under test.
        cls.pf = cls.enterClassContext(StockPostfix(services=["dnsblog unix - - n - 0 dnsblog",
                                                              "tlsproxy unix - - n - 0 tlsproxy"]))

    def test_encoder_bytes_match_the_spec(self):
        r = attrtool("encode", "rbl_domain=zen.spamhaus.org", "client_address=127.0.0.1", "label=0",
                     "rbl_addr=", "ttl=4294967295")
        self.assertEqual(r.stdout, REPLY_87)
        self.assertEqual(len(r.stdout), 87)

    def test_stock_dnsblog_answers_our_request(self):
        r = attrtool("-T", "20", "request", self.pf.socket_path("dnsblog"), "rbl_domain=nonexistent.invalid",
                     "client_address=127.0.0.2", "label=0")
        self.assertEqual(r.returncode, 0, r.stderr)
        raw, pairs = decoded(r.stdout)
        self.assertEqual(pairs, [("rbl_domain", "nonexistent.invalid"), ("client_address", "127.0.0.2"),
                                 ("label", "0"), ("rbl_addr", ""), ("ttl", "4294967295")])
        # Our encoding of the decoded reply is exactly the spec's reply bytes
        # with the domain and address substituted.
        self.assertEqual(raw, REPLY_87.replace(b"zen.spamhaus.org", b"nonexistent.invalid")
                         .replace(b"127.0.0.1", b"127.0.0.2"))
        # And a STRICT scan reads ttl back as -1.
        r2 = attrtool("scan", "private/dnsblog", "rbl_domain", "client_address", "label:int", "rbl_addr",
                      "ttl:int", stdin=raw)
        self.assertIn(b"conversions 5\n", r2.stdout)
        self.assertIn(b"ttl=-1\n", r2.stdout)
        self.assertNotIn(b"warning", r2.stdout)

    def test_stock_tlsproxy_announcement(self):
        r = attrtool("request", self.pf.socket_path("tlsproxy"))
        self.assertEqual(r.returncode, 0, r.stderr)
        raw, pairs = decoded(r.stdout)
        self.assertEqual(raw, b"protocol\0tlsproxy_protocol\0\0")
        self.assertEqual(len(raw), 28)
        self.assertEqual(pairs, [("protocol", "tlsproxy_protocol")])
        r2 = attrtool("scan", "private/tlsproxy", "protocol:streq=tlsproxy_protocol", stdin=raw)
        self.assertEqual(r2.stdout, b"conversions 1\n")

    def test_strict_warnings_are_worded_as_stock(self):
        # The same malformed requests go to stock dnsblog and to our scanner
        # (with stock's service name for a server-side stream, "dnsblog socket").
        cases = [
            ["rbl_domain=x.invalid", "bogus=1", "client_address=127.0.0.2", "label=0"],
            ["rbl_domain=x.invalid", "client_address=127.0.0.2", "label=x"],
            ["rbl_domain=x.invalid", "client_address=127.0.0.2"],
        ]
        for request in cases:
            with self.subTest(request=request):
                mark = self.pf.log.mark()
                r = attrtool("-T", "10", "request", self.pf.socket_path("dnsblog"), *request)
                self.assertEqual(r.returncode, 1)  # stock closes without a reply
                self.assertIn(b"premature end-of-input", r.stderr)
                self.pf.log.wait_for("warning:", since=mark, timeout=10)
                stock = [line.text.split("warning: ", 1)[1]
                         for line in self.pf.log.lines("postfix/dnsblog", since=mark)
                         if line.pid is not None and "warning: " in line.text]
                ours = attrtool("scan", "dnsblog socket", "rbl_domain", "client_address", "label:int",
                                stdin=attrtool("encode", *request).stdout)
                warning = [line[len(b"warning "):].decode() for line in ours.stdout.splitlines()
                           if line.startswith(b"warning ")]
                self.assertEqual(warning, stock[:1])


if __name__ == "__main__":
    unittest.main()
