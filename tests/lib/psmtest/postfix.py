"""A private stock Postfix 3.7 instance in a temp dir, for side-by-side tests.

    pf = StockPostfix(dns=nsd)                 # resolver of the instance -> nsd
    pf.set(postscreen_greet_wait="2s", postscreen_dnsbl_sites="dnsbl.test")
    addr, port = pf.add_postscreen()           # postscreen + smtpd pass + dnsblog + tlsproxy
    pf.use_ours("dnsblog")                     # optional: our dnsblog under stock master
    pf.start()
    ... SmtpClient(addr, port) ...; pf.log.wait_for(r"PASS NEW", "postscreen")
    pf.queue()                                  # messages held in the queue
    pf.stop()

Everything lives under `<run dir>/postfix-N/`: `conf/` (main.cf, master.cf,
maps), `queue/`, `data/` (owned by postfix; the postscreen cache),
`daemon/` (a private daemon_directory of symlinks to the stock daemons, so
one command can be pointed at our binary) and `maillog` (written by the
`postlog` service). `/etc/postfix`, port 25 and the system instance are
never touched: master is started directly (`master -c DIR -d`) in its own
process group, optionally inside a private mount namespace whose
/etc/resolv.conf names a test DNS server, so that stock dnsblog and smtpd's
reverse lookups use it.

Accepted mail stays in the queue: every recipient triggers an access-map
HOLD (`smtpd_relay_restrictions = check_client_access static:HOLD, ...`,
`relay_domains = static:ALL`), and every transport is `discard:` in case
something is released. `postqueue -j` then lists it (queue_name "hold").

Config files are written with their mtime one minute in the past (Postfix
waits ~2 s for a main.cf or map younger than a second), so start, reload
and restart take a fraction of a second.
"""

import grp
import json
import os
import pwd
import shutil
import re
import signal
import time

from . import env, maillog, netalloc, procs, smtp

MASTER = os.path.join(env.STOCK_DAEMON_DIR, "master")
POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTMAP = "/usr/sbin/postmap"
POSTQUEUE = "/usr/sbin/postqueue"
POSTSUPER = "/usr/sbin/postsuper"
UNSHARE = "/usr/bin/unshare"

STOCK_IMPORT_ENVIRONMENT = ("MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C "
                            "POSTLOG_SERVICE POSTLOG_HOSTNAME")
# Let sanitizer settings reach our daemons when they run under stock master.
SANITIZER_ENVIRONMENT = "ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS"

# Debian's master.cf services that need external programs or users.
_SKIPPED_DIST_SERVICES = {"maildrop", "uucp", "ifmail", "bsmtp", "scalemail-backend", "mailman"}

