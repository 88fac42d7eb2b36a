#!/usr/bin/env python3
"""Benchmark: DNSBL lookups under load, stock 3.7 against ours.

One NSD serves three DNSBL zones that list every test client address
(a wildcard under this process's 127.B block; 127.0.0.2 is listed and
127.0.0.1 is not, so the lists are healthy). Two private instances under a
stock master, run one after the other with the same generator:

* stock: stock postscreen + stock dnsblog (one dnsblog process per
  outstanding lookup, at most default_process_limit = 100);
* ours:  our postscreen + our dnsblog (one weighted request per client).

postscreen_dnsbl_sites = the three lists, weight 1 each, threshold 3, action
drop: a client is rejected only when all three lookups were made and
answered. Each session comes from a new client address, sends a pregreet
at once (which lets postscreen decide as soon as the DNSBL result is in,
without waiting for the whole greet wait) and reads until postscreen's
decision. Closed loop: `--concurrency` sessions at a time until
`--sessions` have run. postscreen_pre_queue_limit is raised above the
concurrency for both (`--pre-queue-limit` to choose), so that the load
reaches the DNSBL lookups instead of "421 All screening ports are busy".

Printed per instance: sessions/s, latency percentiles, clients blocked
(every lookup made), clients let through unchecked (a lookup was skipped or
late: the "listed clients get through" failure), other outcomes, and the
warnings postscreen/dnsblog logged (stock's skipped lookups show as
"psc_dnsbl_request: connect to private/dnsblog service: Resource
temporarily unavailable"); then the ratio ours/stock. Not a test: nothing
is asserted, and ctest never runs it.

    PSM_BIN_DIR=<build>/bin PSM_SOURCE_DIR=<repo> \\
        python3 tests/bench/dnsbl_load.py [--sessions N] [--concurrency C] [--dns-delay 0.05]
(root needed, like the integration tests.)
"""

import argparse
import collections
import contextlib
import errno
import os
import re
import selectors
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "lib")]

from psmtest import (DnsServer, SlowDnsProxy, StockPostfix, Zone, client_address, our_binary,  # noqa: E402
                     require_root)
from psmtest import netalloc  # noqa: E402

LISTS = ["l1.bench.psm.test", "l2.bench.psm.test", "l3.bench.psm.test"]
HOSTNAME = "bench.psm.test"
MAX_SESSIONS = 50000
MAX_CONCURRENCY = 3000
SESSION_TIMEOUT = 30.0


class Session:
    __slots__ = ("sock", "source", "started", "buf")

    def __init__(self, sock, source):
        self.sock = sock
        self.source = source
        self.started = time.monotonic()
        self.buf = b""


def final_reply(buf):
    """The first final reply line ("ddd " ...) in buf, or None."""
    for line in buf.split(b"\r\n")[:-1]:
        if len(line) >= 4 and line[:3].isdigit() and line[3:4] == b" ":
            return line.decode("ascii", "replace")
    return None


def classify(line):
    if line is None:
        return "no reply"
    if line.startswith("521 ") and "blocked using" in line:
        return "blocked"
    if line.startswith("220 "):
        return "passed unchecked"
    return line[:40]


def run_load(address, port, sessions, concurrency, time_limit):
    """Closed-loop load: returns (elapsed, latencies, outcomes Counter)."""
    sel = selectors.DefaultSelector()
    outcomes = collections.Counter()
    latencies = []
    hung = []
    started = 0
    active = {}
    t0 = time.monotonic()
    deadline = t0 + time_limit

    def finish(s, outcome):
        sel.unregister(s.sock)
        s.sock.close()
        del active[id(s)]
        outcomes[outcome] += 1
        latencies.append(time.monotonic() - s.started)

    def start_one():
        source = client_address()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")  # RST on close: no TIME_WAIT
        sock.bind((source, 0))
        err = sock.connect_ex((address, port))
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            outcomes[f"connect: {os.strerror(err)}"] += 1
            return
        s = Session(sock, source)
        active[id(s)] = s
        sel.register(sock, selectors.EVENT_WRITE, s)

    while (started < sessions or active) and time.monotonic() < deadline:
        while started < sessions and len(active) < concurrency:
            start_one()
            started += 1
        for key, events in sel.select(timeout=0.05):
            s = key.data
            if events & selectors.EVENT_WRITE:
                err = s.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    finish(s, f"connect: {os.strerror(err)}")
                    continue
                try:
                    s.sock.send(b"EHLO bench.psm.test\r\n")  # pregreet
                except OSError as e:
                    finish(s, f"send: {e.strerror}")
                    continue
                sel.modify(s.sock, selectors.EVENT_READ, s)
                continue
            try:
                chunk = s.sock.recv(4096)
            except OSError as e:
                finish(s, f"recv: {e.strerror}")
                continue
            s.buf += chunk
            line = final_reply(s.buf)
            if line is not None or not chunk:
                finish(s, classify(line))
        now = time.monotonic()
        for s in [s for s in active.values() if now - s.started > SESSION_TIMEOUT]:
            hung.append(f"{s.source} got {s.buf[-60:]!r}")
            finish(s, "session timeout")
    for s in list(active.values()):
        finish(s, "not finished (time limit)")
    for text in hung[:5]:
        print(f"   session timeout: {text}")
    return time.monotonic() - t0, latencies, outcomes


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def warning_summary(pf, since):
    counts = collections.Counter()
    for line in pf.log.lines(["postscreen", "dnsblog"], r"^(warning|error|fatal|panic): ", since=since):
        text = re.sub(r"\[[0-9a-f.:]+\]:\d+|\b127\.\d+\.\d+\.\d+\b|\b\d+\b", "N", line.text)
        counts[f"{line.service}: {text[:150]}"] += 1
    return counts


