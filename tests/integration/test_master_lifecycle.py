"""Our master's life cycle: start-up log line and lock files as stock's,
a second master on the same configuration refused (and `master -t`),
SIGHUP reloads without refusing a connection while clients keep
connecting (stock smtpd as an inet service, psm-echod as a unix service),
added/removed/changed services, a broken master.cf or main.cf on reload is
logged with file and line and the running configuration stays, SIGTERM
stops every child (no orphans), -w waits for start-up, -e exits."""

import os
import pwd
import signal
import socket
import subprocess
import threading
import time
import unittest

from master_fixture import OurMaster, alive, children_of, socket_mode
from psmtest import StockPostfix, netalloc, procs, require_root

VERSION_RE = r"\d+\.\d+\.\d+"


def echo_once(path, line="ping", timeout=10):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(path)
        f = s.makefile("rwb")
        f.write(line.encode() + b"\n")
        f.flush()
        return f.readline().decode().rstrip("\n")


def run_master(*argv, timeout=30):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)


class StartAndLocks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.pf = OurMaster()
        cls.addClassCleanup(cls.pf.stop)
        cls.pf.use_ours("psm-echod")
        cls.pf.add_service("echo", "unix", "psm-echod", maxproc="0")
        cls.pf.start()

    def test_started_line_and_lock_files_as_stock(self):
        line = self.pf.log.wait_for(rf"^daemon started -- version {VERSION_RE}, configuration (\S+)$", "master",
                                    since=0)
        self.assertEqual(line.match.group(1), self.pf.config_dir)
        pid = self.pf.master_pid()
        pid_file = os.path.join(self.pf.queue_dir, "pid", "master.pid")
        lock_file = os.path.join(self.pf.data_dir, "master.lock")
        for path, owner in ((pid_file, 0), (lock_file, pwd.getpwnam("postfix").pw_uid)):
            with self.subTest(path=path):
                with open(path, "rb") as f:
                    self.assertEqual(f.read(), b"%32d\n" % pid)  # 33 bytes, as stock
                st = os.stat(path)
                self.assertEqual(st.st_mode & 0o7777, 0o600)   # 0644 under umask 077
                self.assertEqual(st.st_uid, owner)

    def test_second_master_refused_and_test_mode(self):
        r = run_master(*self.pf.master_argv())
        self.assertEqual(r.returncode, 1)
        self.assertIn("postfix/master: fatal: open lock file pid/master.pid: unable to set exclusive lock: "
                      "Resource temporarily unavailable\n", r.stderr)
        self.assertTrue(self.pf.running())
        self.assertEqual(echo_once(os.path.join(self.pf.queue_dir, "private", "echo")), "ping")
        # -t: exit 1 while a master holds the lock (stock's meaning).
        self.assertEqual(run_master(self.pf.master_binary, "-c", self.pf.config_dir, "-t").returncode, 1)

    def test_stock_master_refused_too(self):
        # Same queue and data directories: stock master must not start beside ours.
        r = run_master("/usr/lib/postfix/sbin/master", "-c", self.pf.config_dir, "-d", "-t")
        self.assertEqual(r.returncode, 1)

    def test_usage_errors_as_stock(self):
        r = run_master(self.pf.master_binary, "-x")
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith(f"{self.pf.master_binary}: invalid option -- 'x'\n"), r.stderr)
        self.assertIn("fatal: usage: master [-c config_dir] [-D (debug)] [-d (don't detach from terminal)] "
                      "[-e exit_time] [-t (test)] [-v] [-w (wait for initialization)]", r.stderr)
        r = run_master(self.pf.master_binary, "-t", "-w")
        self.assertIn("fatal: the -t and -w options cannot be used together", r.stderr)


class FreshStateDirectory(unittest.TestCase):
    """The bundled configuration's layout on a fresh install: the pid file
    goes into data_directory, which does not exist yet."""

    def test_master_creates_the_state_directory_before_its_pid_file(self):
        require_root()
        pf = OurMaster()
        self.addCleanup(pf.stop)
        state = os.path.join(pf.dir, "state")
        pf.set(data_directory=state, process_id_directory=state)
        pf.use_ours("psm-echod")
        pf.add_service("echo", "unix", "psm-echod", maxproc="0")
        pf.start()
        st = os.stat(state)
        self.assertEqual((st.st_mode & 0o7777, st.st_uid), (0o700, pwd.getpwnam("postfix").pw_uid))
        for name in ("master.pid", "master.lock"):
            with open(os.path.join(state, name), "rb") as f:
                self.assertEqual(f.read(), b"%32d\n" % pf.master_pid())


