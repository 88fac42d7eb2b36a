#!/usr/bin/env python3
"""Benchmark: postscreen memory per idle client in the greet wait, stock
3.7 against ours (both under a private stock master, as the integration
tests run them).

Opens N connections (default 1000, at most 2000), each from its own
loopback address, to each postscreen; every client reads the `220-`
teaser and then stays silent in a long greet wait. Prints postscreen's
VmRSS before and after, the growth per connection and the ratio ours/stock.
Not a test: nothing is asserted.

    PSM_BIN_DIR=<build>/bin PSM_SOURCE_DIR=<repo> \\
        python3 tests/bench/idle_clients.py [-n N]
(root needed, like the integration tests.)
"""

import argparse
import os
import resource
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "lib"), os.path.join(HERE, "..", "integration")]

from postscreen_engine_common import Pair, rss_kib  # noqa: E402
from psmtest import client_address  # noqa: E402

MAX_CLIENTS = 2000


def open_idle(address, port, n, deadline):
    socks = []
    try:
        for _ in range(n):
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(socks)} connections within the time limit")
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(s)
            s.settimeout(10)
            s.bind((client_address(), 0))
            s.connect((address, port))
        # Every client got its teaser: the session exists and is waiting.
        for s in socks:
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(512)
                if not chunk:
                    raise RuntimeError("server closed an idle client")
                data += chunk
            if not data.startswith(b"220-"):
                raise RuntimeError(f"unexpected greeting {data!r}")
        return socks
    except BaseException:
        for s in socks:
            s.close()
        raise


def postscreen_pid(inst):
    pids = inst.postscreen_pids()
    if not pids:
        raise RuntimeError("no postscreen pid in the log")
    return pids[-1]


def measure(inst, n):
    address, port = inst.endpoints["idle"]
    warm = open_idle(address, port, 10, time.monotonic() + 30)
    pid = postscreen_pid(inst)
    time.sleep(0.5)
    before = rss_kib(pid)
    socks = open_idle(address, port, n, time.monotonic() + 300)
    time.sleep(0.5)
    after = rss_kib(pid)
    for s in socks + warm:
        s.close()
    return before, after


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1000, help=f"idle clients per server (max {MAX_CLIENTS})")
    n = min(max(ap.parse_args().n, 1), MAX_CLIENTS)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * n + 200), hard))
    params = {"postscreen_greet_wait": "300s", "postscreen_pre_queue_limit": str(4 * n),
              "postscreen_client_connection_count_limit": "0", "postscreen_cache_map": ""}
    with Pair(params, {"idle": {}}) as pair:
        results = {}
        for inst in pair.both():
            results["ours" if inst.ours else "stock"] = measure(inst, n)
    per = {}
    for name, (before, after) in results.items():
        per[name] = (after - before) * 1024 / n
        print(f"{name:5}: VmRSS {before} KiB -> {after} KiB with {n} idle clients: "
              f"{per[name]:.0f} bytes per connection")
    if per["stock"] > 0:
        print(f"ratio ours/stock: {per['ours'] / per['stock']:.2f}")


if __name__ == "__main__":
    main()
