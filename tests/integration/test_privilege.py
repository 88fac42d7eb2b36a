"""Least privilege, as stock Postfix 3.7 (issue 8).

The same master.cf lines (postscreen inet, dnsblog and tlsproxy unix, a
public unix service, smtpd pass; unpriv "-", chroot "n" and then "y") run
twice: our daemons under our master, and stock's daemons under stock's
master. For every running child we read /proc/PID/status and /proc/PID/root:

- real, effective, saved and file-system uid and gid are all mail_owner's,
  the supplementary groups are mail_owner's (initgroups), no capability is
  left (CapEff, CapPrm, CapAmb all 0: postscreen cannot bind port 25 or open
  a root-only file after start), the root directory is the
  queue_directory when chrooted and "/" otherwise -- and all of it equals
  what stock's children show (and master's own ids and group list equal
  stock master's);
- with unpriv "n" they stay root, as stock's;
- the UNIX sockets master made under private/ and public/ and the
  postscreen cache file have stock's modes and owners.

And where stock refuses to run: mail_owner = root (or an unknown user)
makes stock's daemons and master exit 1 with
`fatal: file .../main.cf: parameter mail_owner: user root has privileged
user ID`; stock says it to syslog (it has no maillog_file client yet), so
the test runs each program in a mount namespace whose /dev/log is a socket
of ours, and compares that text with ours (ours writes it to maillog_file
directly; both places are read).
"""

import grp
import os
import pwd
import socket
import subprocess
import tempfile
import time
import unittest

from master_fixture import OurMaster, children_of, cmdline
from psmtest import SmtpClient, StockPostfix, env, procs, require_root

DAEMONS = ("postscreen", "dnsblog", "tlsproxy")
FILES = ("private/dnsblog", "private/tlsproxy", "private/smtpd", "public/pubdnsblog",
         "public/postlog", "../data/postscreen_cache.db")


def proc_facts(pid):
    status = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.split()
    return {
        "uid": status["Uid"], "gid": status["Gid"], "groups": sorted(status.get("Groups", [])),
        "CapEff": status["CapEff"], "CapPrm": status["CapPrm"], "CapAmb": status.get("CapAmb"),
        "root": os.readlink(f"/proc/{pid}/root"),
    }


def survey(kind, chroot, unpriv="-"):
    """Run postscreen/dnsblog/tlsproxy (ours under our master, or stock's
    under stock's) with chroot `chroot` and unpriv `unpriv`; make master start one of each and
    return {daemon: facts, "files": {path: (mode, uid, gid)}, "queue": dir}."""
    pf = OurMaster() if kind == "ours" else StockPostfix(services=[])
    addr, port = pf.add_postscreen()
    pf.add_service("pubdnsblog", "unix", "dnsblog", private="n", maxproc="0")
    for svc in pf.services.values():
        if svc.name != "postlog":
            svc.chroot, svc.unpriv = chroot, unpriv
    if kind == "ours":
        for daemon in DAEMONS:
            pf.use_ours(daemon)
    pf.start(timeout=45)
    try:
        client = SmtpClient(addr, port, timeout=30)
        client.connect()
        held = []
        for name in ("dnsblog", "tlsproxy"):
            s = socket.socket(socket.AF_UNIX)
            s.connect(pf.socket_path(name))
            held.append(s)

        def kids():
            out = {}
            for pid in children_of(pf.proc.pid):
                try:
                    argv = cmdline(pid)
                except OSError:
                    continue
                if argv and argv[0] in DAEMONS:
                    out[argv[0]] = pid
            return out

        procs.wait_until(lambda: set(DAEMONS) <= set(kids()), 30,
                         message=f"{kind} master did not start all of {DAEMONS}\n{pf.describe()}")
        # A fresh child may still be on its way to setuid(): wait until it is past it.
        # and is not inside a temporary switch of effective ids (postscreen
        # opens its cache as mail_owner even when it runs as root).
        def settled():
            for p in kids().values():
                facts = proc_facts(p)
                if len(set(facts["uid"])) != 1 or len(set(facts["gid"])) != 1:
                    return False
                if unpriv != "n" and facts["uid"][0] == "0":
                    return False
            return True

        procs.wait_until(settled, 30, message=f"{kind}: a child's ids did not settle\n{pf.describe()}")
        # The postscreen cache is created at start-up: wait for it too. The
        # file appears while postscreen is still inside its mail_owner
        # switch (opening the database), so the ids are checked again after.
        procs.wait_until(lambda: os.path.exists(pf.cache_path), 30, message="no postscreen cache")
        procs.wait_until(settled, 30, message=f"{kind}: a child's ids did not settle\n{pf.describe()}")
        result = {name: proc_facts(pid) for name, pid in kids().items()}
        result["master"] = proc_facts(pf.proc.pid)
        files = {}
        for rel in FILES:
            st = os.stat(os.path.normpath(os.path.join(pf.queue_dir, rel)))
            files[rel] = (oct(st.st_mode), st.st_uid, st.st_gid)
        result["files"] = files
        result["queue"] = pf.queue_dir
        client.close()
        for s in held:
            s.close()
        return result
    finally:
        pf.stop()


# Runs "$@" with /dev replaced by a tmpfs holding the usual device nodes
# (bind mounts of the real ones, reached through a mount point beside "$0",
# inside the run directory) and /dev/log = the socket "$0".
SYSLOG_NS = ('D=$(mktemp -d "$0.dev.XXXXXX") && mount --rbind /dev "$D" && mount -t tmpfs none /dev && '
             'for n in null zero full random urandom; do touch /dev/$n && mount --bind "$D/$n" /dev/$n; done && '
             'touch /dev/log && mount --bind "$0" /dev/log && exec "$@"')