class TestModeWithoutMaster(unittest.TestCase):
    def test_t_without_a_running_master(self):
        require_root()
        pf = OurMaster()
        pf.write_config()
        r = run_master(pf.master_binary, "-c", pf.config_dir, "-t")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(pf.queue_dir, "pid", "master.pid")))


class Reload(unittest.TestCase):
    def setUp(self):
        require_root()
        self.pf = OurMaster(params={"smtpd_banner": "$myhostname ESMTP reload-test",
                                    "smtpd_peername_lookup": "no",  # no DNS
                                    "smtpd_client_connection_count_limit": "0"})  # no anvil
        self.addCleanup(self.pf.stop)
        self.pf.use_ours("psm-echod")
        self.addr = netalloc.server_address()
        self.port = netalloc.free_port(self.addr)
        self.pf.add_service(f"{self.addr}:{self.port}", "inet", "smtpd", private="n", maxproc="3")
        self.pf.add_service("proxymap", "unix", "proxymap")  # smtpd's local_recipient_maps
        self.pf.add_service("echo", "unix", "psm-echod", maxproc="0")
        self.pf.add_service("gone", "unix", "psm-echod", maxproc="0")
        self.pf.start()
        self.echo = os.path.join(self.pf.queue_dir, "private", "echo")

    def smtp_session(self):
        with socket.create_connection((self.addr, self.port), timeout=10) as s:
            f = s.makefile("rwb")
            banner = f.readline()
            f.write(b"QUIT\r\n")
            f.flush()
            bye = f.readline()
            return banner, bye

    def test_reload_refuses_no_connection(self):
        stop = threading.Event()
        # Completion times. The loops run until the reloads are over (stop),
        # bounded by 60 s and by a count no machine reaches in that time: a
        # fast one did 3,000 SMTP sessions before the last reload.
        done = {"smtp": [], "echo": []}
        failed = {"smtp": [], "echo": []}

        def smtp_loop():
            deadline = time.monotonic() + 60
            while not stop.is_set() and time.monotonic() < deadline and len(done["smtp"]) < 100_000:
                try:
                    banner, bye = self.smtp_session()
                    if banner.startswith(b"220 ") and bye.startswith(b"221 "):
                        done["smtp"].append(time.monotonic())
                    else:
                        failed["smtp"].append((banner, bye))
                except OSError as e:
                    failed["smtp"].append(repr(e))

        def echo_loop():
            deadline = time.monotonic() + 60
            while not stop.is_set() and time.monotonic() < deadline and len(done["echo"]) < 1_000_000:
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.settimeout(10)
                        s.connect(self.echo)  # must never be refused
                        try:
                            s.sendall(b"x\n")
                            s.recv(10)
                        except (BrokenPipeError, ConnectionResetError):
                            # An old child that took the connection just as
                            # the reload reached it exits without serving it
                            # (an event server without a drain, as stock's):
                            # the daemon's business, not a refused connect.
                            pass
                    done["echo"].append(time.monotonic())
                except OSError as e:
                    failed["echo"].append(repr(e))

        threads = [threading.Thread(target=smtp_loop), threading.Thread(target=echo_loop)]
        for t in threads:
            t.start()
        try:
            procs.wait_until(lambda: done["smtp"] and done["echo"], 20, message="the client loops did not start")
            first_reload = time.monotonic()
            for i in range(3):
                self.pf.services.pop(("gone", "unix"), None)
                self.pf.add_service(f"new{i}", "unix", "psm-echod", maxproc="0")
                self.pf.hup()
                time.sleep(0.3)
            last_reload = time.monotonic()
            # Both loops go on after the last reload.
            procs.wait_until(lambda: any(t > last_reload for t in done["smtp"]) and
                             any(t > last_reload for t in done["echo"]), 20,
                             message="the client loops stopped after the reloads")
        finally:
            stop.set()
            for t in threads:
                t.join(40)
        self.assertEqual(failed, {"smtp": [], "echo": []})
        self.assertTrue(any(t < first_reload for t in done["smtp"]))
        self.assertTrue(any(first_reload < t < last_reload for t in done["smtp"] + done["echo"]))
        self.assertEqual(echo_once(os.path.join(self.pf.queue_dir, "private", "new2")), "ping")
        # The removed service's socket stays but nobody listens (stock).
        gone = os.path.join(self.pf.queue_dir, "private", "gone")
        self.assertTrue(os.path.exists(gone))
        with self.assertRaises(ConnectionRefusedError):
            echo_once(gone)
        self.assertEqual([l.raw for l in self.pf.log.lines("master") if l.severity != "info"], [])

    def test_reload_updates_kept_services_and_old_children_leave(self):
        (old_pid,) = [echo_once(self.echo, "pid")]
        self.pf.services[("echo", "unix")].args = ["extra-arg"]
        self.pf.hup()
        procs.wait_until(lambda: not alive(int(old_pid)), 10, message="the old child did not leave")
        new_pid = echo_once(self.echo, "pid")
        self.assertNotEqual(new_pid, old_pid)
        with open(f"/proc/{new_pid}/cmdline", "rb") as f:
            self.assertEqual(f.read().split(b"\0")[-2], b"extra-arg")

    def test_changed_listener_is_reopened(self):
        new_port = netalloc.free_port(self.addr)
        self.pf.remove_service(f"{self.addr}:{self.port}", "inet")
        self.pf.add_service(f"{self.addr}:{new_port}", "inet", "smtpd", private="n", maxproc="3")
        self.pf.hup()
        procs.wait_until(lambda: netalloc.is_listening(self.addr, new_port), 5, message="new port")
        procs.wait_until(lambda: not netalloc.is_listening(self.addr, self.port), 5, message="old port closed")
        self.port = new_port
        banner, _ = self.smtp_session()
        self.assertTrue(banner.startswith(b"220 "))

    def test_broken_config_on_reload_keeps_running(self):
        mark = self.pf.log.mark()
        with open(self.pf.master_cf_path, "a") as f:
            f.write("broken unix - - n - 0\n")  # no command
        os.kill(self.pf.master_pid(), signal.SIGHUP)
        err = self.pf.log.wait_for(r"^error: (.*)$", "master", since=mark)
        with open(self.pf.master_cf_path) as f:
            n = len(f.read().splitlines())
        self.assertEqual(err.match.group(1), f"{self.pf.master_cf_path}: line {n}: missing \"command\" field")
        self.pf.log.wait_for(r"^warning: configuration reload failed -- keeping the running configuration$",
                             "master", since=mark)
        self.assertTrue(self.pf.running())
        self.assertEqual(echo_once(self.echo), "ping")
        banner, _ = self.smtp_session()
        self.assertTrue(banner.startswith(b"220 "))
        # main.cf errors too.
        self.pf.write_config()  # master.cf is fine again
        mark = self.pf.log.mark()
        with open(self.pf.main_cf_path, "a") as f:
            f.write("service_throttle_time = 7x\n")
        os.kill(self.pf.master_pid(), signal.SIGHUP)
        self.pf.log.wait_for(r"^error: parameter service_throttle_time: bad time value or unit: 7x$", "master",
                             since=mark)
        self.assertEqual(echo_once(self.echo), "ping")
        # A listener that cannot be opened (port in use) is a reload error as well.
        with socket.socket() as blocker:
            blocker.bind((self.addr, 0))
            blocker.listen()
            busy = blocker.getsockname()[1]
            self.pf.add_service(f"{self.addr}:{busy}", "inet", "smtpd", private="n")
            mark = self.pf.hup()
            self.pf.log.wait_for(rf"^error: bind {self.addr} port {busy}: Address already in use$", "master",
                                 since=mark)
            self.assertEqual(echo_once(self.echo), "ping")


