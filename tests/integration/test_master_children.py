"""What a child gets from our master is what it gets from stock master 3.7:
the same master.cf (unix, inet, pass, fifo and unix-dgram services with
different maxproc/unpriv/chroot/arguments) runs under stock master and then
under ours, with a fake daemon that records its command line, environment,
descriptors (3/4 flow pipe, 5 status channel, 6 listener: kind, blocking
mode, access mode, close-on-exec), umask, signal mask and dispositions and
cwd. The records must be equal, instance paths aside. argv[0] is checked on
a real daemon (/proc/PID/cmdline of psm-echod)."""

import json
import os
import re
import socket
import unittest

from master_fixture import OurMaster, alive, cmdline, load_dump, wait_file, write_dumper
from psmtest import StockPostfix, netalloc, procs, require_root

SERVICES = [
    # name, type, kwargs
    ("dump1", "unix", dict(maxproc="1")),
    (None, "inet", dict(private="n", maxproc="5", args=["-o", "{ x = a b }", "arg2"])),
    ("dumppass", "pass", dict(maxproc="3")),
    ("dumpfifo", "fifo", dict(maxproc="0", unpriv="n")),
    ("dumpdg", "unix-dgram", dict(chroot="y")),
]


def trigger(pf, name, type_, inet):
    """Make master fork one child for the service."""
    if type_ == "inet":
        s = socket.create_connection(inet, timeout=5)
        return s
    path = os.path.join(pf.queue_dir, "private", name)
    if type_ == "fifo":
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, b"x")
        os.close(fd)
        return None
    if type_ == "unix-dgram":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b"x", path)
        return s
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def normalized(dump, instance_dir):
    d = json.loads(json.dumps(dump).replace(instance_dir, "DIR"))
    gen = d["env"].pop("GENERATION", None)
    assert gen is not None and re.fullmatch(r"[0-7]+", gen), gen
    return d


class ChildrenLikeStock(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.address = netalloc.server_address()
        cls.port = netalloc.free_port(cls.address)
        cls.records = {}
        for label, factory in (("stock", StockPostfix), ("ours", OurMaster)):
            pf = factory()
            cls.addClassCleanup(pf.stop)
            dump_dir = os.path.join(pf.dir, "dumps")
            os.mkdir(dump_dir)
            pf.set(import_environment=pf.main["import_environment"] + " DUMP_DIR=" + dump_dir)
            if label == "stock":  # only what the comparison needs
                pf.services = {k: v for k, v in pf.services.items() if k == ("postlog", "unix-dgram")}
            dumper = os.path.join(pf.dir, "dumper.py")
            write_dumper(dumper)
            pf.use_daemon("dumper", dumper)
            for name, type_, kw in SERVICES:
                pf.add_service(name or f"{cls.address}:{cls.port}", type_, "dumper", **kw)
            pf.start()
            keep = []
            for name, type_, kw in SERVICES:
                keep.append(trigger(pf, name, type_, (cls.address, cls.port)))
            found = {}
            for name, type_, kw in SERVICES:
                key = (name or f"{cls.address}:{cls.port}").replace("/", "_")
                found[name or "inet"] = normalized(load_dump(wait_file(os.path.join(dump_dir, key + ".json"))),
                                                   pf.dir)
            for s in keep:
                if s:
                    s.close()
            pf.stop()
            # Same port for both masters: wait until the stock one let it go.
            procs.wait_until(lambda: not netalloc.is_listening(cls.address, cls.port), 10,
                             message="the inet listener did not close")
            cls.records[label] = found

    def test_same_as_stock_for_every_service_type(self):
        for name in ["dump1", "inet", "dumppass", "dumpfifo", "dumpdg"]:
            with self.subTest(service=name):
                self.assertEqual(self.records["ours"][name], self.records["stock"][name])

    def test_what_stock_gives(self):
        # The comparison above is only as good as these facts (protocols.md §5).
        r = self.records["ours"]
        self.assertEqual(r["dump1"]["argv"], ["-l", "-n", "dump1", "-t", "unix", "-d", "-u"])
        self.assertEqual(r["inet"]["argv"], ["-n", f"{self.address}:{self.port}", "-t", "inet", "-d", "-u",
                                             "-o", "x = a b", "arg2"])
        self.assertEqual(r["dumppass"]["argv"], ["-n", "dumppass", "-t", "pass", "-d", "-u", "-o", "stress="])
        self.assertEqual(r["dumpfifo"]["argv"], ["-z", "-n", "dumpfifo", "-t", "fifo", "-d"])
        self.assertEqual(r["dumpdg"]["argv"], ["-n", "dumpdg", "-t", "unix-dgram", "-d", "-u", "-c"])
        fds = r["dump1"]["fds"]
        self.assertEqual(sorted(fds, key=int), ["0", "1", "2", "3", "4", "5", "6"])
        self.assertEqual((fds["3"]["kind"], fds["3"]["acc"], fds["3"]["nonblock"]), ("fifo", 0, True))
        self.assertEqual((fds["4"]["kind"], fds["4"]["acc"], fds["4"]["nonblock"]), ("fifo", 1, True))
        self.assertEqual((fds["5"]["kind"], fds["5"]["nonblock"]), ("socket", False))
        self.assertEqual((fds["6"]["kind"], fds["6"]["nonblock"]), ("socket", True))
        self.assertFalse(any(fd["cloexec"] for fd in fds.values()))
        self.assertEqual(r["dumpfifo"]["fds"]["6"]["kind"], "fifo")
        self.assertEqual(r["dump1"]["status"]["Umask"], "0077")
        self.assertEqual(r["dump1"]["status"]["SigBlk"], "0000000000000000")
        self.assertEqual(r["dump1"]["cwd"], "DIR/queue")
        env = r["dump1"]["env"]
        self.assertEqual(env["MAIL_CONFIG"], "DIR/conf")
        self.assertEqual(env["MAIL_LOGTAG"], "postfix")
        self.assertEqual(env["POSTLOG_SERVICE"], "DIR/queue/public/postlog")
        self.assertEqual(env["LANG"], "C")


class Argv0AsWritten(unittest.TestCase):
    def test_argv0_is_the_command_as_written(self):
        require_root()
        pf = OurMaster()
        self.addCleanup(pf.stop)
        pf.use_ours("psm-echod")
        os.symlink(os.path.join(pf.daemon_dir, "psm-echod"), os.path.join(pf.daemon_dir, "echo-alias"))
        pf.add_service("echo", "unix", "./echo-alias", maxproc="0")
        pf.start()
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(os.path.join(pf.queue_dir, "private", "echo"))
            s.sendall(b"pid\n")
            pid = int(s.makefile().readline())
            self.assertTrue(alive(pid))
            self.assertEqual(cmdline(pid), ["./echo-alias", "-z", "-n", "echo", "-t", "unix", "-d", "-u"])


if __name__ == "__main__":
    unittest.main()