def make_instance(ours, dns, pre_queue_limit):
    pf = StockPostfix(myhostname=HOSTNAME, dns=dns, params={
        "postscreen_pre_queue_limit": str(pre_queue_limit),
        "postscreen_dnsbl_sites": ", ".join(f"{d}*1" for d in LISTS),
        "postscreen_dnsbl_threshold": "3",
        "postscreen_dnsbl_action": "drop",
        "postscreen_greet_wait": "6s",
        "postscreen_dnsbl_timeout": "10s",
        "smtpd_banner": "$myhostname ESMTP",
    })
    pf.lifetime = 3600
    address, port = pf.add_postscreen()
    if ours:
        pf.use_ours("postscreen")
        pf.use_ours("dnsblog")
        pf.set(dnsblog_nameservers=f"{dns.address}:53")
    return pf, address, port


def bench(name, ours, dns, args):
    pf, address, port = make_instance(ours, dns, args.pre_queue_limit or args.concurrency + 100)
    proxy_before = (dns.queries, dns.forwarded) if isinstance(dns, SlowDnsProxy) else None
    with pf:
        # Warm-up: start postscreen and the dnsblog(s), and (ours) the lists' first health check.
        run_load(address, port, 20, 10, 60)
        mark = pf.log.mark()
        elapsed, latencies, outcomes = run_load(address, port, args.sessions, args.concurrency, args.time_limit)
        time.sleep(1)  # late warnings (dnsblog reply timeouts) still land in the log
        warnings = warning_summary(pf, mark)
    done = sum(outcomes.values())
    rate = done / elapsed if elapsed > 0 else 0.0
    unchecked = outcomes.get("passed unchecked", 0)
    print(f"\n== {name}: {done} sessions in {elapsed:.2f} s = {rate:.0f} sessions/s "
          f"(concurrency {args.concurrency})")
    print(f"   latency p50 {percentile(latencies, 50) * 1000:.0f} ms, p90 {percentile(latencies, 90) * 1000:.0f} ms, "
          f"p99 {percentile(latencies, 99) * 1000:.0f} ms, max {max(latencies, default=0) * 1000:.0f} ms")
    for outcome, n in outcomes.most_common():
        print(f"   {n:7d}  {outcome}")
    skipped = sum(n for text, n in warnings.items() if "psc_dnsbl_request" in text or "reply timeout" in text)
    failed = sum(n for text, n in warnings.items() if "dnsblog_query: lookup error" in text)
    print(f"   skipped/late DNSBL lookups logged by postscreen: {skipped}; DNS lookup errors logged by dnsblog: {failed}")
    for text, n in warnings.most_common(8):
        print(f"   {n:7d}  {text}")
    if proxy_before:
        received, forwarded = dns.queries - proxy_before[0], dns.forwarded - proxy_before[1]
        print(f"   DNS proxy: {received} queries received, {forwarded} forwarded ({received - forwarded} dropped: "
              f"more than its {SlowDnsProxy.MAX_PENDING} pending; dnsblog retries or reports a failure)")
    return rate, unchecked, outcomes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=3000, help="sessions per instance (new clients)")
    parser.add_argument("--concurrency", type=int, default=500, help="sessions in progress at a time")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds per instance, at most")
    parser.add_argument("--pre-queue-limit", type=int, default=0,
                        help="postscreen_pre_queue_limit (default: concurrency + 100, so that the generator's "
                             "sessions get in instead of \"421 All screening ports are busy\")")
    parser.add_argument("--dns-delay", type=float, default=0.0,
                        help="seconds every DNS answer is delayed (e.g. 0.05), through a proxy in front of NSD")
    parser.add_argument("--only", choices=["stock", "ours"], help="run one instance only")
    args = parser.parse_args()
    if not 1 <= args.sessions <= MAX_SESSIONS or not 1 <= args.concurrency <= MAX_CONCURRENCY:
        parser.error(f"--sessions 1..{MAX_SESSIONS}, --concurrency 1..{MAX_CONCURRENCY}")
    args.time_limit = min(max(args.time_limit, 10), 1800)
    if not 0 <= args.dns_delay <= 5:
        parser.error("--dns-delay 0..5 seconds")
    require_root()
    if args.only != "stock":
        our_binary("postscreen")
        our_binary("dnsblog")

    zones = []
    for d in LISTS:
        z = Zone(d, ttl=300, negative_ttl=300).list_address("127.0.0.2")
        z.add(f"*.{netalloc.block()}.127", "A", "127.0.0.2")  # every 127.B.c.k client
        zones.append(z)
    results = {}
    with contextlib.ExitStack() as stack:
        dns = stack.enter_context(DnsServer(zones))
        if args.dns_delay > 0:
            # Every instance's resolver (and our dnsblog) asks the proxy.
            dns = stack.enter_context(SlowDnsProxy(upstream=(dns.address, 53), delay=args.dns_delay))
            print(f"DNS answers delayed by {args.dns_delay * 1000:.0f} ms (SlowDnsProxy, a Python thread: "
                  "at high rates it may be the bottleneck)")
        for name, ours in (("stock", False), ("ours", True)):
            if args.only and args.only != name:
                continue
            results[name] = bench(name, ours, dns, args)
    if len(results) == 2:
        (s_rate, s_unchecked, _), (o_rate, o_unchecked, _) = results["stock"], results["ours"]
        print(f"\nRESULT sessions/s stock={s_rate:.0f} ours={o_rate:.0f} ratio={o_rate / s_rate if s_rate else float('inf'):.2f} "
              f"unchecked stock={s_unchecked} ours={o_unchecked}")


if __name__ == "__main__":
    main()