class SyslogCatcher:
    """A /dev/log stand-in: a datagram socket collecting syslog messages."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="syslog-", dir=env.run_dir())
        self.path = os.path.join(self.dir, "log")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)

    def run(self, argv, environ, timeout=30):
        return subprocess.run(["/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c", SYSLOG_NS,
                               self.path, *argv], env=environ, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)

    def drain(self, wait=0.5):
        """Message texts (after `tag[pid]: `) received so far."""
        out = []
        self.sock.settimeout(wait)
        try:
            while True:
                data = self.sock.recv(65536).decode(errors="replace")
                out.append(data.split("]: ", 1)[1] if "]: " in data else data)
                self.sock.settimeout(0.1)
        except (socket.timeout, BlockingIOError):
            pass
        return out

    def close(self):
        self.sock.close()


class ChildrenDropPrivilegeAsStock(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        env.our_binary("master")
        cls.owner = pwd.getpwnam("postfix")
        cls.results = {}
        for chroot in ("n", "y"):
            for kind in ("stock", "ours"):
                cls.results[(kind, chroot)] = survey(kind, chroot)
        for kind in ("stock", "ours"):
            cls.results[(kind, "root")] = survey(kind, "n", unpriv="n")

    def expected_root(self, result, chroot):
        return os.path.realpath(result["queue"]) if chroot == "y" else "/"

    def test_ours_run_as_mail_owner_without_capabilities(self):
        uid, gid = str(self.owner.pw_uid), str(self.owner.pw_gid)
        groups = sorted(str(g) for g in os.getgrouplist("postfix", self.owner.pw_gid))
        for chroot in ("n", "y"):
            result = self.results[("ours", chroot)]
            for daemon in DAEMONS:
                with self.subTest(daemon=daemon, chroot=chroot):
                    facts = result[daemon]
                    self.assertEqual(facts["uid"], [uid] * 4)
                    self.assertEqual(facts["gid"], [gid] * 4)
                    self.assertEqual(facts["groups"], groups)
                    zero = "0" * 16
                    self.assertEqual((facts["CapEff"], facts["CapPrm"], facts["CapAmb"]),
                                     ([zero], [zero], [zero]))
                    self.assertEqual(facts["root"], self.expected_root(result, chroot))

    def test_same_identity_and_root_as_stock(self):
        for chroot in ("n", "y"):
            ours, stock = self.results[("ours", chroot)], self.results[("stock", chroot)]
            for daemon in DAEMONS + ("master",):
                with self.subTest(daemon=daemon, chroot=chroot):
                    mine = dict(ours[daemon], root=ours[daemon]["root"].replace(ours["queue"], "QUEUE"))
                    theirs = dict(stock[daemon], root=stock[daemon]["root"].replace(stock["queue"], "QUEUE"))
                    self.assertEqual(mine, theirs)

    def test_unpriv_n_keeps_root_as_stock(self):
        ours, stock = self.results[("ours", "root")], self.results[("stock", "root")]
        for daemon in DAEMONS:
            with self.subTest(daemon=daemon):
                self.assertEqual(ours[daemon]["uid"], ["0"] * 4)
                self.assertEqual(ours[daemon]["root"], "/")
                self.assertEqual(ours[daemon], stock[daemon])
        # The cache is still made as mail_owner's.
        self.assertEqual(ours["files"], stock["files"])

    def test_socket_and_cache_modes_as_stock(self):
        for chroot in ("n", "y"):
            ours, stock = self.results[("ours", chroot)]["files"], self.results[("stock", chroot)]["files"]
            with self.subTest(chroot=chroot):
                self.assertEqual(ours, stock)
                # And what that is, so that a change in both is noticed too.
                owner = (self.owner.pw_uid, self.owner.pw_gid)
                for rel in FILES[:-1]:
                    self.assertEqual(ours[rel], (oct(0o140666), *owner), rel)
                self.assertEqual(ours["../data/postscreen_cache.db"], (oct(0o100600), *owner))


class RefuseToRunAsRootAsStock(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        env.our_binary("master")
        cls.pf = StockPostfix(services=[])
        cls.syslog = SyslogCatcher()
        cls.addClassCleanup(cls.syslog.close)

    def outcome(self, argv, maillog_mark):
        environ = {"MAIL_CONFIG": self.pf.config_dir, "PATH": "/usr/bin:/bin"}
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if name in os.environ:
                environ[name] = os.environ[name]
        res = self.syslog.run(argv, environ)
        said = self.syslog.drain() + self.pf.log.texts(since=maillog_mark)
        return res.returncode, [t for t in said if t.startswith("fatal:")]

    def check_refused(self, owner, words):
        self.pf.set(mail_owner=owner)
        self.pf.write_config()
        fatal = f"fatal: file {self.pf.config_dir}/main.cf: parameter mail_owner: {words}"
        programs = [(d, ["-n", d, "-t", "unix", "-u"] + (["-z"] if d != "postscreen" else ["-l"]))
                    for d in DAEMONS] + [("master", ["-c", self.pf.config_dir, "-d"])]
        for program, args in programs:
            with self.subTest(program=program, mail_owner=owner):
                mark = self.pf.log.mark()
                stock = self.outcome([os.path.join(env.STOCK_DAEMON_DIR, program), *args], mark)
                self.assertEqual(stock, (1, [fatal]))  # the reference itself
                mark = self.pf.log.mark()
                ours = self.outcome([env.our_binary(program), *args], mark)
                self.assertEqual(ours, stock)

    def test_mail_owner_root(self):
        self.check_refused("root", "user root has privileged user ID")

    def test_mail_owner_unknown(self):
        self.check_refused("psm-no-such-user", "unknown user name value: psm-no-such-user")


if __name__ == "__main__":
    unittest.main()
