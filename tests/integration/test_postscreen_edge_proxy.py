"""postscreen behind an upstream proxy (postscreen_upstream_proxy_protocol =
haproxy), ours beside stock 3.7.11 side by side, stock smtpd as the pass
service.

A good PROXY v1 or v2 header makes the proxied address the client: it is
logged in CONNECT and PASS NEW, matched by the access list, and stock
smtpd behind the hand-off logs `connect from unknown[PROXIED]:PORT`. A v2 LOCAL header keeps the real
endpoints. Bytes after the header are SMTP input (a pregreet, or
pipelined commands that stock smtpd answers), EOF after it is a HANGUP. A lying or
malformed header, a plain SMTP client, EOF and silence
(postscreen_upstream_proxy_timeout) each get stock's warning and stock's
raw `421 4.3.2 No system resources`, with no CONNECT line.
"""

import ipaddress
import re
import socket
import struct
import time
import unittest

from postscreen_engine_common import HOSTNAME, Pair, normalise_transcript, run_script, session_lines
from psmtest import SmtpClient, client_address, require_root, wait_until

BANNER = f"{HOSTNAME} ESMTP Postfix"
PARAMS = {
    "postscreen_greet_wait": "2s",
    "postscreen_access_list": lambda pf: pf.write_map("ps_access", "192.0.2.0/24 permit\n", type="cidr"),
    "smtpd_peername_lookup": "no",
    "smtpd_client_port_logging": "yes",
}
SERVICES = {"proxy": {"postscreen_upstream_proxy_protocol": "haproxy",
                      "postscreen_upstream_proxy_timeout": "2s"}}
NO_RESOURCES = "421 4.3.2 No system resources"
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(client, server="127.0.0.1", cport=12345, sport=25, proto="TCP4"):
    return f"PROXY {proto} {client} {server} {cport} {sport}\r\n".encode()


def v2(client, server="127.0.0.1", cport=12345, sport=25, *, command=0x1, family=0x11, tlvs=b"", version=0x2):
    if family == 0x11:
        addrs = (ipaddress.IPv4Address(client).packed + ipaddress.IPv4Address(server).packed
                 + struct.pack("!HH", cport, sport))
    elif family == 0x21:
        addrs = (ipaddress.IPv6Address(client).packed + ipaddress.IPv6Address(server).packed
                 + struct.pack("!HH", cport, sport))
    else:
        addrs = ipaddress.IPv4Address(client).packed + ipaddress.IPv4Address(server).packed + struct.pack(
            "!HH", cport, sport)
    body = addrs + tlvs
    return V2_SIG + bytes([(version << 4) | command, family]) + struct.pack("!H", len(body)) + body


