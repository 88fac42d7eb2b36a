"""Shared by the test_*tls*.py tests: private stock Postfix 3.7 instances
that differ only in whose postscreen and whose tlsproxy they run (stock
master always), with the same main.cf, master.cf and certificate, so that
one client script can run against each and the replies and normalised
postscreen/tlsproxy log lines can be compared.

    cert = make_certificate(shared_dir(), cn=HOSTNAME)
    inst = TlsInstance(postscreen="stock", tlsproxy="ours", cert=cert,
                       params={...}, services={"main": {}, "short": {...}})
    with inst: ...
"""

import re

from psmtest import StockPostfix, client_address, env, normalize

HOSTNAME = "mx.psm.test"

# What a deep-test client sees (stock 3.7 defaults otherwise).
DEEP = {"postscreen_pipelining_enable": "yes", "postscreen_non_smtp_command_enable": "yes",
        "postscreen_bare_newline_enable": "yes", "postscreen_greet_banner": ""}

# Lines that do not belong to one session.
_NOISE = re.compile(r"^(cache \S+ (full|partial) cleanup|table \S+ has changed|(entering|leaving) STRESS)")


def shared_dir():
    """A directory for the test's certificates (root-owned, 0755)."""
    return env.fixture_dir("tls")


def no_cache(**options):
    return dict(options, postscreen_cache_map="")


def tls_params(cert, level="may"):
    """main.cf settings: tlsproxy's certificate (via smtpd_tls_*, as a site
    would configure it), STARTTLS in postscreen, the summary log line."""
    return {"smtpd_tls_security_level": level, "postscreen_tls_security_level": level,
            "smtpd_tls_cert_file": cert.cert_file, "smtpd_tls_key_file": cert.key_file,
            "smtpd_tls_loglevel": "1"}


class TlsInstance:
    """One private instance: postscreen and tlsproxy each "stock" or "ours".
    `services`: {name: master.cf -o options} for each postscreen endpoint;
    only one postscreen can hold a cache file, so give the others
    postscreen_cache_map= (see no_cache())."""

    def __init__(self, *, postscreen="stock", tlsproxy="stock", params=None, services=None, extra_services=()):
        self.postscreen, self.tlsproxy = postscreen, tlsproxy
        self.name = f"{postscreen} postscreen + {tlsproxy} tlsproxy"
        self.pf = StockPostfix(myhostname=HOSTNAME)
        self.pf.set(**(params or {}))
        self.endpoints = {}
        for name, options in (services or {"main": {}}).items():
            self.endpoints[name] = self.pf.add_postscreen(options=dict(options) or None)
        self.servers = {addr: "SERVER" for addr, _ in self.endpoints.values()}
        for line in extra_services:
            self.pf.add_master_line(line)
        if postscreen == "ours":
            self.pf.use_ours("postscreen")
        if tlsproxy == "ours":
            self.pf.use_ours("tlsproxy")

    @property
    def log(self):
        return self.pf.log

    def __enter__(self):
        self.pf.start()
        return self

    def __exit__(self, *exc):
        self.pf.stop()

    def start(self):
        return self.__enter__()

    def stop(self):
        self.pf.stop()

    def lines(self, program, since, source):
        """Normalised `service: text` lines of `program` about one client."""
        out = []
        for line in self.log.lines(program, since=since):
            if _NOISE.match(line.text):
                continue
            if source not in line.text and not line.text.startswith(("warning: TLS library problem",
                                                                       "warning: TLS library")):
                continue
            out.append(line.normalized(addresses={source: "CLIENT", **self.servers}, extra=_EXTRA))
        return out

    def session_lines(self, since, source, timeout=15, tlsproxy=None):
        """Waits until postscreen and (when it was involved) tlsproxy have
        logged DISCONNECT for `source`, then returns {"postscreen": [...],
        "tlsproxy": [...]} (normalised). Stock daemons log through postlogd,
        so tlsproxy's CONNECT may reach the file after postscreen's
        DISCONNECT: `tlsproxy` True waits for it, False does not, None waits
        up to 2 s for it."""
        pattern = rf"^DISCONNECT \[{re.escape(source)}\]:\d+$"
        self.log.wait_for(pattern, "postscreen", since=since, timeout=timeout)
        connect = rf"^CONNECT from \[{re.escape(source)}\]:\d+$"
        if tlsproxy is None:
            try:
                self.log.wait_for(connect, "tlsproxy", since=since, timeout=2)
                tlsproxy = True
            except AssertionError:
                tlsproxy = False
        if tlsproxy:
            self.log.wait_for(connect, "tlsproxy", since=since, timeout=timeout)
            self.log.wait_for(pattern, "tlsproxy", since=since, timeout=timeout)
        return {program: self.lines(program, since, source) for program in ("postscreen", "tlsproxy")}

    def tlsproxy_pids(self, since=0):
        return sorted({line.pid for line in self.log.lines("tlsproxy", since=since) if line.pid})

    def problems(self, since):
        """fatal/panic lines (warnings are part of the compared output)."""
        return [line.raw for line in self.log.lines(since=since) if line.severity in ("fatal", "panic")]


_EXTRA = [(r"after \d+(\.\d+)?", "after TIME")]


def fresh_source():
    return client_address()
