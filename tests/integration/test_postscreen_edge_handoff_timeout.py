"""postscreen's hand-off that smtpd never takes, ours beside stock 3.7.11.

The pass service is a socket this test listens on: it accepts postscreen's
connection and never reads the client socket postscreen sends. Stock waits
100 seconds (a fixed time), logs `warning: timeout sending connection to
service private/NAME` and forgets the session, which then no longer counts
in the post-queue. Ours must do the same. The two instances run at the same
time, so the test takes a little over 100 s once. Kept apart from
test_postscreen_edge_handoff.py so the long wait runs beside other tests.
"""

import os
import re
import socket
import time
import unittest

from postscreen_engine_common import Pair, session_lines
from psmtest import SmtpClient, client_address, require_root, wait_until

ALLOWED = [client_address() for _ in range(2)]
HOLD = "psm-hold"


def _access_list(pf):
    return pf.write_map("ps_access", "".join(f"{a}/32 permit\n" for a in ALLOWED), type="cidr")


PARAMS = {"postscreen_access_list": _access_list}
SERVICES = {"hold": {"smtpd_service_name": HOLD, "postscreen_post_queue_limit": "5"}}
STOCK_WAIT = 100  # seconds, fixed in stock postscreen


class HandoffTimeout(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.pair = cls.enterClassContext(Pair(PARAMS, SERVICES))

    def listen(self, inst):
        path = inst.pf.socket_path(HOLD, private=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        if os.path.lexists(path):
            os.unlink(path)
        listener.bind(path)
        os.chmod(path, 0o666)
        listener.listen(20)
        listener.settimeout(10)
        return listener

    def test_timeout_sending_connection(self):
        state = {}
        for inst, source in zip(self.pair.both(), ALLOWED):
            listener = self.listen(inst)
            mark = inst.log.mark()
            address, port = inst.endpoints["hold"]
            clients = [self.enterContext(SmtpClient(address, port, source=source, timeout=15)) for _ in range(5)]
            for _ in clients:
                self.addCleanup(listener.accept()[0].close)
            state[inst.ours] = (listener, mark, address, port, source, clients, time.monotonic())
        # The post-queue is full meanwhile.
        for inst in self.pair.both():
            listener, mark, address, port, source, clients, started = state[inst.ours]
            with SmtpClient(address, port, source=source, timeout=15) as c:
                self.assertEqual(c.read_reply().last, "421 4.3.2 All server ports are busy")
        results = {}
        for inst in self.pair.both():
            listener, mark, address, port, source, clients, started = state[inst.ours]
            found = inst.log.wait_for(rf"^warning: timeout sending connection to service private/{HOLD}$",
                                      "postscreen", since=mark, timeout=STOCK_WAIT + 60, count=5)
            waited = time.monotonic() - started
            # Stock's timer has whole seconds; ours is precise.
            self.assertGreater(waited, STOCK_WAIT - 3, f"{'ours' if inst.ours else 'stock'} gave up early")
            self.assertEqual(len(found), 5)
            lines = session_lines(inst, mark, clients[0], address)
            results[inst.ours] = sorted(line for line in lines if "[CLIENT]" in line or "warning" in line)
            # The sessions left the post-queue: a hand-off goes through again.
            wait_until(lambda: self.handed_off(address, port, source, listener), 10,
                       message="a hand-off after the timeouts")
        self.assertEqual(results[True], results[False], "postscreen log lines differ")
        self.assertEqual(results[True].count(f"warning: timeout sending connection to service private/{HOLD}"), 5)
        # Only the session turned away at the full post-queue logs DISCONNECT.
        self.assertEqual(results[True].count("DISCONNECT [CLIENT]:PORT"), 1)

    @staticmethod
    def handed_off(address, port, source, listener):
        with SmtpClient(address, port, source=source, timeout=15) as c:
            listener.settimeout(1)
            try:
                listener.accept()[0].close()
                return True
            except TimeoutError:
                c.read_reply()
                return False
            finally:
                listener.settimeout(10)


if __name__ == "__main__":
    unittest.main()