class _SideBySide:
    """Helpers shared by the test classes (each has its own `pair`)."""

    def setUp(self):
        self.marks = {inst: inst.log.mark() for inst in self.pair.both()}

    def tearDown(self):
        for inst in self.pair.both():
            bad = [line.raw for line in inst.pf.problems(self.marks[inst])
                   if line.severity in ("fatal", "panic")
                   or re.search(r"exit status|killed by signal", line.text)]
            self.assertEqual(bad, [], f"problems in the {'ours' if inst.ours else 'stock'} instance")

    def run_both(self, steps, end, timeout=15):
        """Runs `steps` against stock, then ours; `end(client)` is the regex
        of the last postscreen line of the session. Returns {ours: (replies,
        postscreen lines, client)}."""
        out = {}
        for inst in self.pair.both():
            mark = inst.log.mark()
            address, port = inst.endpoints["proxy"]
            client = SmtpClient(address, port, source=client_address(), timeout=timeout)
            client.connect()
            try:
                transcript = run_script(client, steps)
            finally:
                client.close()
            inst.log.wait_for(end(client), "postscreen", since=mark, timeout=timeout)
            lines = session_lines(inst, mark, client, address)
            # A command sent after the server closed meets EOF or a reset,
            # depending on timing alone.
            replies = [re.sub(r"^<reset while:", "<closed while:", entry)
                       for entry in normalise_transcript(transcript, client, address)]
            out[inst.ours] = (replies, lines, client)
        self.assertEqual(out[True][0], out[False][0], "replies differ")
        self.assertEqual(out[True][1], out[False][1], "postscreen log lines differ")
        return out

    def proxied_handoff(self, header, proxied, cport, server="127.0.0.1"):
        def end(_):
            return rf"^PASS NEW \[{re.escape(proxied)}\]:{cport}$"

        marks = {inst.ours: inst.log.mark() for inst in self.pair.both()}
        out = self.run_both([("send", header), ("reply",), ("cmd", "QUIT"), ("closed",)], end)
        replies, lines, _ = out[True]
        self.assertEqual(replies, [f"220-{BANNER} | 220 {BANNER}", "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(lines, [f"CONNECT from [{proxied}]:PORT to [{server}]:PORT", f"PASS NEW [{proxied}]:PORT"])
        for inst in self.pair.both():
            inst.log.wait_for(rf"^CONNECT from \[{re.escape(proxied)}\]:{cport} to \[{re.escape(server)}\]:25$",
                              "postscreen", since=marks[inst.ours])
            # Stock smtpd got the proxied endpoint from postscreen.
            inst.log.wait_for(rf"^connect from unknown\[{re.escape(proxied)}\]:{cport}$", "smtpd",
                              since=marks[inst.ours])
            # The cache update may land a moment after the PASS NEW line.
            wait_until(lambda: proxied in inst.pf.cache_entries(), 10, interval=0.3,
                       message=f"{proxied} in the {'ours' if inst.ours else 'stock'} cache")



class Proxy(_SideBySide, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.pair = cls.enterClassContext(Pair(PARAMS, SERVICES))

    def test_v1_header(self):
        self.proxied_handoff(v1("198.51.100.7", cport=12345), "198.51.100.7", 12345)

    def test_v2_header_with_tlv(self):
        tlvs = bytes([0x04, 0x00, 0x03]) + b"abc"  # PP2_TYPE_NOOP, skipped
        self.proxied_handoff(v2("203.0.113.9", cport=40000, tlvs=tlvs), "203.0.113.9", 40000)

    def test_proxied_address_is_used_for_the_access_list(self):
        marks = {inst.ours: inst.log.mark() for inst in self.pair.both()}
        out = self.run_both([("send", v2("192.0.2.5", cport=5555)), ("reply",), ("cmd", "QUIT"), ("closed",)],
                            lambda c: r"^ALLOWLISTED \[192\.0\.2\.5\]:5555$")
        # Allowlisted: no teaser, smtpd's banner at once.
        self.assertEqual(out[True][0], [f"220 {BANNER}", "221 2.0.0 Bye", "<closed>"])
        self.assertEqual(out[True][1], ["CONNECT from [192.0.2.5]:PORT to [127.0.0.1]:PORT",
                                        "ALLOWLISTED [192.0.2.5]:PORT"])
        for inst in self.pair.both():
            inst.log.wait_for(r"^connect from unknown\[192\.0\.2\.5\]:5555$", "smtpd", since=marks[inst.ours])

    def test_pipelined_commands_after_the_header_reach_smtpd(self):
        # postscreen takes exactly the header: smtpd reads the rest.
        data = v1("192.0.2.6", cport=6666) + b"EHLO pipelined.example\r\nNOOP\r\n"
        out = self.run_both([("send", data), ("reply",), ("reply",), ("reply",), ("cmd", "QUIT"), ("closed",)],
                            lambda c: r"^ALLOWLISTED \[192\.0\.2\.6\]:6666$")
        replies = out[True][0]
        self.assertEqual(replies[0], f"220 {BANNER}")
        self.assertTrue(replies[1].startswith(f"250-{HOSTNAME} | 250-PIPELINING"), replies)
        self.assertEqual(replies[2:], ["250 2.0.0 Ok", "221 2.0.0 Bye", "<closed>"])

    def test_header_then_eof(self):
        def end(_):
            return r"^DISCONNECT \[198\.51\.100\.40\]:4040$"

        out = {}
        for inst in self.pair.both():
            mark = inst.log.mark()
            address, port = inst.endpoints["proxy"]
            with SmtpClient(address, port, timeout=15) as c:
                c.send(v1("198.51.100.40", cport=4040))
                c.sock.shutdown(socket.SHUT_WR)
                how = c.wait_closed()
            inst.log.wait_for(end(c), "postscreen", since=mark, timeout=15)
            out[inst.ours] = (how, c.trailing.decode(), session_lines(inst, mark, c, address))
        self.assertEqual(out[True], out[False])
        self.assertIn("HANGUP after TIME from [198.51.100.40]:PORT in tests before SMTP handshake", out[True][2])

    def test_v2_local_uses_the_real_endpoints(self):
        out = self.run_both([("send", v2("192.0.2.1", command=0x0)), ("reply",), ("cmd", "QUIT"), ("closed",)],
                            lambda c: rf"^PASS NEW \[{re.escape(c.source)}\]:{c.source_port}$")
        self.assertEqual(out[True][1], ["CONNECT from [CLIENT]:PORT to [SERVER]:PORT", "PASS NEW [CLIENT]:PORT"])

    def test_bytes_after_the_header_are_smtp_input(self):
        header = v1("198.51.100.20", cport=2020) + b"EHLO early.example\r\n"
        # postscreen_greet_action = ignore: logged, then handed to smtpd.
        marks = {inst.ours: inst.log.mark() for inst in self.pair.both()}
        out = self.run_both([("send", header), ("reply",), ("cmd", "QUIT"), ("closed",)],
                            lambda c: r"^PREGREET 20 after \S+ from \[198\.51\.100\.20\]:2020: ")
        self.assertEqual(out[True][1], ["CONNECT from [198.51.100.20]:PORT to [127.0.0.1]:PORT",
                                        "PREGREET 20 after TIME from [198.51.100.20]:PORT: EHLO early.example\\r\\n"])
        for inst in self.pair.both():
            inst.log.wait_for(r"^connect from unknown\[198\.51\.100\.20\]:2020$", "smtpd", since=marks[inst.ours])

    def test_odd_v1_forms_as_stock(self):
        # Whatever stock does with these (accept and normalise, or refuse),
        # ours does the same.
        forms = {
            "leading zero octet": b"PROXY TCP4 198.51.100.010 127.0.0.1 3001 25\r\n",
            "leading zero octet 08": b"PROXY TCP4 198.51.100.08 127.0.0.1 3002 25\r\n",
            "hex octet": b"PROXY TCP4 0xc6.51.100.9 127.0.0.1 3003 25\r\n",
            "lower-case protocol": b"PROXY tcp4 198.51.100.11 127.0.0.1 3004 25\r\n",
            "bare LF": b"PROXY TCP4 198.51.100.12 127.0.0.1 3005 25\n",
            "double space": b"PROXY TCP4  198.51.100.13 127.0.0.1 3006 25\r\n",
            "mapped server": b"PROXY TCP6 2001:db8::1 ::ffff:127.0.0.1 3007 25\r\n",
        }
        for name, data in forms.items():
            with self.subTest(name):
                self.run_both([("send", data), ("reply",), ("cmd", "QUIT"), ("closed",)],
                              lambda c: r"^(warning: haproxy read: |PASS NEW )")

    def test_bad_headers_are_refused_as_stock(self):
        cases = {
            "lying v1 client address": (v1("198.51.100.300"), "bad or missing client address"),
            "v1 bad server port": (v1("198.51.100.1", sport=65536), "bad or missing server port"),
            "v1 leading zero port": (b"PROXY TCP4 198.51.100.1 127.0.0.1 01234 25\r\n",
                                     "bad or missing client port"),
            "v1 TCP6 with IPv4 only": (v1("2001:db8::1", "::1", proto="TCP6"), "bad or missing protocol type"),
            "v1 UNKNOWN": (b"PROXY UNKNOWN\r\n", "bad or missing protocol type"),
            "v1 no terminator": (b"PROXY TCP4 198.51.100.1 127.0.0.1 1234 25", "missing protocol header terminator"),
            # Only "PROXY " selects v1: anything else is taken for v2.
            "v1 wrong word": (b"PROXZ TCP4 198.51.100.1 127.0.0.1 1234 25\r\n", "unrecognized protocol header"),
            "plain SMTP, short": (b"EHLO x\r\n", "short protocol header"),
            "plain SMTP": (b"EHLO client.psm.test\r\n", "unrecognized protocol header"),
            "v2 version 1": (v2("198.51.100.1", version=0x1), "unrecognized protocol version"),
            "v2 truncated": (v2("198.51.100.1")[:20], "short version 2 protocol header"),
            "v2 UDP": (v2("198.51.100.1", family=0x12), "unsupported network protocol"),
            "v2 IPv6": (v2("2001:db8::1", "::1", family=0x21), "Postfix IPv6 support is disabled"),
            "v2 bad command": (v2("198.51.100.1", command=0x5), "bad command in proxy header"),
            # More than the 536 bytes postscreen peeks at.
            "v2 with 1000 bytes of TLVs": (v2("198.51.100.1", tlvs=bytes([0x04, 0x03, 0xe5]) + b"x" * 997),
                                           "short version 2 protocol header"),
            "v1 longer than the peek": (b"PROXY TCP4 198.51.100.1 127.0.0.1 1234 25" + b" " * 600 + b"\r\n",
                                        "missing protocol header terminator"),
            "binary garbage": (bytes(range(256)) * 2, "unrecognized protocol header"),
        }
        for name, (data, reason) in cases.items():
            with self.subTest(name):
                out = self.run_both([("send", data), ("reply",), ("closed",)],
                                    lambda c: r"^warning: haproxy read: ")
                replies, lines, _ = out[True]
                self.assertEqual(replies, [NO_RESOURCES, "<closed>"])
                self.assertEqual(len(lines), 1, lines)
                self.assertTrue(lines[0].startswith(f"warning: haproxy read: {reason}"), lines)

    def test_silence_times_out(self):
        out = self.run_both([("reply",), ("closed",)], lambda c: r"^warning: haproxy read: time limit exceeded$",
                            timeout=20)
        self.assertEqual(out[True][0], [NO_RESOURCES, "<closed>"])
        self.assertEqual(out[True][1], ["warning: haproxy read: time limit exceeded"])

    def test_eof_before_the_header(self):
        out = {}
        for inst in self.pair.both():
            mark = inst.log.mark()
            address, port = inst.endpoints["proxy"]
            with SmtpClient(address, port, timeout=15) as c:
                c.sock.shutdown(socket.SHUT_WR)
                reply = c.read_reply()
                how = c.wait_closed()
            inst.log.wait_for(r"^warning: haproxy read: EOF$", "postscreen", since=mark)
            out[inst.ours] = (reply.lines, how, session_lines(inst, mark, c, address))
        self.assertEqual(out[True], out[False])
        self.assertEqual(out[True][0], [NO_RESOURCES])

    def test_other_clients_are_served_while_one_is_silent(self):
        ours = self.pair.ours
        address, port = ours.endpoints["proxy"]
        mark = ours.log.mark()
        with SmtpClient(address, port, timeout=15) as silent:
            with SmtpClient(address, port, timeout=15) as good:
                good.send(v1("198.51.100.77", cport=7777))
                greeting = good.read_reply()
                # The teaser comes at once, during the silent client's wait.
                self.assertLess(greeting.first_at - silent.connected_at, 1.0)
                self.assertEqual(greeting.lines, [f"220-{BANNER}", f"220 {BANNER}"])
                self.assertEqual(good.command("QUIT").last, "221 2.0.0 Bye")
            self.assertEqual(silent.read_reply().last, NO_RESOURCES)
        ours.log.wait_for(r"^warning: haproxy read: time limit exceeded$", "postscreen", since=mark)
        ours.log.wait_for(r"^PASS NEW \[198\.51\.100\.77\]:7777$", "postscreen", since=mark)

class ProxyIPv6(_SideBySide, unittest.TestCase):
    """inet_protocols = all: TCP6 headers are accepted and normalised."""

    @classmethod
    def setUpClass(cls):
        require_root()
        cls.pair = cls.enterClassContext(Pair({**PARAMS, "inet_protocols": "all"}, SERVICES))

    def test_v1_tcp6_address_is_normalised(self):
        header = b"PROXY TCP6 2001:DB8:0:0:0:0:0:1 0:0:0:0:0:0:0:1 6001 25\r\n"
        self.proxied_handoff(header, "2001:db8::1", 6001, server="::1")

    def test_v1_tcp6_mapped_ipv4_becomes_ipv4(self):
        self.proxied_handoff(v1("::ffff:198.51.100.30", "::1", cport=6002, proto="TCP6"), "198.51.100.30", 6002,
                             server="::1")

    def test_v2_tcp6(self):
        self.proxied_handoff(v2("2001:db8::2", "::1", cport=6003, family=0x21), "2001:db8::2", 6003, server="::1")

    def test_v1_family_mismatch(self):
        out = self.run_both([("send", v1("2001:db8::3", "::1", proto="TCP4")), ("reply",), ("closed",)],
                            lambda c: r"^warning: haproxy read: ")
        self.assertEqual(out[True][0], [NO_RESOURCES, "<closed>"])
        self.assertTrue(out[True][1][0].startswith("warning: haproxy read: bad or missing client address: "),
                        out[True][1])


if __name__ == "__main__":
    unittest.main()
