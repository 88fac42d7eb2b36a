"""Process limits and wakeups compared with stock master 3.7: a pass
service (non-local, so "-o stress=") at its process limit makes both
masters log the same three warnings and start the next child with
"-o stress=yes" (stock smtpd as the daemon, sessions held open); wakeup
timers deliver the same bytes as stock's ("W\\0" over unix and pass
connections, "W" into a fifo) at the master.cf interval."""

import os
import re
import socket
import time
import unittest

from master_fixture import OurMaster, children_of, cmdline
from psmtest import StockPostfix, procs, require_root

WAKER = r'''#!/usr/bin/python3
# Fake daemon: records every wakeup it receives, one line "type hexbytes".
import os, socket, sys, time, array
kind = sys.argv[sys.argv.index("-t") + 1]
out = os.path.join(os.environ["DUMP_DIR"], kind + ".log")
os.set_blocking(6, True)
def note(data):
    with open(out, "a") as f:
        f.write(f"{kind} {data.hex()} {time.time():.3f}\n")
listener = None if kind == "fifo" else socket.socket(fileno=6)
end = time.time() + 60
while time.time() < end:
    if kind == "fifo":
        note(os.read(6, 100))
        continue
    c, _ = listener.accept()
    if kind == "pass":
        msg, fds, flags, addr = socket.recv_fds(c, 10, 1)
        data = b""
        while not data.endswith(b"\0") and len(data) < 100:  # stock writes "W" and "\0" separately
            chunk = os.read(fds[0], 100)
            if not chunk:
                break
            data += chunk
        note(b"fd:" + msg + b":" + data)
        os.close(fds[0])
    else:
        data = b""
        c.settimeout(2)
        try:
            while len(data) < 100:
                chunk = c.recv(100)
                if not chunk:
                    break
                data += chunk
                if data.endswith(b"\0"):
                    break
        except OSError:
            pass
        note(data)
    c.close()
'''


def run_stress(pf):
    """Two held sessions on a maxproc-2 pass service, a third pending."""
    pf.add_service("smtpd", "pass", "smtpd", maxproc="2")
    pf.add_service("proxymap", "unix", "proxymap")
    pf.start()
    held = []
    path = os.path.join(pf.queue_dir, "private", "smtpd")
    mark = pf.log.mark()
    for i in range(3):
        client, server_side = socket.socketpair()
        ch = socket.socket(socket.AF_UNIX)
        ch.settimeout(10)
        ch.connect(path)
        socket.send_fds(ch, [b"\0"], [server_side.fileno()])
        ch.sendall(b"client_address\x00192.0.2.%d\x00client_port\x001\x00server_address\x00192.0.2.1\x00"
                   b"server_port\x0025\x00\x00" % (10 + i))
        server_side.close()
        held += [client, ch]
        if i < 2:
            client.settimeout(15)
            assert client.recv(100).startswith(b"220 "), "no banner"
    warnings = pf.log.wait_for(r"^warning: (.*)$", "master", since=mark, count=3, timeout=10)
    smtpds = sorted(cmdline(p) for p in children_of(pf.proc.pid) if cmdline(p)[:1] == ["smtpd"])
    for s in held:
        s.close()
    return [w.match.group(1) for w in warnings], smtpds


class StressLikeStock(unittest.TestCase):
    def test_process_limit_and_stress_mode(self):
        require_root()
        results = {}
        for label, factory in (("stock", StockPostfix), ("ours", OurMaster)):
            pf = factory(params={"smtpd_peername_lookup": "no", "smtpd_client_connection_count_limit": "0"})
            self.addCleanup(pf.stop)
            if label == "stock":
                pf.services = {k: v for k, v in pf.services.items() if k == ("postlog", "unix-dgram")}
            results[label] = run_stress(pf)
            pf.stop()
        self.assertEqual(results["ours"], results["stock"])
        warnings, smtpds = results["ours"]
        self.assertEqual(warnings, [
            'service "smtpd" (private/smtpd) has reached its process limit "2": '
            'new clients may experience noticeable delays',
            "to avoid this condition, increase the process count in master.cf or reduce the service time per "
            "client",
            "see http://www.postfix.org/STRESS_README.html for examples of stress-adapting configuration "
            "settings"])
        # The fork that reached the limit started the stress period: its child
        # got stress=yes; the first one was started before it.
        self.assertEqual(smtpds, [["smtpd", "-t", "pass", "-d", "-u", "-o", "stress="],
                                  ["smtpd", "-t", "pass", "-d", "-u", "-o", "stress=yes"]])


def wakeups(pf):
    dump_dir = os.path.join(pf.dir, "dumps")
    os.mkdir(dump_dir)
    os.chmod(dump_dir, 0o777)
    pf.set(import_environment=pf.main["import_environment"] + " DUMP_DIR=" + dump_dir)
    waker = os.path.join(pf.dir, "waker.py")
    with open(waker, "w") as f:
        f.write(WAKER)
    os.chmod(waker, 0o755)
    pf.use_daemon("waker", waker)
    pf.add_service("wunix", "unix", "waker", wakeup="1", maxproc="1", unpriv="n")
    pf.add_service("wpass", "pass", "waker", wakeup="1", maxproc="1", unpriv="n")
    pf.add_service("wfifo", "fifo", "waker", wakeup="1", maxproc="1", unpriv="n")
    pf.add_service("wcond", "unix", "waker", wakeup="1?", maxproc="1", unpriv="n", args=["cond"])
    pf.start()
    logs = {k: os.path.join(dump_dir, k + ".log") for k in ("unix", "pass", "fifo")}

    def enough():
        counts = []
        for path in logs.values():
            try:
                with open(path) as f:
                    counts.append(len(f.read().splitlines()))
            except FileNotFoundError:
                counts.append(0)
        return min(counts) >= 4

    procs.wait_until(enough, 20, message=f"wakeups did not arrive ({type(pf).__name__}, {pf.dir})")
    out = {}
    for kind, path in logs.items():
        with open(path) as f:
            lines = [l.split() for l in f.read().splitlines()]
        out[kind] = lines
    pf.stop()
    return out


class WakeupLikeStock(unittest.TestCase):
    def test_wakeup_bytes_and_interval(self):
        require_root()
        results = {}
        for label, factory in (("stock", StockPostfix), ("ours", OurMaster)):
            pf = factory()
            self.addCleanup(pf.stop)
            if label == "stock":
                pf.services = {k: v for k, v in pf.services.items() if k == ("postlog", "unix-dgram")}
            results[label] = wakeups(pf)
        for label, got in results.items():
            with self.subTest(master=label):
                self.assertEqual({l[1] for l in got["unix"]}, {b"W\0".hex()})
                # A slow reader may find two "W"s in the fifo at once.
                self.assertTrue(all(set(bytes.fromhex(l[1])) == {ord("W")} for l in got["fifo"]), got["fifo"])
                self.assertEqual({l[1] for l in got["pass"]}, {(b"fd:\0:" + b"W\0").hex()})
                # The first wakeup goes out at start-up and waits for the
                # daemon to start; later ones come every second.
                stamps = [float(l[2]) for l in got["unix"]][1:]
                gaps = [b - a for a, b in zip(stamps, stamps[1:])]
                self.assertTrue(gaps and all(0.7 < g < 1.6 for g in gaps), gaps)


if __name__ == "__main__":
    unittest.main()
