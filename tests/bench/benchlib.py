"""Helpers shared by the benchmark drivers tests/bench/run and tests/bench/soak:
running psm-loadgen and parsing its RESULT line, /proc memory figures, and
stopping a private instance whose postscreen outlives its master."""

import os
import resource
import shutil
import signal
import subprocess
import sys
import time


def log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def two_cpus():
    return shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2


def ep_str(ep):
    return f"{ep[0]}:{ep[1]}"


def pinned(argv, cpu, pin):
    """argv run on CPU `cpu` (taskset) when `pin`."""
    return (["taskset", "-c", str(cpu)] if pin else []) + [str(a) for a in argv]


class ToolServer:
    """A bench tool serving in the background (psm-loadgen --serve,
    psm-dnsblog-load --delay-proxy, psm-pass-floor): started with `argv`, it
    prints LISTENING once it serves; stopped (SIGTERM) at the end of the
    `with`, its RESULT line, if it prints one, is in `result`."""

    def __init__(self, argv, what):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "LISTENING":
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise RuntimeError(f"{what} did not start")
        self.result = {}

    def cpu(self):
        """CPU seconds the tool used so far."""
        return cpu_seconds([self.proc.pid])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        self.result = parse_result(out) if "RESULT" in out else {}


class Loadgen:
    def __init__(self, binary, pin):
        self.binary = binary
        self.pin = pin

    def argv(self, args, cpu):
        return pinned([self.binary, *args], cpu, self.pin)

    def run(self, args, timeout):
        """Runs psm-loadgen; its RESULT as a dict, plus gen_busy: the share
        of its elapsed time the generator spent on a CPU (near 1: the
        generator, not the server, set the rate)."""
        argv = self.argv(args, 0)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()}")
        result = parse_result(p.stdout)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if result.get("elapsed"):
            result["gen_busy"] = cpu / result["elapsed"]
        return result


def parse_result(text):
    """psm-loadgen's RESULT line as a dict (numbers as floats)."""
    for line in text.splitlines():
        if line.startswith("RESULT "):
            out = {}
            for field in line.split()[1:]:
                key, _, value = field.partition("=")
                try:
                    out[key] = float(value)
                except ValueError:
                    out[key] = value
            return out
    raise RuntimeError(f"no RESULT line in {text!r}")


def rss_kib(pid):
    """VmRSS of pid in KiB, None when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def pss_kib(pids):
    """Sum of the processes' proportional set sizes in KiB (shared pages
    split between the sharers, so a forked copy is not counted twice)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def group_pids(pgid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def cpu_by_command(pids):
    """User + system CPU seconds of the processes by command name, with
    those of their children already reaped (a forked child that ended is
    counted in its parent's cutime/cstime). Processes already gone count 0."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                head, _, tail = f.read().rpartition(")")
        except OSError:
            continue
        command = head.partition("(")[2]
        # After the command: state is field 3, utime..cstime are 14..17.
        out[command] = out.get(command, 0) + sum(int(v) for v in tail.split()[11:15]) / tick
    return out


def cpu_seconds(pids):
    """The sum of cpu_by_command(pids)."""
    return sum(cpu_by_command(pids).values())


def instance_pids(directory):
    """Every process whose working directory is inside `directory` (a
    private instance's: master chdirs to its queue directory)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if cwd == directory or cwd.startswith(directory + "/"):
            found.append(int(entry))
    return found


def listener_pids(directory, endpoint):
    """The processes of the instance in `directory` serving the master.cf
    service ADDR:PORT (`-n ADDR:PORT` on the command line), forked ones too."""
    name = ep_str(endpoint).encode()
    out = []
    for pid in instance_pids(directory):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if name in argv:
            out.append(pid)
    return out


def stop_instance(pf, grace=3.0):
    """Stop a StockPostfix, then kill what of it is still running after
    `grace` seconds: our postscreen leaves master's process group (setsid,
    as stock) and a drained one finishes in a forked child. Returns the
    pids that had to be killed."""
    pf.stop()
    deadline = time.monotonic() + grace
    left = instance_pids(pf.dir)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = instance_pids(pf.dir)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left
