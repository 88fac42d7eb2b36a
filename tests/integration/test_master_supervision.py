"""Our master supervising children: every service of a master.cf starts
(unix, inet, pass, fifo, unix-dgram listeners with stock's modes and
owners), a killed child is replaced within a second, a child that exits at
once is throttled for service_throttle_time with stock's log lines, maxproc
holds under load (single-server psm-echod, stock smtpd), and status updates
from our skeleton are accepted without warnings."""

import os
import pwd
import signal
import socket
import stat
import threading
import time
import unittest

from master_fixture import OurMaster, alive, children_of, cmdline
from psmtest import netalloc, procs, require_root


def talk(sock, *lines):
    sock.settimeout(10)
    f = sock.makefile("rwb")
    out = []
    for line in lines:
        f.write(line.encode() + b"\n")
        f.flush()
        out.append(f.readline().decode().rstrip("\n"))
    return out


def unix_client(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


class Services(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.pf = OurMaster(params={"service_throttle_time": "3s"})
        cls.addClassCleanup(cls.pf.stop)
        cls.pf.use_ours("psm-echod")
        cls.pf.use_daemon("false", "/bin/false")
        cls.address = netalloc.server_address()
        cls.port = netalloc.free_port(cls.address)
        cls.pf.add_service("echo", "unix", "psm-echod", maxproc="0")
        cls.pf.add_service("pubecho", "unix", "psm-echod", private="n", maxproc="0")
        cls.pf.add_service(f"{cls.address}:{cls.port}", "inet", "psm-echod", private="n", maxproc="0")
        cls.pf.add_service("single", "unix", "psm-echod", maxproc="2", args=["single"])
        cls.pf.add_service("passecho", "pass", "psm-echod", maxproc="0")
        cls.pf.add_service("failer", "unix", "false", maxproc="1")
        cls.pf.add_service("fifo", "fifo", "false", maxproc="1", unpriv="n")
        cls.pf.start()

    def path(self, name, private=True):
        return os.path.join(self.pf.queue_dir, "private" if private else "public", name)

    def test_every_service_listens_as_stock(self):
        postfix = pwd.getpwnam("postfix").pw_uid
        for name, private in [("echo", True), ("pubecho", False), ("single", True), ("passecho", True),
                              ("failer", True), ("postlog", False)]:
            with self.subTest(service=name):
                st = os.stat(self.path(name, private))
                self.assertTrue(stat.S_ISSOCK(st.st_mode))
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o666)  # as stock: the directory protects
                self.assertEqual(st.st_uid, postfix)               # bound as mail_owner
        st = os.stat(self.path("fifo"))
        self.assertTrue(stat.S_ISFIFO(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o622)
        self.assertTrue(netalloc.is_listening(self.address, self.port))
        with unix_client(self.path("echo")) as s:
            self.assertEqual(talk(s, "hello"), ["hello"])
        with unix_client(self.path("pubecho", False)) as s:
            self.assertEqual(talk(s, "public"), ["public"])
        with socket.create_connection((self.address, self.port), timeout=10) as s:
            self.assertEqual(talk(s, "over tcp"), ["over tcp"])
        with unix_client(self.path("single")) as s:
            self.assertEqual(talk(s, "single"), ["single"])

    def test_pass_service_receives_a_passed_connection(self):
        a, b = socket.socketpair()
        with a, b, unix_client(self.path("passecho")) as ch:
            socket.send_fds(ch, [b"\0"], [b.fileno()])
            ch.sendall(b"client_address\x00192.0.2.1\x00client_port\x001234\x00server_address\x00"
                       b"192.0.2.2\x00server_port\x0025\x00\x00")
            self.assertEqual(talk(a, "through the passed socket"), ["through the passed socket"])

    def test_killed_child_is_replaced_within_a_second(self):
        with unix_client(self.path("echo")) as s:
            (pid,) = talk(s, "pid")
        mark = self.pf.log.mark()  # before the kill: master may log at once
        os.kill(int(pid), signal.SIGKILL)
        procs.wait_until(lambda: not alive(int(pid)), 5, message="the child did not die")
        killed_at = time.monotonic()
        self.pf.log.wait_for(rf"^warning: process \S+/psm-echod pid {pid} killed by signal 9$", "master",
                             since=mark)
        with unix_client(self.path("echo")) as s:
            (new_pid,) = talk(s, "pid")
        self.assertLess(time.monotonic() - killed_at, 1.0)
        self.assertNotEqual(new_pid, pid)
        # It had served a client (use count > 0): no throttling.
        self.pf.log.assert_absent("throttling", "master", since=mark, wait=0.2)

    def test_child_failing_at_once_is_throttled(self):
        mark = self.pf.log.mark()
        daemon = os.path.join(self.pf.daemon_dir, "false")
        with unix_client(self.path("failer")):
            first = self.pf.log.wait_for(rf"^warning: process {daemon} pid (\d+) exit status 1$", "master",
                                         since=mark, timeout=10)
            throttled = self.pf.log.wait_for(rf"^warning: {daemon}: bad command startup -- throttling$", "master",
                                             since=mark)
            # The pending client makes master try again once the 3 s are over, not before.
            second = self.pf.log.wait_for(rf"^warning: process {daemon} pid (\d+) exit status 1$", "master",
                                          since=throttled.offset + 1, timeout=10)
        lines = self.pf.log.lines("master", since=mark)
        self.assertLess(first.offset, throttled.offset)
        t0 = self._when(first)
        t1 = self._when(second)
        self.assertGreaterEqual(t1 - t0, 2)  # 3 s, whole-second log stamps
        self.assertLessEqual(t1 - t0, 5)
        self.assertTrue(all("throttling" not in l.text or "bad command startup" in l.text for l in lines))

    @staticmethod
    def _when(line):
        t = time.strptime(line.time, "%b %d %H:%M:%S")
        return t.tm_hour * 3600 + t.tm_min * 60 + t.tm_sec

    def singles(self):
        out = []
        for p in children_of(self.pf.master_pid()):
            try:
                if "single" in cmdline(p):
                    out.append(p)
            except OSError:
                pass  # gone meanwhile
        return out

    def test_maxproc_holds_under_load(self):
        # "single" is a single server (one client per process), maxproc 2.
        n = 8
        held = []
        answers = []
        errors = []

        def client():
            try:
                s = unix_client(self.path("single"))
                held.append(s)
                answers.append(talk(s, "pid")[0])
            except OSError as e:
                errors.append(e)

        first = [threading.Thread(target=client) for _ in range(2)]
        for t in first:
            t.start()
        for t in first:
            t.join(15)
        self.assertEqual(len(answers), 2, errors)
        self.assertEqual(len(set(answers)), 2)  # two processes, one client each
        # Six more clients queue: no third process while both are busy.
        more = [threading.Thread(target=client) for _ in range(n - 2)]
        for t in more:
            t.start()
        time.sleep(1.0)
        self.assertEqual(len(answers), 2)
        self.assertLessEqual(len(self.singles()), 2)
        # Release the clients one by one: everyone is served, never by more than 2 processes.
        deadline = time.monotonic() + 30
        while len(answers) < n and time.monotonic() < deadline:
            if held:
                held.pop(0).close()
            time.sleep(0.1)
            self.assertLessEqual(len(self.singles()), 2)
        for t in more:
            t.join(15)
        for s in held:
            s.close()
        self.assertEqual(len(answers), n, errors)
        self.assertEqual(errors, [])

    def test_no_warnings_about_our_children(self):
        with unix_client(self.path("echo")) as s:
            talk(s, "x")
        time.sleep(0.3)
        bad = [l.raw for l in self.pf.log.lines("master") if l.severity != "info"
               and "psm-echod" in l.text and "killed by signal 9" not in l.text]
        self.assertEqual(bad, [])
        self.assertEqual([l.raw for l in self.pf.log.lines("psm-echod") if l.severity != "info"], [])


if __name__ == "__main__":
    unittest.main()
