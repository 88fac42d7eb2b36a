"""A small private stock Postfix 3.7 instance for protocol-level tests:
only the services a test lists (plus postlogd), its own config, queue and
data directories under a temp dir, every service with chroot 'n', logging
to DIR/maillog. Started with `postfix -c DIR start`, stopped with
`postfix -c DIR stop` (always, also when a test fails).

    with MinimalStock(["dnsblog unix - - n - 0 dnsblog"]) as pf:
        pf.socket("dnsblog")            # DIR/queue/private/dnsblog
        pf.log_text()
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import time

POSTFIX = "/usr/sbin/postfix"
STOCK_DAEMON_DIR = "/usr/lib/postfix/sbin"
STOCK_MASTER = os.path.join(STOCK_DAEMON_DIR, "master")


def bin_dir():
    path = os.environ.get("PSM_BIN_DIR")
    if not path:
        raise RuntimeError("PSM_BIN_DIR is not set (run the tests through ctest)")
    return path


def usable():
    """Why the tests can't run here, or None."""
    if os.geteuid() != 0:
        return "needs root (a private Postfix instance)"
    if not os.path.exists(STOCK_MASTER) or not os.path.exists(POSTFIX):
        return "stock Postfix is not installed"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "no postfix user"
    return None


class MinimalStock:
    def __init__(self, services, params=None):
        self.dir = tempfile.mkdtemp(prefix="psm-stock-")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.maillog = os.path.join(self.dir, "maillog")
        # A private daemon_directory: symlinks to the stock daemons, plus
        # whatever link_daemon() adds (master.cf commands are looked up here).
        self.daemons = os.path.join(self.dir, "daemon")
        for d in (self.conf, self.queue, self.data, self.daemons):
            os.mkdir(d)
        for name in os.listdir(STOCK_DAEMON_DIR):
            os.symlink(os.path.join(STOCK_DAEMON_DIR, name), os.path.join(self.daemons, name))
        postfix = pwd.getpwnam("postfix")
        os.chown(self.data, postfix.pw_uid, postfix.pw_gid)
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "daemon_directory": self.daemons,
            "maillog_file": self.maillog,
            "maillog_file_prefixes": "/var, /dev/stdout, " + self.dir,
            "inet_interfaces": "loopback-only",
            "mynetworks": "127.0.0.1/32",
            "myhostname": "stock.psm.test",
            "import_environment": "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE "
                                  "POSTLOG_HOSTNAME ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS",
        }
        main.update(params or {})
        self.params = main
        self.services = ["postlog unix-dgram n - n - 1 postlogd"] + list(services)
        self.started = False

    # ---- configuration

    def link_daemon(self, name, path):
        """Makes `name` in master.cf run the program at path."""
        link = os.path.join(self.daemons, name)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(path, link)

    def write_config(self):
        for name, text in (("main.cf", "".join(f"{k} = {v}\n" for k, v in self.params.items())),
                           ("master.cf", "\n".join(self.services) + "\n")):
            path = os.path.join(self.conf, name)
            with open(path, "w") as f:
                f.write(text)
            past = time.time() - 60  # Postfix waits for files younger than a second
            os.utime(path, (past, past))

    def postfix(self, *args, timeout=30):
        return subprocess.run([POSTFIX, "-c", self.conf, *args], capture_output=True, text=True,
                              timeout=timeout)

    # ---- life cycle

    def start(self):
        self.write_config()
        r = self.postfix("check")
        if r.returncode != 0:
            raise RuntimeError("postfix check: " + r.stderr)
        r = self.postfix("start")
        if r.returncode != 0:
            raise RuntimeError("postfix start: " + r.stderr + r.stdout)
        self.started = True
        self.wait_for(lambda: "daemon started" in self.log_text(), 10, "master start-up")

    def reload(self):
        self.write_config()
        r = self.postfix("reload")
        if r.returncode != 0:
            raise RuntimeError("postfix reload: " + r.stderr)

    def stop(self):
        if self.started:
            pid = self.master_pid()
            self.postfix("stop")
            self.started = False
            if pid:
                self.wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10, "master exit")

    def cleanup(self):
        self.stop()
        if not os.environ.get("PSM_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.cleanup()

    # ---- inspection

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def socket(self, name, private=True):
        return os.path.join(self.queue, "private" if private else "public", name)

    def log_text(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    @staticmethod
    def wait_for(predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")