def listen_inode(address, port):
    """Inode of the listening TCP socket on address:port (from /proc/net/tcp)."""
    want = "%08X:%04X" % (int.from_bytes(socket.inet_aton(address), "little"), port)
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == want and fields[3] == "0A":
                return int(fields[9])
    return None


class ReloadListeners(unittest.TestCase):
    """Listeners that change on reload are re-opened; an address that stays
    keeps its socket (no refused connection), also when it moves between
    master.cf entries."""

    def setUp(self):
        require_root()
        self.first = netalloc.server_address()
        self.other = netalloc.server_address()
        self.port = netalloc.free_port(self.first)
        self.pf = OurMaster(params={"inet_interfaces": self.first})
        self.addCleanup(self.pf.stop)
        self.pf.use_ours("psm-echod")

    def echo_tcp(self, address):
        with socket.create_connection((address, self.port), timeout=10) as s:
            s.sendall(b"tcp\n")
            return s.makefile().readline().strip()

    def test_interfaces_change_keeps_the_address_that_stays(self):
        self.pf.add_service(str(self.port), "inet", "psm-echod", private="n", maxproc="0")
        self.pf.start()
        before = listen_inode(self.first, self.port)
        self.assertIsNotNone(before)
        self.pf.set(inet_interfaces=f"{self.first}, {self.other}")
        self.pf.hup()
        procs.wait_until(lambda: netalloc.is_listening(self.other, self.port), 5, message="new address")
        self.assertEqual(listen_inode(self.first, self.port), before)  # the same socket
        self.assertEqual(self.echo_tcp(self.first), "tcp")
        self.assertEqual(self.echo_tcp(self.other), "tcp")
        self.pf.set(inet_interfaces=self.other)
        self.pf.hup()
        procs.wait_until(lambda: not netalloc.is_listening(self.first, self.port), 5, message="old address")
        self.assertEqual(self.echo_tcp(self.other), "tcp")
        self.assertEqual([l.raw for l in self.pf.log.lines("master") if l.severity != "info"], [])

    def test_address_moves_to_another_entry(self):
        self.pf.add_service(f"{self.first}:{self.port}", "inet", "psm-echod", private="n", maxproc="0")
        self.pf.start()
        self.assertEqual(self.echo_tcp(self.first), "tcp")
        # Same address and port, written as a bare port: another service,
        # whose socket can only be bound once the old one is closed.
        self.pf.remove_service(f"{self.first}:{self.port}", "inet")
        self.pf.add_service(str(self.port), "inet", "psm-echod", private="n", maxproc="0")
        mark = self.pf.hup()
        time.sleep(0.3)
        self.assertEqual(self.echo_tcp(self.first), "tcp")
        self.pf.log.assert_absent(r"^(error|warning):", "master", since=mark, wait=0.2)


