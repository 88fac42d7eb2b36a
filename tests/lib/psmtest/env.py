"""Where things are: environment variables, stock Postfix paths, and the
per-process run directory under /tmp that holds every fixture's files.

Each test process gets one run directory `/tmp/psmtest-<pid>-XXXX/` (mode
0755 so that Postfix daemons running as `postfix` can traverse it). It holds
an `owner` file (pid and start time of the test process) and a `pgids` file
listing the process groups started by the fixtures. When a test process is
killed hard (ctest timeout, SIGKILL), the next test process that creates a
run directory kills what the dead one left behind and removes its directory;
a detached reaper process (reaper.py) normally does that at once.
Set `PSM_KEEP_TMP=1` to keep run directories for post-mortem reading.
"""

import atexit
import os
import shutil
import signal
import tempfile
import threading
import unittest

STOCK_DAEMON_DIR = "/usr/lib/postfix/sbin"
STOCK_MASTER_CF = "/usr/share/postfix/master.cf.dist"
TMP_ROOT = "/tmp"
RUN_PREFIX = "psmtest-"


def bin_dir():
    """Directory of our built executables (`PSM_BIN_DIR`), or None."""
    value = os.environ.get("PSM_BIN_DIR")
    return value or None


def our_binary(name):
    """Path of our executable `name` in PSM_BIN_DIR; SkipTest if absent."""
    d = bin_dir()
    path = os.path.join(d, name) if d else None
    if not path or not os.access(path, os.X_OK):
        raise unittest.SkipTest(f"our {name} is not built (PSM_BIN_DIR={d})")
    return path


def source_dir():
    """Top of the source tree (`PSM_SOURCE_DIR`, else derived from this file)."""
    value = os.environ.get("PSM_SOURCE_DIR")
    if value:
        return value
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def keep_tmp():
    return os.environ.get("PSM_KEEP_TMP", "") not in ("", "0", "no")


def require_root():
    """Skip the calling test (class) unless running as root: private Postfix
    instances, port 53 and mount namespaces all need it."""
    if os.geteuid() != 0:
        raise unittest.SkipTest("needs root (private Postfix instance, port 53, mount namespace)")


def require_program(path):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise unittest.SkipTest(f"{path} is not installed")


def proc_start_time(pid):
    """Start time of a process in clock ticks since boot (field 22 of
    /proc/PID/stat), or None when it does not exist. Used to tell a pid from
    a reused one."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses.
    rest = data[data.rfind(b")") + 2:].split()
    try:
        return int(rest[19])
    except (IndexError, ValueError):
        return None


_lock = threading.Lock()
_run_dir = None
_counter = 0


def run_dir():
    """This process's run directory, created on first use."""
    global _run_dir
    with _lock:
        if _run_dir is None:
            _cleanup_stale()
            path = tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-", dir=TMP_ROOT)
            os.chmod(path, 0o755)
            with open(os.path.join(path, "owner"), "w") as f:
                f.write(f"{os.getpid()} {proc_start_time(os.getpid())}\n")
            if keep_tmp():
                open(os.path.join(path, "keep"), "w").close()
            _run_dir = path
            atexit.register(_remove_run_dir)
        return _run_dir


def fixture_dir(kind):
    """A new, empty directory `<run dir>/<kind>-<n>` (mode 0755)."""
    global _counter
    base = run_dir()
    with _lock:
        _counter += 1
        n = _counter
    path = os.path.join(base, f"{kind}-{n}")
    os.mkdir(path)
    os.chmod(path, 0o755)
    return path


def record_pgid(pgid):
    """Remember a process group so that a later run can kill it if this
    process dies without cleaning up."""
    path = os.path.join(run_dir(), "pgids")
    with _lock, open(path, "a") as f:
        f.write(f"{pgid} {proc_start_time(pgid)}\n")


def _remove_run_dir():
    if _run_dir and not keep_tmp():
        shutil.rmtree(_run_dir, ignore_errors=True)


def _owner_alive(path):
    try:
        with open(os.path.join(path, "owner")) as f:
            pid_s, start_s = f.read().split()
        return str(proc_start_time(int(pid_s))) == start_s
    except (OSError, ValueError):
        # No readable owner file: either being created right now or not ours.
        return True


def kill_recorded_groups(path):
    """SIGKILL the process groups listed in run dir `path` whose leader is
    still the process that was started (same start time)."""
    try:
        with open(os.path.join(path, "pgids")) as f:
            entries = [line.split() for line in f]
    except OSError:
        entries = []
    for entry in entries:
        try:
            pgid, start = int(entry[0]), entry[1]
        except (IndexError, ValueError):
            continue
        if str(proc_start_time(pgid)) == start:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except OSError:
                pass


def remove_run_dir(path):
    if not os.path.exists(os.path.join(path, "keep")):
        shutil.rmtree(path, ignore_errors=True)


def _cleanup_stale():
    """Kill process groups left by dead test processes; remove their dirs."""
    try:
        names = os.listdir(TMP_ROOT)
    except OSError:
        return
    for name in names:
        path = os.path.join(TMP_ROOT, name)
        if not name.startswith(RUN_PREFIX) or not os.path.isdir(path):
            continue
        if not os.path.exists(os.path.join(path, "owner")) or _owner_alive(path):
            continue
        kill_recorded_groups(path)
        remove_run_dir(path)
