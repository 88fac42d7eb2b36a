"""README command (1), `bash proto/demo`, run the way a user runs it.

The demo script is started with PSM_BIN_DIR (use the daemons of this build:
no package installation, no build, no install) and the PSM_DEMO_* variables
documented in its header (a state directory of this test and loopback
addresses of this test process instead of 127.0.0.1:10025 and friends).
Everything else is the script's own: the private stock Postfix instance, NSD
with dnsbl.demo.test, our master on the bundled configuration.

Checked, as a user trying the printed commands would see it:
- the script says it is ready and prints the swaks commands for its address;
- a clean client (swaks) gets PASS NEW, stock smtpd queues its message in
  the private instance (postqueue shows it, on hold);
- the same client again: PASS OLD, queued again;
- the listed client is rejected at RCPT TO with postscreen's DNSBL reply;
- SIGINT to the script's process group (Ctrl-C) stops everything it
  started: no process of the demo (master, postscreen, dnsblog, NSD, stock
  master and its daemons) survives, and the script exits with status 0;
- running it again on the same state directory works: the postscreen cache
  and the queue survived, so the clean client is PASS OLD at once.
"""

import json
import os
import re
import signal
import unittest

from psmtest import (Maillog, client_address, dns_address, env, free_port, procs,
                     require_root, server_address, swaks)

ZONE = "dnsbl.demo.test"
READY = "psmaster demo is running"


def demo_processes(state):
    """Live processes that belong to the demo in `state`: a command-line
    argument under it (the masters' -c, NSD's -c) or MAIL_CONFIG under it
    (every Postfix or psmaster daemon)."""
    prefix = state.rstrip("/") + "/"
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            if stat[stat.rfind(b")") + 2:].split()[0] == b"Z":
                continue
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue
        mail_config = [e for e in environ if e.startswith(b"MAIL_CONFIG=" + prefix.encode())]
        if mail_config or any(a.startswith(prefix) for a in argv):
            found[int(name)] = " ".join(argv)
    return found


