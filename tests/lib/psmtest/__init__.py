"""psmtest: fixtures for psmaster's integration tests (stdlib only).

Modules, one concern each:

* `env`       paths, PSM_* variables, root checks, the per-process run dir
* `procs`     background processes that cannot outlive the test
* `netalloc`  per-process loopback address blocks, free ports, listeners
* `dnswire`   a minimal DNS client (queries, answer parsing)
* `nsd`       `Zone` and `DnsServer` (Debian's NSD, authoritative)
* `dnsfakes`  `BlackholeDns`, `SlowDnsProxy` (Python threads)
* `smtp`      `SmtpClient`, `Reply`, `Transaction`, `swaks()`
* `maillog`   `Maillog` reader/waiter, `LogLine`, `normalize()`
* `postfix`   `StockPostfix`, a private stock Postfix instance

The names most tests need are re-exported here. See tests/lib/README.md.
"""

from .dnsfakes import BlackholeDns, SlowDnsProxy
from .env import our_binary, require_root
from .maillog import LogLine, Maillog, normalize, normalize_lines
from .netalloc import client_address, dns_address, free_port, reverse_name, server_address
from .nsd import DnsServer, Zone
from .postfix import StockPostfix
from .procs import Background, wait_until
from .smtp import (Reply, SmtpClient, SmtpClosed, SmtpError, SmtpProtocolError, SmtpTimeout,
                   Transaction, swaks)

__all__ = [
    "BlackholeDns", "SlowDnsProxy", "our_binary", "require_root", "LogLine", "Maillog",
    "normalize", "normalize_lines", "client_address", "dns_address", "free_port",
    "reverse_name", "server_address", "DnsServer", "Zone", "StockPostfix", "Background",
    "wait_until", "Reply", "SmtpClient", "SmtpClosed", "SmtpError", "SmtpProtocolError",
    "SmtpTimeout", "Transaction", "swaks",
]
