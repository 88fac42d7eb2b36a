"""Background processes that cannot outlive the test.

`Background` starts a command in its own session/process group, with stdout
and stderr captured to files, a bounded lifetime (a watchdog kills the group
when it is exceeded), the parent-death signal set (the kernel kills the
leader if the test process dies), registration for stale-run cleanup
(`env.record_pgid`, acted on by the per-process reaper, see reaper.py) and
an `atexit` hook. `stop()` sends a signal, waits a
bounded time, then SIGKILLs whatever is left in the process group.

`run()` is `subprocess.run` with a mandatory timeout and captured output.
"""

import atexit
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

from . import env

_PR_SET_PDEATHSIG = 1
try:
    # Resolved in the parent so that the child only makes one plain call.
    _prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None


def _set_pdeathsig():
    # Runs in the child between fork and exec: keep it minimal. The signal
    # fires when the thread that forked exits, so start fixtures from the
    # test's own thread.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_live_lock = threading.Lock()
_live = set()
_reaper_fd = None


def _ensure_reaper():
    """Start the per-process reaper (see reaper.py) and the atexit hook, once.
    The atexit hook is registered after env's run-dir removal so that it
    runs first (atexit is LIFO)."""
    global _reaper_fd
    with _live_lock:
        if _reaper_fd is not None:
            return
        run_dir = env.run_dir()
        r, w = os.pipe()  # both ends non-inheritable: no daemon keeps w open
        lib = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        child_env = dict(os.environ, PYTHONPATH=lib, PYTHONDONTWRITEBYTECODE="1")
        try:
            p = subprocess.Popen([sys.executable, "-m", "psmtest.reaper", str(r), run_dir],
                                 pass_fds=(r,), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True, env=child_env)
            p.wait(timeout=10)
        finally:
            os.close(r)
        _reaper_fd = w
        atexit.register(stop_all)


def group_alive(pgid):
    """True while some process (possibly a zombie) is in process group pgid."""
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _group_has_live_members(pgid):
    """Like group_alive, but ignores zombies (which nobody may reap soon)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return group_alive(pgid)
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        # fields[0] = state, fields[2] = pgrp
        if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
            return True
    return False


def kill_group(pgid, sig=signal.SIGKILL):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Background:
    """One command running in its own process group.

    `workdir` receives `<name>.out` and `<name>.err`. `lifetime` (seconds)
    bounds how long it may run; None disables the watchdog (not advised).
    """

    def __init__(self, argv, *, name, workdir, lifetime=900.0, env_vars=None, cwd=None,
                 die_with_parent=True):
        self.argv = [str(a) for a in argv]
        self.name = name
        self.workdir = workdir
        self.lifetime = lifetime
        self.env_vars = env_vars
        self.cwd = cwd
        self.die_with_parent = die_with_parent
        self.stdout_path = os.path.join(workdir, f"{name}.out")
        self.stderr_path = os.path.join(workdir, f"{name}.err")
        self.proc = None
        self._watchdog = None
        self.killed_by_watchdog = False

    # -- life cycle -------------------------------------------------------
    def start(self):
        if self.proc is not None:
            raise RuntimeError(f"{self.name} already started")
        _ensure_reaper()
        full_env = None
        if self.env_vars is not None:
            full_env = dict(os.environ)
            full_env.update(self.env_vars)
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                cwd=self.cwd, env=full_env, start_new_session=True, close_fds=True,
                preexec_fn=_set_pdeathsig if self.die_with_parent else None)
        env.record_pgid(self.proc.pid)
        with _live_lock:
            _live.add(self)
        if self.lifetime is not None:
            self._watchdog = threading.Timer(self.lifetime, self._expire)
            self._watchdog.daemon = True
            self._watchdog.start()
        return self

    def _expire(self):
        if self.proc is not None and self.proc.poll() is None:
            self.killed_by_watchdog = True
            sys.stderr.write(f"psmtest: {self.name} (pid {self.pid}) exceeded its "
                             f"{self.lifetime:.0f}s lifetime, killing its process group\n")
            kill_group(self.pid)

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def pgid(self):
        return self.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def returncode(self):
        return self.proc.poll() if self.proc else None

    def send_signal(self, sig):
        if self.running():
            os.kill(self.pid, sig)

    def wait(self, timeout):
        """Wait for the leader to exit; its exit code, or None on timeout."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=5.0, sig=signal.SIGTERM, group_grace=2.0):
        """Signal the leader (`sig`), wait up to `timeout` for it to exit and
        up to `group_grace` for the rest of its group, then SIGKILL the group.
        Idempotent. Returns the leader's exit code."""
        if self.proc is None:
            return None
        if self._watchdog:
            self._watchdog.cancel()
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            if self.wait(timeout) is None:
                kill_group(self.pgid)
                self.wait(timeout)
        deadline = time.monotonic() + group_grace
        while _group_has_live_members(self.pgid) and time.monotonic() < deadline:
            time.sleep(0.02)
        kill_group(self.pgid)
        with _live_lock:
            _live.discard(self)
        return self.proc.returncode

    # -- captured output --------------------------------------------------
    def stdout_text(self):
        return _read(self.stdout_path)

    def stderr_text(self):
        return _read(self.stderr_path)

    def describe(self):
        """A few lines for an assertion message: status and output tails."""
        rc = self.returncode()
        status = "running" if rc is None else f"exited with {rc}"
        return (f"{self.name} (pid {self.pid}) {status}\n"
                f"--- stderr tail ---\n{_tail(self.stderr_text())}\n"
                f"--- stdout tail ---\n{_tail(self.stdout_text())}")

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _tail(text, lines=20):
    return "\n".join(text.splitlines()[-lines:])


def run(argv, *, timeout=30.0, check=True, input=None, env_vars=None, cwd=None):
    """Run a short command to completion (bounded); CompletedProcess with
    text stdout/stderr. Raises AssertionError with the output when `check`
    and the exit code is non-zero."""
    full_env = None
    if env_vars is not None:
        full_env = dict(os.environ)
        full_env.update(env_vars)
    argv = [str(a) for a in argv]
    res = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                         env=full_env, cwd=cwd, errors="replace")
    if check and res.returncode != 0:
        raise AssertionError(f"command {argv} exited with {res.returncode}\n"
                             f"stdout: {res.stdout}\nstderr: {res.stderr}")
    return res


def wait_until(predicate, timeout, interval=0.02, message=None):
    """Poll `predicate()` until it returns a true value (returned) or the
    timeout passes (AssertionError, or None when message is None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            if message is None:
                return None
            raise AssertionError(f"timed out after {timeout}s: {message}")
        time.sleep(interval)


def stop_all():
    """Stop every Background still registered (atexit hook)."""
    with _live_lock:
        items = list(_live)
    for item in items:
        try:
            item.stop(timeout=2.0, group_grace=1.0)
        except Exception:  # pragma: no cover - best effort at exit
            pass

