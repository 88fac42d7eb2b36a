"""A private Postfix-style instance run by *our* master (psmaster's
`master -c DIR -d`): the same layout and helpers as psmtest's StockPostfix
(conf/, queue/, data/, a private daemon/ directory of symlinks to the stock
daemons, maillog), only the supervisor differs. Our daemons are added to the
daemon directory with `use_ours(...)`.

    pf = OurMaster()                      # only the postlog service to begin with
    pf.add_service("echo", "unix", "psm-echod", maxproc="0")
    pf.use_ours("psm-echod")
    pf.start()                            # waits for "daemon started" and inet listeners
    ... pf.reload(), pf.stop(), pf.log.wait_for(...), pf.master_stderr() ...

Helpers for process checks (`children_of`, `alive`) and a file-dumping
fake daemon (`write_dumper`) live here too.
"""

import json
import os
import signal
import stat
import time

from psmtest import StockPostfix, env, procs

DUMPER = r'''#!/usr/bin/python3
# A fake daemon: records what master handed it, takes the pending client, exits.
import fcntl, json, os, socket, stat, sys
out = {"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd(), "uid": os.getuid()}
out["env"].pop("LC_CTYPE", None)  # Python's own locale coercion
fds = {}
for fd in sorted(int(x) for x in os.listdir("/proc/self/fd")):
    try:
        st = os.fstat(fd)
    except OSError:
        continue
    fl = fcntl.fcntl(fd, fcntl.F_GETFL)
    kind = ("socket" if stat.S_ISSOCK(st.st_mode) else "fifo" if stat.S_ISFIFO(st.st_mode)
            else "chr" if stat.S_ISCHR(st.st_mode) else "file")
    fds[str(fd)] = {"kind": kind, "nonblock": bool(fl & os.O_NONBLOCK), "acc": fl & 3,
                    "cloexec": bool(fcntl.fcntl(fd, fcntl.F_GETFD) & 1)}
    if kind == "socket":
        s = socket.socket(fileno=os.dup(fd))
        fds[str(fd)]["type"] = s.type
        s.close()
out["fds"] = fds
status = {}
with open("/proc/self/status") as f:
    for line in f:
        k, _, v = line.partition(":")
        if k in ("Umask", "SigIgn", "SigBlk"):
            status[k] = v.strip()
out["status"] = status
out["same_pgrp"] = os.getpgrp() == os.getpgid(os.getppid())
name = out["argv"][out["argv"].index("-n") + 1] if "-n" in out["argv"] else "dumper"
with open(os.path.join(os.environ["DUMP_DIR"], name.replace("/", "_") + ".json"), "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
# Take what made master fork, so that it does not fork again.
kind = out["argv"][out["argv"].index("-t") + 1]
try:
    if kind in ("unix", "inet", "pass"):
        os.set_blocking(6, True)
        c, _ = socket.socket(fileno=6).accept()
        c.close()
    elif kind == "unix-dgram":
        socket.socket(fileno=6).recv(100)
    else:
        os.read(6, 100)
except OSError:
    pass
'''


def write_dumper(path):
    with open(path, "w") as f:
        f.write(DUMPER)
    os.chmod(path, 0o755)


class OurMaster(StockPostfix):
    """StockPostfix's instance, supervised by our master. `keep_dist`: keep
    Debian's whole master.cf (cleanup, qmgr, pickup, ...); otherwise only
    the postlog service is there to begin with."""

    def __init__(self, *, keep_dist=False, master_args=(), **kw):
        super().__init__(**kw)
        if not keep_dist:
            self.services = {k: v for k, v in self.services.items() if k == ("postlog", "unix-dgram")}
        self.master_binary = env.our_binary("master")
        self.master_args = list(master_args)

    def master_argv(self, *extra):
        return [self.master_binary, "-c", self.config_dir, "-d", *self.master_args, *extra]

    def start(self, timeout=15.0, check=False):
        if self.running():
            return self
        if check:
            self.check()
        else:
            self.write_config()
        mark = self.log.mark()
        argv = self.master_argv()
        if self.dns is not None:
            argv = ["/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" /etc/resolv.conf && exec "$@"', self._resolv_conf_path(), *argv]
        self.proc = procs.Background(argv, name="master", workdir=self.dir, lifetime=self.lifetime)
        self.proc.start()
        try:
            self._wait_started(mark, timeout)
        except BaseException:
            diag = self.describe() + "\n--- master stderr ---\n" + self.master_stderr()
            self.stop()
            raise AssertionError("our master did not start\n" + diag) from None
        return self

    def master_stderr(self):
        try:
            with open(os.path.join(self.dir, "master.err"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def master_pid(self):
        return self.proc.pid if self.proc else None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def hup(self, timeout=10.0):
        """SIGHUP after writing the config; returns the log mark taken before."""
        self.write_config()
        mark = self.log.mark()
        self.proc.send_signal(signal.SIGHUP)
        self.log.wait_for(r"^reload -- version", "master", since=mark, timeout=timeout)
        return mark


def children_of(pid):
    """Live (non-zombie) direct children of pid."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        if len(fields) > 1 and fields[1] == str(pid).encode() and fields[0] != b"Z":
            out.append(int(name))
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rfind(b")") + 2:].split()[0] != b"Z"


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [a.decode() for a in f.read().split(b"\0")[:-1]]


def load_dump(path):
    with open(path) as f:
        return json.load(f)


def wait_file(path, timeout=10.0):
    procs.wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 0, timeout,
                     message=f"{path} was not written")
    time.sleep(0.05)  # the writer may still be flushing
    return path


def socket_mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)