class Demo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        for program in ("/usr/sbin/nsd", "/usr/bin/drill", "/usr/bin/swaks", "/usr/sbin/postfix"):
            env.require_program(program)
        cls.bin_dir = os.path.dirname(env.our_binary("master"))
        for daemon in ("postscreen", "dnsblog", "tlsproxy"):
            env.our_binary(daemon)
        cls.script = os.path.join(env.source_dir(), "proto", "demo")
        cls.state = env.fixture_dir("demo")
        cls.addr = server_address()
        cls.port = free_port(cls.addr)
        cls.dns = dns_address()
        cls.listed = client_address()
        cls.clean = client_address()
        cls.log = Maillog(os.path.join(cls.state, "psmaster", "maillog"))
        cls.runs = 0

    def tearDown(self):
        # Whatever a failed run left behind must not outlive the test.
        for state in (self.state, getattr(self, "other_state", None)):
            for pid in demo_processes(state) if state else ():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def start_demo(self, state=None, addr=None, port=None, dns=None, until=READY):
        """Start the script; return once its output has `until`."""
        state = state or self.state
        Demo.runs += 1
        demo = procs.Background(
            ["/bin/bash", self.script], name=f"demo-{self.runs}", workdir=state, lifetime=600,
            env_vars={"PSM_BIN_DIR": self.bin_dir, "PSM_DEMO_STATE": state,
                      "PSM_DEMO_LISTEN": f"{addr or self.addr}:{port or self.port}",
                      "PSM_DEMO_DNS": f"{dns or self.dns}:53", "PSM_DEMO_LISTED": self.listed})
        demo.start()
        self.addCleanup(demo.stop, 20.0, signal.SIGTERM)

        def ready():
            if not demo.running():
                raise AssertionError(f"the demo exited before {until!r}\n" + demo.describe())
            return until in demo.stdout_text()

        if not procs.wait_until(ready, 120, interval=0.05):
            self.fail(f"the demo did not print {until!r} within 120 s\n" + demo.describe())
        # NSD and the stock master run in sessions of their own (setsid):
        # psmtest's reaper kills their groups too if this test is killed.
        for pid in demo_processes(state):
            try:
                if os.getpgid(pid) == pid:
                    env.record_pgid(pid)
            except ProcessLookupError:
                pass
        return demo

    def stop_with_ctrl_c(self, demo, state=None):
        """What Ctrl-C does in a terminal: SIGINT to the foreground process
        group (the script and our master)."""
        state = state or self.state
        self.assertTrue(demo.running(), demo.describe())
        os.killpg(demo.pgid, signal.SIGINT)
        rc = demo.wait(60)
        self.assertIsNotNone(rc, "the demo did not exit within 60 s of SIGINT\n" + demo.describe())
        out = demo.stdout_text()
        # The script waits for everything before it exits: nothing may be left.
        procs.wait_until(lambda: not demo_processes(state), 2)
        left = demo_processes(state)
        self.assertEqual(left, {}, "processes of the demo survived SIGINT\n" + demo.describe())
        self.assertNotIn("still running after the stop", out + demo.stderr_text())
        self.assertIn("demo: stopped", out)
        self.assertEqual(rc, 0, demo.describe())

    def send(self, source):
        try:
            return swaks(self.addr, self.port, source=source, to="user@example.com", timeout=40)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{self.describe()}") from None

    def describe(self):
        """The tails of both maillogs, for failure messages."""
        text = ""
        for who in ("psmaster", "postfix"):
            log = Maillog(os.path.join(self.state, who, "maillog"))
            text += f"--- {who}/maillog tail ---\n{log.tail(30)}\n"
        return text

    def queued(self):
        """Queue ids and queues of the private stock instance (postqueue -j)."""
        res = procs.run(["/usr/sbin/postqueue", "-c", os.path.join(self.state, "postfix", "conf"),
                         "-j"], timeout=30)
        entries = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
        return {e["queue_id"]: e for e in entries}

    def assert_delivered_to_stock(self, result, verdict, since):
        self.assertEqual(result.returncode, 0, result.output + self.describe())
        self.assertIsNotNone(result.queue_id, result.output + self.describe())
        self.log.wait_for(rf"^{verdict} \[{re.escape(self.clean)}\]:\d+$", "postscreen",
                          since=since, timeout=15)
        procs.wait_until(lambda: result.queue_id in self.queued(), 15,
                         message=f"{result.queue_id} is not in the stock queue")
        entry = self.queued()[result.queue_id]
        self.assertEqual(entry["queue_name"], "hold")
        self.assertEqual([r["address"] for r in entry["recipients"]], ["user@example.com"])

    def test_demo_as_a_user_runs_it(self):
        demo = self.start_demo()
        out = demo.stdout_text()
        server = f"{self.addr}:{self.port}"
        self.assertIn(f"swaks --server {server} --to user@example.com", out)
        self.assertIn(f"swaks --server {server} --local-interface {self.listed} --to user@example.com",
                      out)
        self.assertIn(f"postqueue -c {self.state}/postfix/conf -p", out)
        running = demo_processes(self.state)
        commands = " | ".join(running.values())
        for what in ("psmaster/conf", "postfix/conf", "nsd/nsd.conf"):
            self.assertIn(what, commands)

        # A clean client: greet wait, PASS NEW, stock smtpd queues its mail.
        mark = self.log.mark()
        self.assert_delivered_to_stock(self.send(self.clean), "PASS NEW", mark)
        # Again: PASS OLD.
        mark = self.log.mark()
        self.assert_delivered_to_stock(self.send(self.clean), "PASS OLD", mark)

        # The listed client: the bundled config enforces the DNSBL (550 at RCPT).
        mark = self.log.mark()
        before = set(self.queued())
        result = self.send(self.listed)
        reply = f"550 5.7.1 Service unavailable; client [{self.listed}] blocked using {ZONE}"
        self.assertIn(reply, result.server_lines, result.output)
        self.assertIsNone(result.queue_id, result.output)
        self.log.wait_for(rf"^DNSBL rank 2 for \[{re.escape(self.listed)}\]:\d+$", "postscreen",
                          since=mark, timeout=15)
        self.log.wait_for(rf"^addr {re.escape(self.listed)} listed by domain {re.escape(ZONE)} "
                          r"as 127\.0\.0\.2$", "dnsblog", since=mark)
        self.assertEqual(set(self.queued()), before)

        self.stop_with_ctrl_c(demo)

        # Twice: the same state directory, the cache and the queue stay.
        queue = set(self.queued())
        demo = self.start_demo()
        mark = self.log.mark()
        self.assert_delivered_to_stock(self.send(self.clean), "PASS OLD", mark)
        self.assertTrue(queue < set(self.queued()))
        self.stop_with_ctrl_c(demo)


    def test_ctrl_c_while_starting(self):
        """Ctrl-C once NSD is up, while the stock instance is being set up
        (postfix check, which ignores SIGINT, or its master starting):
        everything started so far is stopped."""
        self.other_state = env.fixture_dir("demo")
        addr = server_address()
        demo = self.start_demo(self.other_state, addr, free_port(addr), dns_address(),
                               until="demo: nsd on ")
        self.assertIn("nsd/nsd.conf", " | ".join(demo_processes(self.other_state).values()))
        self.stop_with_ctrl_c(demo, self.other_state)


if __name__ == "__main__":
    unittest.main()
