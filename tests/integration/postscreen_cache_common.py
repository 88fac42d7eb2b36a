"""Shared by test_postscreen_cache*.py: a private stock Postfix whose
postscreen (stock or ours, under stock master) keeps its temporary allowlist
in the default btree:$data_directory/postscreen_cache, clients that pass
the pregreet test, and readers of the cache file with stock postmap.
"""

import os
import pwd
import re

from psmtest import SmtpClient, SmtpError, StockPostfix, wait_until
from psmtest import procs

HOSTNAME = "mx.psm.test"
POSTMAP = "/usr/sbin/postmap"

# Only the pregreet test is on (no DNSBL sites, no deep tests): a client
# passes at the end of a 1 s greet wait.
PARAMS = {
    "postscreen_greet_wait": "1s",
    "smtpd_banner": "$myhostname ESMTP $mail_name",
}


def instance(ours, params=None, name="postfix"):
    """A stock instance with one postscreen listener; ours in its place when
    `ours`. Returns (pf, (address, port))."""
    pf = StockPostfix(myhostname=HOSTNAME, name=name)
    pf.set(**PARAMS)
    pf.set(**(params or {}))
    endpoint = pf.add_postscreen()
    if ours:
        pf.use_ours("postscreen")
    return pf, endpoint


def visit(pf, endpoint, source, timeout=15):
    """One client session: read the greeting (the teaser + smtpd's 220, or
    smtpd's 220 at once), QUIT. Returns (first greeting line, PASS word
    "NEW"/"OLD" that postscreen logged for it)."""
    mark = pf.log.mark()
    with SmtpClient(*endpoint, source=source, timeout=timeout) as c:
        greeting = c.read_reply(timeout=timeout)
        c.command("QUIT")
        port = c.source_port
    line = pf.log.wait_for(rf"^PASS (NEW|OLD) \[{re.escape(source)}\]:{port}$", "postscreen", since=mark,
                           timeout=timeout)
    return greeting.lines[0], line.match.group(1)


def wake(pf, endpoint):
    """master starts postscreen on the first connection: make one that
    hangs up at once (HANGUP, nothing cached) and wait for its CONNECT."""
    mark = pf.log.mark()
    with SmtpClient(*endpoint, timeout=15) as c:
        source = c.source
    pf.log.wait_for(rf"^CONNECT from \[{re.escape(source)}\]", "postscreen", since=mark, timeout=15)


def postmap_s(path_without_db, config_dir, check=True):
    """Stock `postmap -s btree:PATH`: {key: value}, or None when postmap
    failed (check=False)."""
    res = procs.run([POSTMAP, "-c", config_dir, "-s", f"btree:{path_without_db}"], timeout=30, check=check)
    if res.returncode != 0:
        return None
    out = {}
    for line in res.stdout.splitlines():
        key, _, value = line.partition("\t")
        out[key] = value
    return out


def live_entries(pf):
    """The live cache (a copy, postscreen holds the lock), or None if stock
    postmap could not read the copy (e.g. caught between two writes)."""
    try:
        return pf.cache_entries()
    except (AssertionError, OSError):
        return None


def wait_cached(pf, source, timeout=15):
    """Waits until the client's record is in the cache file; returns it."""
    def found():
        entries = live_entries(pf)
        return entries.get(source) if entries else None

    return wait_until(found, timeout, interval=0.1, message=f"{source} is not in {pf.cache_path}\n{pf.describe()}")


def seed_cache(pf, records):
    """Writes the cache file as an operator would with stock postmap, as
    mail_owner (the file postscreen opens with mail_owner's ids)."""
    text = os.path.join(pf.data_dir, "postscreen_cache")
    with open(text, "w") as f:
        for key, value in records.items():
            f.write(f"{key} {value}\n")
    owner = pwd.getpwnam("postfix")
    os.chown(text, owner.pw_uid, owner.pw_gid)
    procs.run([POSTMAP, "-c", pf.config_dir, f"btree:{text}"], timeout=30)
    os.unlink(text)


def postscreen_problems(pf, since, allow=()):
    """postscreen's warning/fatal/panic lines since `since`, minus those
    matching one of the `allow` regexes."""
    out = []
    for line in pf.problems(since):
        if "postscreen" not in line.program:
            continue
        if any(re.search(rx, line.text) for rx in allow):
            continue
        out.append(line.raw)
    return out


__all__ = ["HOSTNAME", "PARAMS", "instance", "visit", "wake", "postmap_s", "live_entries", "wait_cached", "seed_cache",
           "postscreen_problems", "SmtpError"]