class Stop(unittest.TestCase):
    def test_sigterm_stops_every_child(self):
        require_root()
        pf = OurMaster(params={"smtpd_peername_lookup": "no", "smtpd_client_connection_count_limit": "0"})
        self.addCleanup(pf.stop)
        pf.use_ours("psm-echod")
        addr = netalloc.server_address()
        port = netalloc.free_port(addr)
        pf.add_service(f"{addr}:{port}", "inet", "smtpd", private="n")
        pf.add_service("proxymap", "unix", "proxymap")
        pf.add_service("echo", "unix", "psm-echod", maxproc="0")
        pf.add_service("single", "unix", "psm-echod", maxproc="0", args=["single"])
        pf.start()
        echo_once(os.path.join(pf.queue_dir, "private", "echo"))
        held = socket.socket(socket.AF_UNIX)
        held.connect(os.path.join(pf.queue_dir, "private", "single"))
        held.sendall(b"x\n")
        held.recv(10)
        smtp = socket.create_connection((addr, port), timeout=10)
        smtp.recv(100)
        master = pf.master_pid()
        kids = children_of(master)
        self.assertGreaterEqual(len(kids), 4, kids)  # proxymap, echo, single, smtpd (+ postlogd)
        mark = pf.log.mark()
        os.kill(master, signal.SIGTERM)
        self.assertEqual(pf.proc.wait(10), -signal.SIGTERM)
        pf.log.wait_for(r"^terminating on signal 15$", "master", since=mark)
        procs.wait_until(lambda: not any(alive(k) for k in kids), 5,
                         message=f"children left behind: {[k for k in kids if alive(k)]}")
        held.close()
        smtp.close()


class WaitAndExit(unittest.TestCase):
    def test_w_waits_for_start_up_then_e_exits(self):
        require_root()
        pf = OurMaster()
        pf.use_ours("psm-echod")
        pf.add_service("echo", "unix", "psm-echod", maxproc="0")
        pf.write_config()
        t0 = time.monotonic()
        r = run_master(pf.master_binary, "-c", pf.config_dir, "-w", "-e", "3")
        self.assertEqual(r.returncode, 0, r.stderr)
        # The foreground process returned once the background master was ready.
        self.assertTrue(pf.log.lines("master", r"^daemon started"))
        with open(os.path.join(pf.queue_dir, "pid", "master.pid")) as f:
            pid = int(f.read())
        self.addCleanup(lambda: alive(pid) and os.kill(pid, signal.SIGKILL))
        self.assertEqual(echo_once(os.path.join(pf.queue_dir, "private", "echo")), "ping")
        self.assertEqual(os.getsid(pid), pid)  # detached: its own session
        procs.wait_until(lambda: not alive(pid), 10, message="-e 3 did not end the master")
        self.assertGreaterEqual(time.monotonic() - t0, 2.5)
        pf.log.wait_for(r"^master exit time has arrived$", "master")

    def test_w_reports_a_failed_start_up(self):
        require_root()
        pf = OurMaster()
        pf.add_service("broken", "bogus", "x")
        pf.write_config()
        r = run_master(pf.master_binary, "-c", pf.config_dir, "-w")
        self.assertEqual(r.returncode, 1)
        self.assertIn("fatal: daemon initialization failure -- see logs for details", r.stderr)


if __name__ == "__main__":
    unittest.main()