_FALLBACK_MASTER_CF = """\
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
defer     unix  -       -       y       -       0       bounce
trace     unix  -       -       y       -       0       bounce
verify    unix  -       -       y       -       1       verify
flush     unix  n       -       y       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
showq     unix  n       -       y       -       -       showq
error     unix  -       -       y       -       -       error
retry     unix  -       -       y       -       -       error
discard   unix  -       -       y       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       y       -       -       lmtp
anvil     unix  -       -       y       -       1       anvil
scache    unix  -       -       y       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


# Queue subdirectories: (name, owned by postfix, group postdrop, mode).
_QUEUE_LAYOUT = [(name, True, False, 0o700) for name in (
    "active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming",
    "private", "saved", "trace")] + [
    ("maildrop", True, True, 0o730), ("public", True, True, 0o710), ("pid", False, False, 0o755)]

# `postfix check` runs once per test process (it takes ~0.6 s).
_checked_once = False


class Service:
    """One master.cf entry. `args` are the command's arguments (strings);
    `options` become `-o name=value` continuation lines."""

    def __init__(self, name, type, command, *, private="-", unpriv="-", chroot="n",
                 wakeup="-", maxproc="-", args=(), options=None):
        self.name, self.type, self.command = name, type, command
        self.private, self.unpriv, self.chroot = private, unpriv, chroot
        self.wakeup, self.maxproc = str(wakeup), str(maxproc)
        self.args = list(args)
        self.options = dict(options or {})

    @property
    def key(self):
        return (self.name, self.type)

    @property
    def inet_endpoint(self):
        """(address, port) of an inet service with an explicit host, else None."""
        if self.type != "inet":
            return None
        m = re.fullmatch(r"\[?([0-9.]+)\]?:(\d+)", self.name)
        return (m.group(1), int(m.group(2))) if m else None

    def text(self):
        head = " ".join([self.name, self.type, self.private, self.unpriv, self.chroot,
                         self.wakeup, self.maxproc, self.command, *self.args])
        return "\n".join([head] + [f"  -o {k}={v}" for k, v in self.options.items()])

    @classmethod
    def parse(cls, text):
        """A master.cf entry (first line plus continuation lines)."""
        tokens = text.split()
        if len(tokens) < 8:
            raise ValueError(f"bad master.cf entry: {text!r}")
        name, type_, private, unpriv, chroot, wakeup, maxproc, command, *rest = tokens
        args, options = [], {}
        i = 0
        while i < len(rest):
            if rest[i] == "-o" and i + 1 < len(rest) and "=" in rest[i + 1]:
                k, _, v = rest[i + 1].partition("=")
                options[k] = v
                i += 2
            else:
                args.append(rest[i])
                i += 1
        return cls(name, type_, command, private=private, unpriv=unpriv, chroot=chroot,
                   wakeup=wakeup, maxproc=maxproc, args=args, options=options)


def _dist_services():
    try:
        with open(env.STOCK_MASTER_CF) as f:
            text = f.read()
    except OSError:
        text = _FALLBACK_MASTER_CF
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and entries:
            entries[-1] += " " + line.strip()
        else:
            entries.append(line)
    services = []
    for entry in entries:
        svc = Service.parse(entry)
        if svc.name in _SKIPPED_DIST_SERVICES or svc.type == "inet":
            continue  # inet: the port-25 smtpd line
        svc.chroot = "n"
        services.append(svc)
    return services


def _age_file(path, previous=None):
    """Set mtime about a minute back, but never equal to a previous value
    (Postfix notices changed tables by mtime)."""
    now = time.time()
    target = now - 60
    if previous is not None and previous >= target:
        target = min(previous + 1, now - 2)
    os.utime(path, (target, target))
    return target


class StockPostfix:
    """One private stock Postfix instance. Parameters:

    * `myhostname`: also the maillog host field (its first label).
    * `dns`: a DnsServer / BlackholeDns / SlowDnsProxy (anything with
      `.address` and `.port == 53`) or an address string: master runs in a
      private mount namespace whose /etc/resolv.conf names it.
    * `resolv_options`: the `options` line of that resolv.conf.
    * `params`: main.cf parameters added to (and overriding) the defaults.
    * `hold_mail`: keep accepted mail in the hold queue (default True).
    * `lifetime`: seconds after which the whole instance is killed.
    * `services`: None for Debian's default services (see _dist_services);
      else master.cf holds only `postlog` (the maillog needs it) plus these
      entries (master.cf text, chroot as written, or Service objects).

    The constructor already writes main.cf and master.cf: `config_dir` can
    serve as `MAIL_CONFIG` for a daemon run without master.
    """

    def __init__(self, *, myhostname="stock.psm.test", dns=None,
                 resolv_options="timeout:1 attempts:2", params=None, hold_mail=True,
                 lifetime=900.0, name="postfix", services=None):
        env.require_root()
        env.require_program(MASTER)
        self.dir = env.fixture_dir(name)
        self.config_dir = os.path.join(self.dir, "conf")
        self.queue_dir = os.path.join(self.dir, "queue")
        self.data_dir = os.path.join(self.dir, "data")
        self.daemon_dir = os.path.join(self.dir, "daemon")
        self.maillog_path = os.path.join(self.dir, "maillog")
        self.log = maillog.Maillog(self.maillog_path)
        self.dns = dns
        self.resolv_options = resolv_options
        self.lifetime = lifetime
        self.proc = None
        self._mtimes = {}
        self.postscreen_endpoint = None
        self.main = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "daemon_directory": self.daemon_dir,
            "maillog_file": self.maillog_path,
            "maillog_file_prefixes": self.dir,
            "myhostname": myhostname,
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.1/32",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            "import_environment": f"{STOCK_IMPORT_ENVIRONMENT} {SANITIZER_ENVIRONMENT}",
            "relay_domains": "static:ALL",
            "smtpd_relay_restrictions": (
                "check_client_access static:HOLD, reject_unauth_destination" if hold_mail
                else "reject_unauth_destination"),
            "default_transport": "discard:psmtest",
            "relay_transport": "discard:psmtest",
            "local_transport": "discard:psmtest",
            "virtual_transport": "discard:psmtest",
        }
        self.main.update({k: str(v) for k, v in (params or {}).items()})
        self.services = {}
        if services is None:
            for svc in _dist_services():
                self.services[svc.key] = svc
        else:
            self.add_service("postlog", "unix-dgram", "postlogd", private="n", maxproc="1")
            for entry in services:
                if isinstance(entry, Service):
                    self.services[entry.key] = entry
                else:
                    self.add_master_line(entry)
        self._prepare_dirs()

    # -- layout -------------------------------------------------------------
    def _prepare_dirs(self):
        for d in (self.config_dir, self.queue_dir, self.data_dir, self.daemon_dir):
            os.mkdir(d)
            os.chmod(d, 0o755)
        # The layout `postfix check` (post-install create-missing) would make,
        # made here because post-install needs seconds for it.
        owner = pwd.getpwnam("postfix").pw_uid
        postdrop = grp.getgrnam("postdrop").gr_gid
        os.chown(self.data_dir, owner, 0)
        os.chmod(self.data_dir, 0o700)
        for name, uid, gid, mode in _QUEUE_LAYOUT:
            path = os.path.join(self.queue_dir, name)
            os.mkdir(path)
            os.chown(path, owner if uid else 0, postdrop if gid else 0)
            os.chmod(path, mode)
        for name in os.listdir(env.STOCK_DAEMON_DIR):
            os.symlink(os.path.join(env.STOCK_DAEMON_DIR, name), os.path.join(self.daemon_dir, name))
        self.write_config()

    @property
    def cache_path(self):
        """The postscreen cache file (btree), per the default cache map."""
        return os.path.join(self.data_dir, "postscreen_cache.db")

    def clear_cache(self):
        """Delete the postscreen cache (do it while stopped: a running
        postscreen keeps using the file it has open)."""
        try:
            os.unlink(self.cache_path)
        except FileNotFoundError:
            pass

    # -- main.cf / master.cf ------------------------------------------------
    def set(self, **params):
        """Set main.cf parameters (written at start/reload/write_config)."""
        for k, v in params.items():
            self.main[k] = str(v)
        return self

    def unset(self, *names):
        for n in names:
            self.main.pop(n, None)
        return self

    def add_service(self, name, type, command, **kw):
        """Add or replace the master.cf entry (name, type); see Service."""
        svc = Service(name, type, command, **kw)
        self.services[svc.key] = svc
        return svc

    def add_master_line(self, text):
        """Add or replace an entry given as master.cf text (chroot as written)."""
        svc = Service.parse(" ".join(text.split()))
        self.services[svc.key] = svc
        return svc

    def remove_service(self, name, type):
        self.services.pop((name, type), None)

    def service(self, name, type):
        return self.services[(name, type)]

    def add_postscreen(self, address=None, port=None, *, options=None, pass_service=True,
                       dnsblog=True, tlsproxy=True, command="postscreen"):
        """postscreen on address:port (default: a fresh 127.B.1.k and a free
        port), plus `smtpd pass`, `dnsblog` and `tlsproxy` as in
        POSTSCREEN_README. Returns (address, port)."""
        address = address or netalloc.server_address()
        port = port or netalloc.free_port(address)
        self.add_service(f"{address}:{port}", "inet", command, private="n", maxproc="1",
                         options=options)
        if pass_service:
            self.add_service("smtpd", "pass", "smtpd")
        if dnsblog:
            self.add_service("dnsblog", "unix", "dnsblog", maxproc="0")
        if tlsproxy:
            self.add_service("tlsproxy", "unix", "tlsproxy", maxproc="0")
        self.postscreen_endpoint = (address, port)
        return address, port

    def add_smtpd(self, address=None, port=None, *, options=None, command="smtpd"):
        """A plain smtpd listener (no postscreen). Returns (address, port)."""
        address = address or netalloc.server_address()
        port = port or netalloc.free_port(address)
        self.add_service(f"{address}:{port}", "inet", command, private="n", options=options)
        return address, port

    def use_daemon(self, command, path):
        """Make master.cf command `command` run the executable `path` (a
        symlink in the private daemon_directory)."""
        link = os.path.join(self.daemon_dir, command)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(path, link)

    def use_ours(self, command, binary=None):
        """Run our build's `binary` (default: same name) from PSM_BIN_DIR for
        master.cf command `command`. SkipTest when it is not built."""
        self.use_daemon(command, env.our_binary(binary or command))

    def use_stock(self, command):
        self.use_daemon(command, os.path.join(env.STOCK_DAEMON_DIR, command))

    def socket_path(self, name, private=None):
        """Path of the UNIX-domain socket of service `name`: under
        `queue/private/` or `queue/public/`. `private=None` follows the
        master.cf private column of the `unix` (or `pass`) entry `name`
        (`n` = public), private when there is none."""
        if private is None:
            svc = self.services.get((name, "unix")) or self.services.get((name, "pass"))
            private = svc is None or svc.private != "n"
        return os.path.join(self.queue_dir, "private" if private else "public", name)

    @property
    def main_cf_path(self):
        return os.path.join(self.config_dir, "main.cf")

    @property
    def master_cf_path(self):
        return os.path.join(self.config_dir, "master.cf")

    def _write(self, path, text):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
        self._mtimes[path] = _age_file(path, self._mtimes.get(path))

    def write_config(self):
        """Write main.cf and master.cf now (start/reload do it too)."""
        main = "# psmtest private instance\n" + "".join(
            f"{k} = {v}\n" for k, v in self.main.items())
        master = "# psmtest private instance\n" + "".join(
            svc.text() + "\n" for svc in self.services.values())
        self._write(self.main_cf_path, main)
        self._write(self.master_cf_path, master)

    def write_map(self, name, content, type="texthash"):
        """Write a lookup table `conf/<name>` from text or a dict (key ->
        value) and return its `type:path` name. Indexed types (hash, btree,
        cdb) are compiled with postmap."""
        if isinstance(content, dict):
            content = "".join(f"{k} {v}\n" for k, v in content.items())
        path = os.path.join(self.config_dir, name)
        self._write(path, content)
        if type in ("hash", "btree", "cdb", "lmdb"):
            self.write_config()
            procs.run([POSTMAP, "-c", self.config_dir, f"{type}:{path}"], timeout=20)
            db = path + {"hash": ".db", "btree": ".db", "cdb": ".cdb", "lmdb": ".lmdb"}[type]
            self._mtimes[db] = _age_file(db, self._mtimes.get(db))
        return f"{type}:{path}"

    def postconf(self, *args):
        """Run `postconf -c CONF args...`; its stdout."""
        return procs.run([POSTCONF, "-c", self.config_dir, *args], timeout=20).stdout

    def postfix(self, *args, timeout=30.0, check=True):
        """Run the stock `postfix -c CONF args...` command (e.g. `stop`,
        `status`, `flush`); a CompletedProcess. `start()` is the way to start
        master: `postfix start` would detach it from this fixture."""
        return procs.run([POSTFIX, "-c", self.config_dir, *args], timeout=timeout, check=check)

    def listeners(self):
        return [svc.inet_endpoint for svc in self.services.values() if svc.inet_endpoint]

    # -- life cycle -----------------------------------------------------------
    def running(self):
        return self.proc is not None and self.proc.running()

    def check(self):
        """`postfix -c DIR check` (validates the configuration and the queue
        layout); raises on failure, returns its output (warnings)."""
        res = self._run_check()
        if res.returncode != 0:
            raise AssertionError(f"postfix check failed:\n{res.stdout}{res.stderr}")
        return res.stdout + res.stderr

    def _run_check(self):
        # postfix-script warns about (and slowly walks) every symlink in a
        # private daemon_directory: check with the stock one instead.
        saved = self.main["daemon_directory"]
        self.main["daemon_directory"] = env.STOCK_DAEMON_DIR
        try:
            self.write_config()
            res = procs.run([POSTFIX, "-c", self.config_dir, "check"], timeout=60, check=False)
        finally:
            self.main["daemon_directory"] = saved
            self.write_config()
        return res

    def _resolv_conf_path(self):
        dns = self.dns
        if isinstance(dns, str):
            address, port = dns, 53
        else:
            address, port = dns.address, dns.port
        if port != 53:
            raise ValueError(f"the system resolver needs port 53, DNS server is on {port}")
        path = os.path.join(self.dir, "resolv.conf")
        text = f"nameserver {address}\n"
        if self.resolv_options:
            text += f"options {self.resolv_options}\n"
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, timeout=15.0, check=None):
        """Write the config, run `postfix check` (`check=None`: only for the
        first instance started by this process), start master
        and wait (bounded) until it logged `daemon started` and every inet
        listener is up. Returns self."""
        if self.running():
            return self
        global _checked_once
        if check or (check is None and not _checked_once):
            self.check()
            _checked_once = True
        else:
            self.write_config()
        mark = self.log.mark()
        argv = [MASTER, "-c", self.config_dir, "-d"]
        if self.dns is not None:
            if not os.path.isfile("/etc/resolv.conf"):
                raise AssertionError("/etc/resolv.conf is not a regular file; cannot bind over it")
            argv = [UNSHARE, "-m", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" /etc/resolv.conf && exec "$@"',
                    self._resolv_conf_path(), *argv]
        self.proc = procs.Background(argv, name="master", workdir=self.dir,
                                     lifetime=self.lifetime)
        self.proc.start()
        try:
            self._wait_started(mark, timeout)
        except BaseException:
            diag = self._diagnose_start_failure()
            self.stop()
            raise AssertionError("stock Postfix did not start\n" + diag) from None
        return self

    def _diagnose_start_failure(self):
        """master's fatal errors before postlogd runs go to syslog, which
        does not exist here: collect the likely causes ourselves."""
        notes = []
        if self.proc and not self.proc.running():
            for address, port in self.listeners():
                if netalloc.is_listening(address, port):
                    notes.append(f"{address}:{port} is already in use by another process")
            res = self._run_check()
            if res.returncode != 0 or res.stdout or res.stderr:
                notes.append(f"postfix check (rc {res.returncode}): {res.stdout}{res.stderr}")
            res = procs.run([POSTCONF, "-c", self.config_dir, "-n"], timeout=20, check=False)
            if res.stderr:
                notes.append(f"postconf warnings: {res.stderr}")
        return "\n".join(notes + [self.describe()])

    def _wait_started(self, mark, timeout):
        deadline = time.monotonic() + timeout

        def started():
            if not self.proc.running():
                raise AssertionError("master exited")
            return self.log.lines("master", r"daemon started -- version", since=mark)

        procs.wait_until(started, timeout, message="master did not log 'daemon started'")
        self._wait_listeners(max(0.5, deadline - time.monotonic()))

    def _wait_listeners(self, timeout):
        deadline = time.monotonic() + timeout
        for address, port in self.listeners():
            if not netalloc.wait_listening(address, port, max(0.0, deadline - time.monotonic()),
                                           alive=self.running):
                raise AssertionError(f"nothing listening on {address}:{port}")

    def stop(self, timeout=10.0):
        """Stop master (SIGTERM, bounded wait) and kill whatever is left in
        its process group. Idempotent."""
        if self.proc is not None:
            self.proc.stop(timeout=timeout, sig=signal.SIGTERM)

    def restart(self, timeout=15.0):
        self.stop()
        self.proc = None
        return self.start(timeout)

    def reload(self, timeout=10.0):
        """Write the config, `postfix reload` (SIGHUP to master) and wait for
        master's `reload` line and the inet listeners."""
        if not self.running():
            raise AssertionError("reload: master is not running")
        self.write_config()
        mark = self.log.mark()
        self.proc.send_signal(signal.SIGHUP)
        self.log.wait_for(r"^reload -- version", "master", since=mark, timeout=timeout)
        self._wait_listeners(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- queue ------------------------------------------------------------------
    def queue(self, timeout=10.0):
        """Queued messages as dicts from `postqueue -j` (queue_name,
        queue_id, sender, recipients [{address, ...}], ...)."""
        res = procs.run([POSTQUEUE, "-c", self.config_dir, "-j"], timeout=timeout)
        return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]

    def postqueue_p(self, timeout=10.0):
        """The text of `postqueue -p` (what `mailq` shows)."""
        return procs.run([POSTQUEUE, "-c", self.config_dir, "-p"], timeout=timeout).stdout

    def wait_queued(self, queue_id=None, count=1, timeout=5.0):
        """Wait until message `queue_id` (or at least `count` messages) is in
        the queue; returns the matching entries."""
        def found():
            items = self.queue()
            if queue_id is not None:
                items = [i for i in items if i.get("queue_id") == queue_id]
                return items
            return items if len(items) >= count else None

        what = f"message {queue_id}" if queue_id else f"{count} message(s)"
        return procs.wait_until(found, timeout, interval=0.1,
                                message=f"{what} not in the stock queue")

    def clear_queue(self):
        procs.run([POSTSUPER, "-c", self.config_dir, "-d", "ALL"], timeout=20)

    def cache_entries(self):
        """The postscreen cache as {client address: value} (`postmap -s` of
        a copy of the file; values are `stamp;stamp;...`, see protocols.md)."""
        if not os.path.exists(self.cache_path):
            return {}
        # postmap would wait for postscreen's lock: read a copy instead.
        copy = os.path.join(self.dir, "cache-copy")
        shutil.copyfile(self.cache_path, copy + ".db")
        try:
            res = procs.run([POSTMAP, "-c", self.config_dir, "-s", f"btree:{copy}"], timeout=10)
        finally:
            os.unlink(copy + ".db")
        out = {}
        for line in res.stdout.splitlines():
            key, _, value = line.partition("\t")
            out[key] = value.strip()
        return out

    # -- diagnostics ------------------------------------------------------------
    def problems(self, since=0):
        """Maillog lines after `since` that are warnings, fatal errors or
        panics (for "nothing went wrong" assertions)."""
        return [line for line in self.log.lines(since=since)
                if line.severity in ("warning", "error", "fatal", "panic")]

    def describe(self):
        """Master status, its stderr and the maillog tail (for failures)."""
        head = self.proc.describe() if self.proc else "master not started"
        return f"{head}\n--- maillog tail ({self.maillog_path}) ---\n{self.log.tail(40)}"

    def client(self, **kw):
        """An unconnected SmtpClient for the postscreen endpoint."""
        return smtp.SmtpClient(*self.postscreen_endpoint, **kw)
