"""An authoritative test DNS server: Debian's NSD with zones given as Python
data.

    bl = Zone("dnsbl.test", ttl=60, negative_ttl=30)
    bl.list_address("127.0.2.5")                    # 5.2.0.127.dnsbl.test A 127.0.0.2
    bl.add("www", "TXT", "hello")
    with DnsServer([bl]) as dns:                   # 127.B.53.k:53
        dns.query("5.2.0.127.dnsbl.test").values()  # ['127.0.0.2']
        dns.query_count()                          # NSD's num.queries

Every server also serves an empty `127.in-addr.arpa` zone (unless
`reverse_127=False`) so reverse lookups of 127.x clients get NXDOMAIN at
once. NSD runs in the foreground (`nsd -d`) in its own process group, as
root without dropping privileges, with no database, rate limiting off and a
control socket (`nsd-control` over a UNIX socket, no certificates) for the
statistics. `update(zone)` rewrites one zone file with a bumped serial,
reloads it and waits until NSD serves the new serial.
"""

import os

from . import dnswire, env, netalloc, procs

NSD = "/usr/sbin/nsd"
NSD_CONTROL = "/usr/sbin/nsd-control"


def _absolute(name, origin):
    if name in ("@", ""):
        return origin
    if name.endswith("."):
        return name.rstrip(".")
    return f"{name}.{origin}"


def _quote_txt(text):
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class Zone:
    """Records of one zone. Owner names are relative to the zone unless they
    end with a dot; `@` is the apex. `ttl` is the default record TTL;
    `negative_ttl` is the SOA minimum (negative-caching TTL, RFC 2308) and
    `soa_ttl` the TTL of the SOA record itself (default: `ttl`)."""

    def __init__(self, name, *, ttl=60, negative_ttl=60, soa_ttl=None, serial=1, records=()):
        self.name = name.rstrip(".").lower()
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.soa_ttl = ttl if soa_ttl is None else soa_ttl
        self.serial = serial
        self.records = []  # (absolute owner, type, value, ttl or None)
        for rec in records:
            self.add(*rec)

    def add(self, owner, rtype, value, ttl=None):
        """Add a record. `value` for TXT is a string (or a list of strings);
        for other types the zone-file text (`127.0.0.2`, `host.example.`)."""
        self.records.append((_absolute(owner, self.name), rtype.upper(), value, ttl))
        return self

    def remove(self, owner, rtype=None):
        owner = _absolute(owner, self.name)
        self.records = [r for r in self.records
                        if not (r[0] == owner and (rtype is None or r[1] == rtype.upper()))]
        return self

    def dnsbl_name(self, address):
        """The query name a DNSBL client uses for `address` in this zone."""
        return f"{netalloc.reverse_name(address)}.{self.name}"

    def list_address(self, address, result="127.0.0.2", txt=None, ttl=None):
        """Make `address` listed: A `result` (one or a list), optional TXT."""
        owner = self.dnsbl_name(address) + "."
        for value in ([result] if isinstance(result, str) else list(result)):
            self.add(owner, "A", value, ttl)
        if txt is not None:
            self.add(owner, "TXT", txt, ttl)
        return self

    def unlist_address(self, address):
        return self.remove(self.dnsbl_name(address) + ".")

    def zone_text(self, ns_address):
        lines = [f"$ORIGIN {self.name}.", f"$TTL {self.ttl}",
                 f"@ {self.soa_ttl} IN SOA ns.{self.name}. hostmaster.{self.name}. "
                 f"{self.serial} 3600 600 86400 {self.negative_ttl}",
                 f"@ {self.soa_ttl} IN NS ns.{self.name}."]
        if not any(r[0] == f"ns.{self.name}" for r in self.records):
            lines.append(f"ns.{self.name}. {self.ttl} IN A {ns_address}")
        for owner, rtype, value, ttl in self.records:
            if rtype == "TXT":
                parts = [value] if isinstance(value, str) else list(value)
                text = " ".join(_quote_txt(p) for p in parts)
            else:
                text = str(value)
            lines.append(f"{owner}. {self.ttl if ttl is None else ttl} IN {rtype} {text}")
        return "\n".join(lines) + "\n"


