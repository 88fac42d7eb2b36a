"""Our daemon skeleton under a stock Postfix 3.7 master: psm-echod (an
event server that answers lines) as a unix service with maxproc 0 and as an
inet service on a loopback port. Stock master must accept its status
updates (no warnings, no throttling); `postfix reload` and `postfix stop`
make it exit cleanly (EOF on fd 5); -u made it run as mail_owner; the
skeleton's own -L listeners work without master."""

import os
import pwd
import socket
import subprocess
import time
import unittest

from psmtest import StockPostfix, free_port, require_root, server_address, wait_until


def bin_dir():
    path = os.environ.get("PSM_BIN_DIR")
    if not path:
        raise RuntimeError("PSM_BIN_DIR is not set (run the tests through ctest)")
    return path


def talk(sock, *lines):
    """Sends each line, returns the answers (one line each)."""
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
    s.connect(path)
    return s


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class SkeletonUnderStockMaster(unittest.TestCase):
    def setUp(self):
        require_root()
        self.echod = os.path.join(bin_dir(), "psm-echod")
        self.addr = server_address()
        self.port = free_port(self.addr)
        self.pf = StockPostfix(services=[
            "echo unix - - n - 0 psm-echod",
            f"{self.addr}:{self.port} inet n - n - 0 psm-echod",
            "single unix - - n - 0 psm-echod single",
        ])
        self.pf.use_daemon("psm-echod", self.echod)
        self.enterContext(self.pf)  # started now, stopped after the test

    def log_text(self):
        return self.pf.log.text(since=0)

    def our_problems(self):
        """master's warnings about our services, and our own warnings/fatals."""
        bad = []
        for line in self.log_text().splitlines():
            if "/psm-echod[" in line and ("warning:" in line or "fatal:" in line or "panic:" in line):
                bad.append(line)
            if "postfix/master[" in line and "warning:" in line:
                bad.append(line)
        return bad

    def test_unix_and_inet_services_answer(self):
        with unix_client(self.pf.socket_path("echo")) as s:
            pid, uid, echoed, cwd = talk(s, "pid", "uid", "hello world", "cwd")
        self.assertEqual(echoed, "hello world")
        self.assertEqual(int(uid), pwd.getpwnam("postfix").pw_uid)  # -u: mail_owner
        self.assertEqual(cwd, self.pf.queue_dir)                    # cwd = queue_directory
        status = proc_status(int(pid))
        postfix_uid = str(pwd.getpwnam("postfix").pw_uid)
        self.assertEqual(status["Uid"].split(), [postfix_uid] * 4)
        with socket.create_connection((self.addr, self.port), timeout=10) as s:
            inet_pid, echoed = talk(s, "pid", "over tcp")
        self.assertEqual(echoed, "over tcp")
        self.assertNotEqual(inet_pid, pid)  # another service, another process
        # Several clients in turn reuse the running event server.
        for i in range(5):
            with unix_client(self.pf.socket_path("echo")) as s:
                self.assertEqual(talk(s, "pid", f"n{i}"), [pid, f"n{i}"])
        # A single server (one client at a time) answers too.
        with unix_client(self.pf.socket_path("single")) as s:
            self.assertEqual(talk(s, "single server")[0], "single server")
        time.sleep(0.5)  # let master read the last status updates
        self.assertEqual(self.our_problems(), [])
        self.assertNotIn("throttling", self.log_text())

    def test_reload_and_stop_end_the_children_cleanly(self):
        with unix_client(self.pf.socket_path("echo")) as s:
            (old_pid,) = talk(s, "pid")
        old_pid = int(old_pid)
        self.pf.reload()  # master recreates the status channel: EOF on fd 5
        wait_until(lambda: not alive(old_pid), 10, message="the old child to exit after reload")
        with unix_client(self.pf.socket_path("echo")) as s:
            (new_pid,) = talk(s, "pid")
        self.assertNotEqual(int(new_pid), old_pid)
        # `postfix stop` (SIGTERM to master), not the fixture's stop(), which
        # would kill whatever is left in master's process group.
        self.pf.postfix("stop")
        wait_until(lambda: not alive(int(new_pid)), 10, message="the child to exit after stop")
        log = self.log_text()
        # A normal exit: no "exit status"/"killed by signal"/"bad command startup" from master.
        self.assertEqual(self.our_problems(), [])
        self.assertNotIn("exit status", log)
        self.assertNotIn("killed by signal", log)


class SkeletonStandAlone(unittest.TestCase):
    def setUp(self):
        require_root()
        # Only its config and queue directory (written by the constructor); master not started.
        self.pf = StockPostfix(services=[])
        self.env = dict(os.environ, MAIL_CONFIG=self.pf.config_dir)
        self.echod = os.path.join(bin_dir(), "psm-echod")

    def test_listeners_of_its_own(self):
        addr = server_address()
        port = free_port(addr)
        path = os.path.join(self.pf.dir, "echo.sock")
        proc = subprocess.Popen([self.echod, "-L", f"inet:{addr}:{port}", "-L", f"unix:{path}", "-o",
                                 "max_idle=2"], env=self.env, stdin=subprocess.DEVNULL)
        try:
            wait_until(lambda: os.path.exists(path), 10, message="the unix listener")
            with unix_client(path) as s:
                self.assertEqual(talk(s, "via unix"), ["via unix"])
            with socket.create_connection((addr, port), timeout=10) as s:
                self.assertEqual(talk(s, "via inet"), ["via inet"])
            self.assertEqual(proc.wait(timeout=10), 0)  # max_idle 2s, then a clean exit
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_stand_alone_stdin_stdout(self):
        r = subprocess.run([self.echod, "-S"], input=b"one\ntwo\nquit\n", env=self.env, capture_output=True,
                           timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"one\ntwo\n")

    def test_refuses_without_master_or_options(self):
        r = subprocess.run([self.echod, "-V", "-z"], env=self.env, capture_output=True, timeout=20,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"postfix/psm-echod: fatal: no transport type specified", r.stderr)
        r = subprocess.run([self.echod, "-V", "-y"], env=self.env, capture_output=True, timeout=20,
                           stdin=subprocess.DEVNULL)
        self.assertIn(b"fatal: invalid option: y", r.stderr)


if __name__ == "__main__":
    unittest.main()
