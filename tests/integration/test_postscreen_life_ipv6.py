"""postscreen life cycle over IPv6: a client on ::1 listed in a DNSBL by
its nibble name is dropped with the IPv6 address in brackets, and both
dnsblogs log the listing alike. Our postscreen + our dnsblog against stock
3.7 side by side (postscreen_life_common, with inet_protocols = all and the
postscreen listeners on [::1]); only ::1 is used (the one IPv6 loopback
address), on ports of its own.
"""

import socket
import time
import unittest

from postscreen_life_common import BANNER, LifePair
from psmtest import DnsServer, Zone, normalize, require_root

CLIENT = "::1"


def free_port6():
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.bind((CLIENT, 0))
        return s.getsockname()[1]


def exchange(port, timeout=15):
    """Connect from ::1, read until the server closes; the lines received."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((CLIENT, port))
        local_port = s.getsockname()[1]
        data = b""
        while time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return local_port, data.decode("utf-8", "replace").splitlines()


class Ipv6(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        if not socket.has_ipv6:
            raise unittest.SkipTest("no IPv6")
        bl = Zone("bl.psm.test")
        bl.list_address("127.0.0.2", "127.0.0.2")
        bl.list_address(CLIENT, "127.0.0.2")
        cls.dns = cls.enterClassContext(DnsServer([bl]))
        cls.pair = LifePair(cls.dns, {"inet_protocols": "all", "postscreen_cache_map": "",
                                      "postscreen_dnsbl_sites": "bl.psm.test",
                                      "postscreen_dnsbl_action": "drop"}, {})
        for instance in cls.pair.both():
            port = free_port6()
            instance.pf.add_postscreen(address=f"[{CLIENT}]", port=port)
            instance.endpoints["v6"] = (CLIENT, port)
        cls.enterClassContext(cls.pair)

    def test_listed_ipv6_client_is_dropped(self):
        results = {}
        for instance in self.pair.both():
            mark = instance.log.mark()
            port = instance.endpoints["v6"][1]
            local_port, lines = exchange(port)
            instance.log.wait_for(rf"^DISCONNECT \[::1\]:{local_port}$", "postscreen", since=mark, timeout=15)
            logged = [normalize(line.text).replace(f"]:{local_port}", "]:PORT").replace(f"]:{port}", "]:SPORT")
                      for line in instance.log.lines(["postscreen", "dnsblog"], since=mark)]
            results[instance.name] = (lines, logged)
        self.assertEqual(results["ours"], results["stock"])
        lines, logged = results["ours"]
        self.assertEqual(lines, [f"220-{BANNER}",
                                 "521 5.7.1 Service unavailable; client [::1] blocked using bl.psm.test"])
        self.assertIn("addr ::1 listed by domain bl.psm.test as 127.0.0.2", logged)
        self.assertIn("DNSBL rank 1 for [::1]:PORT", logged)


if __name__ == "__main__":
    unittest.main()