class DnsServer:
    """NSD serving `zones` on address:port (defaults: a fresh 127.B.53.k, 53)."""

    def __init__(self, zones=(), *, address=None, port=53, reverse_127=True, lifetime=900.0):
        env.require_root()
        env.require_program(NSD)
        self.zones = {}
        for z in zones:
            self.zones[z.name] = z
        if reverse_127 and "127.in-addr.arpa" not in self.zones:
            self.zones["127.in-addr.arpa"] = Zone("127.in-addr.arpa", negative_ttl=60)
        self.address = address or netalloc.dns_address()
        self.port = port
        self.lifetime = lifetime
        self.dir = None
        self.proc = None

    # -- files ------------------------------------------------------------
    def _zone_file(self, name):
        return os.path.join(self.dir, f"{name}.zone")

    def _write_zone(self, zone):
        path = self._zone_file(zone.name)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(zone.zone_text(self.address))
        os.replace(tmp, path)

    def _write_config(self):
        d = self.dir
        lines = [
            "server:",
            f"  ip-address: {self.address}@{self.port}",
            "  do-ip6: no",
            "  server-count: 1",
            '  username: ""',
            '  chroot: ""',
            f'  zonesdir: "{d}"',
            '  database: ""',
            f'  zonelistfile: "{d}/zone.list"',
            '  xfrdfile: ""',
            f'  xfrdir: "{d}"',
            f'  pidfile: "{d}/nsd.pid"',
            f'  logfile: "{d}/nsd.log"',
            "  verbosity: 1",
            "  hide-version: yes",
            "  rrl-ratelimit: 0",
            "  rrl-whitelist-ratelimit: 0",
            "remote-control:",
            "  control-enable: yes",
            f"  control-interface: {d}/control.sock",
        ]
        for name in self.zones:
            lines += ["zone:", f"  name: {name}", f'  zonefile: "{name}.zone"']
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    @property
    def config_path(self):
        return os.path.join(self.dir, "nsd.conf")

    # -- life cycle -------------------------------------------------------
    def start(self, timeout=15.0):
        self.dir = env.fixture_dir("nsd")
        for zone in self.zones.values():
            self._write_zone(zone)
        self._write_config()
        procs.run([NSD + "-checkconf", self.config_path], timeout=10)
        self.proc = procs.Background([NSD, "-d", "-c", self.config_path], name="nsd",
                                     workdir=self.dir, lifetime=self.lifetime)
        self.proc.start()
        probe = next(iter(self.zones))

        def ready():
            if not self.proc.running():
                raise AssertionError("NSD exited during start-up\n" + self.describe())
            try:
                return self.query(probe, "SOA", timeout=0.2).rcode == "NOERROR"
            except dnswire.DnsTimeout:
                return False

        if not procs.wait_until(ready, timeout, interval=0.05):
            self.stop()
            raise AssertionError(f"NSD not answering on {self.address}:{self.port}\n"
                                 + self.describe())
        return self

    def stop(self):
        if self.proc:
            self.proc.stop(timeout=5.0)

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()

    def describe(self):
        log = ""
        if self.dir:
            try:
                with open(os.path.join(self.dir, "nsd.log")) as f:
                    log = "".join(f.readlines()[-20:])
            except OSError:
                pass
        return (self.proc.describe() if self.proc else "nsd not started") + \
            f"\n--- nsd.log tail ---\n{log}"

    # -- use --------------------------------------------------------------
    @property
    def endpoint(self):
        return (self.address, self.port)

    def zone(self, name):
        return self.zones[name.rstrip(".").lower()]

    def query(self, name, rtype="A", timeout=2.0, tcp=False):
        """Ask this server directly (counts in query_count())."""
        return dnswire.query(self.address, name, rtype, port=self.port, timeout=timeout, tcp=tcp)

    def control(self, *args, timeout=10.0):
        return procs.run([NSD_CONTROL, "-c", self.config_path, *args], timeout=timeout).stdout

    def stats(self):
        """NSD's counters (`nsd-control stats_noreset`) as a dict of ints."""
        out = {}
        for line in self.control("stats_noreset").splitlines():
            key, _, value = line.partition("=")
            try:
                out[key.strip()] = int(value)
            except ValueError:
                try:
                    out[key.strip()] = float(value)
                except ValueError:
                    pass
        return out

    def query_count(self):
        """Number of queries NSD answered since start (all zones, UDP+TCP)."""
        return self.stats().get("num.queries", 0)

    def update(self, zone, timeout=10.0):
        """Publish the current contents of `zone` (added if new zones are not
        supported: the zone must have been given at start). Bumps the serial
        and waits until NSD serves it."""
        if zone.name not in self.zones:
            raise KeyError(f"zone {zone.name} was not configured at start")
        self.zones[zone.name] = zone
        zone.serial += 1
        self._write_zone(zone)
        # NSD compares mtimes: make sure the new file looks newer.
        path = self._zone_file(zone.name)
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
        self.control("reload", zone.name)

        # During a reload the old server child lives on for a moment beside
        # the new one and both read the same socket: one answer with the new
        # serial does not mean the old data is gone. Wait for several in a row.
        fresh_in_a_row = [0]

        def served():
            try:
                answer = self.query(zone.name, "SOA", timeout=0.5)
            except dnswire.DnsTimeout:
                fresh_in_a_row[0] = 0
                return False
            soas = answer.values("SOA")
            if bool(soas) and soas[0]["serial"] == zone.serial:
                fresh_in_a_row[0] += 1
            else:
                fresh_in_a_row[0] = 0
            return fresh_in_a_row[0] >= 8

        procs.wait_until(served, timeout, interval=0.05,
                         message=f"NSD did not load serial {zone.serial} of {zone.name}")

    def resolv_conf(self, options="timeout:1 attempts:2"):
        """resolv.conf text pointing the system resolver at this server."""
        if self.port != 53:
            raise ValueError("the system resolver only talks to port 53")
        text = f"nameserver {self.address}\n"
        if options:
            text += f"options {options}\n"
        return text
