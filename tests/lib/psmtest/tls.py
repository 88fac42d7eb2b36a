"""TLS for the STARTTLS tests: certificates made with `openssl`, and real
TLS clients (`openssl s_client -starttls smtp`, `swaks --tls`, and a
scripted Python client that can stop anywhere in the dialogue).

    cert = make_certificate(dir, cn="mx.psm.test")          # self-signed, RSA 2048
    ca = make_ca(dir); leaf = make_certificate(dir, cn="mx", issuer=ca)
    r = s_client(addr, port, source=..., commands=["EHLO c.test", "QUIT"])
    r.protocol, r.cipher, r.certificates[0] == cert.pem, r.reply_lines
    swaks_tls(addr, port, source=...)                      # SwaksResult
    with StartTlsClient(addr, port) as c: c.starttls(); c.tls.command("EHLO x")

Every helper is bounded in time. Keys are written mode 0600 (owned by the
test, i.e. root), so a daemon that can use them must have read them before
dropping privileges.
"""

import dataclasses
import os
import re
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
import unittest

from . import env, netalloc, smtp

OPENSSL = "/usr/bin/openssl"


def _require_openssl():
    if not os.access(OPENSSL, os.X_OK):
        raise unittest.SkipTest("openssl is not installed")


def _run_openssl(args, timeout=30):
    res = subprocess.run([OPENSSL, *args], capture_output=True, text=True, timeout=timeout,
                         stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {res.stderr}")
    return res.stdout


# -- certificates -------------------------------------------------------------

@dataclasses.dataclass
class Certificate:
    """A key and its certificate, as files. `pem` is the certificate text
    (normalised, one PEM block); `chain_pems` are the issuers after it."""
    cn: str
    cert_file: str
    key_file: str
    pem: str
    key_type: str
    chain_pems: list = dataclasses.field(default_factory=list)

    def write_combined(self, path, order=("key", "cert", "chain")):
        """One PEM file holding key, certificate and issuers in `order`
        (smtpd_tls_chain_files wants key, leaf, issuers). Returns path."""
        with open(self.key_file) as f:
            parts = {"key": f.read(), "cert": self.pem, "chain": "".join(self.chain_pems)}
        with open(path, "w") as f:
            for name in order:
                f.write(parts[name])
        os.chmod(path, 0o600)
        return path

    def fingerprint(self, digest="sha256"):
        out = _run_openssl(["x509", "-noout", "-fingerprint", f"-{digest}", "-in", self.cert_file])
        return out.strip().split("=", 1)[1]


def pem_blocks(text):
    """The PEM certificate blocks in `text`, normalised (LF line ends)."""
    return [m.group(0).replace("\r\n", "\n") + "\n" for m in re.finditer(
        r"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----", text)]


def make_certificate(directory, cn="tls.psm.test", *, key_type="rsa", bits=2048, curve="prime256v1",
                     days=2, issuer=None, name=None):
    """A new key and certificate in `directory` (files NAME.key, NAME.crt;
    NAME defaults to the CN). Self-signed unless `issuer` (a Certificate
    from make_ca) signs it. key_type: "rsa" or "ec"."""
    _require_openssl()
    name = name or re.sub(r"[^A-Za-z0-9.-]", "_", cn)
    key = os.path.join(directory, f"{name}.key")
    crt = os.path.join(directory, f"{name}.crt")
    if key_type == "rsa":
        _run_openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}", "-out", key])
    elif key_type == "ec":
        _run_openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}", "-out", key])
    else:
        raise ValueError(f"key_type {key_type!r}")
    os.chmod(key, 0o600)
    if issuer is None:
        _run_openssl(["req", "-x509", "-new", "-key", key, "-out", crt, "-days", str(days),
                      "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}"])
        chain = []
    else:
        csr = os.path.join(directory, f"{name}.csr")
        ext = os.path.join(directory, f"{name}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName=DNS:{cn}\nbasicConstraints=CA:FALSE\n")
        _run_openssl(["req", "-new", "-key", key, "-out", csr, "-subj", f"/CN={cn}"])
        _run_openssl(["x509", "-req", "-in", csr, "-CA", issuer.cert_file, "-CAkey", issuer.key_file,
                      "-CAcreateserial", "-out", crt, "-days", str(days), "-extfile", ext])
        chain = [issuer.pem] + issuer.chain_pems
    with open(crt) as f:
        pem = pem_blocks(f.read())[0]
    return Certificate(cn, crt, key, pem, key_type, chain)


def make_ca(directory, cn="psmtest CA", days=2):
    """A self-signed CA certificate (for chains: make_certificate(issuer=ca))."""
    _require_openssl()
    name = re.sub(r"[^A-Za-z0-9.-]", "_", cn)
    key = os.path.join(directory, f"{name}.key")
    crt = os.path.join(directory, f"{name}.crt")
    _run_openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", key])
    os.chmod(key, 0o600)
    _run_openssl(["req", "-x509", "-new", "-key", key, "-out", crt, "-days", str(days), "-subj", f"/CN={cn}",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    with open(crt) as f:
        pem = pem_blocks(f.read())[0]
    return Certificate(cn, crt, key, pem, "ec")


# -- openssl s_client -starttls smtp ---------------------------------------------

_REPLY_RE = re.compile(r"^(\d{3})([ -])(.*)$")


@dataclasses.dataclass
class SClientResult:
    returncode: int
    output: str             # stdout + stderr as seen
    protocol: str = None    # "TLSv1.3"
    cipher: str = None      # "TLS_AES_256_GCM_SHA384"
    reused: bool = False    # the session was resumed
    certificates: list = dataclasses.field(default_factory=list)  # PEM blocks, leaf first
    temp_key: str = None    # "X25519, 253 bits"
    verify_code: int = None
    reply_lines: list = dataclasses.field(default_factory=list)  # SMTP lines after the handshake

    @property
    def established(self):
        return self.protocol is not None and self.cipher not in (None, "(NONE)", "0000")


def s_client(address, port, *, source=None, commands=("EHLO client.psm.test", "QUIT"), options=(),
             sess_in=None, sess_out=None, timeout=20.0, reply_timeout=5.0):
    """Run `openssl s_client -starttls smtp` from `source` (default: a fresh
    client address): it sends its own EHLO and STARTTLS, then each of
    `commands` over TLS, waiting (up to reply_timeout) for a complete reply
    after each one. `options`: extra s_client flags (["-tls1_2"],
    ["-cipher", "..."]). Never raises for TLS or SMTP failures; inspect
    the result."""
    _require_openssl()
    source = source or netalloc.client_address()
    argv = [OPENSSL, "s_client", "-starttls", "smtp", "-connect", f"{address}:{port}",
            "-bind", f"{source}:0", "-showcerts", "-nocommands", "-ign_eof", *options]
    if sess_in:
        argv += ["-sess_in", sess_in]
    if sess_out:
        argv += ["-sess_out", sess_out]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={"PATH": "/usr/bin:/bin", "LANG": "C"})
    lines = []
    cond = threading.Condition()

    def reader():
        for raw in proc.stdout:
            with cond:
                lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                cond.notify_all()
        with cond:
            lines.append(None)  # EOF
            cond.notify_all()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout

    def wait_for(predicate, limit):
        end = min(deadline, time.monotonic() + limit)
        with cond:
            while not predicate():
                left = end - time.monotonic()
                if left <= 0 or (lines and lines[-1] is None):
                    return predicate()
                cond.wait(left)
            return True

    def summary_end():
        # Index just past the "---" that closes the session summary.
        for i, line in enumerate(lines):
            if line is not None and line.startswith(("New, ", "Reused, ")):
                for j in range(i + 1, len(lines)):
                    if lines[j] == "---":
                        return j + 1
        return None

    def echo_end():
        # s_client echoes the last line of the plaintext EHLO reply right
        # after the summary; our commands' replies come after that.
        end = summary_end()
        for j in range(end, len(lines)):
            if lines[j] is not None and _REPLY_RE.match(lines[j]):
                return j + 1
        return None

    replies_from = None
    try:
        if wait_for(lambda: summary_end() is not None, timeout):
            wait_for(lambda: echo_end() is not None, reply_timeout)
            with cond:
                replies_from = echo_end() or summary_end()
            for command in commands:
                with cond:
                    start = len(lines)
                proc.stdin.write(command.encode() + b"\r\n")
                proc.stdin.flush()
                wait_for(lambda: any(
                    line is not None and _REPLY_RE.match(line) and line[3] == " "
                    for line in lines[start:]), reply_timeout)
        proc.stdin.close()
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    except BrokenPipeError:
        proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        thread.join(timeout=5)
        proc.stdout.close()
        if not proc.stdin.closed:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
    text = "\n".join(line for line in lines if line is not None)
    res = parse_s_client(text, proc.returncode)
    res.reply_lines = [line for line in lines[replies_from or len(lines):]
                       if line is not None and _REPLY_RE.match(line)]
    return res


def parse_s_client(text, returncode=0):
    """Parse s_client's output (without -brief) into an SClientResult."""
    res = SClientResult(returncode, text)
    res.certificates = pem_blocks(text)
    for line in text.splitlines():
        m = re.match(r"^(New|Reused), (\S+), Cipher is (\S+)$", line)
        if m:
            res.reused = m.group(1) == "Reused"
            res.protocol = m.group(2) if m.group(2) != "(NONE)" else None
            res.cipher = m.group(3)
            continue
        m = re.match(r"^Server Temp Key: (.*)$", line)
        if m:
            res.temp_key = m.group(1)
        m = re.match(r"^\s*Verify return code: (\d+)", line)
        if m and res.verify_code is None:
            res.verify_code = int(m.group(1))
    # reply_lines (SMTP replies to `commands`) are filled in by s_client(),
    # which knows where they start.
    return res


# -- swaks --tls -------------------------------------------------------------------

def swaks_tls(address, port, *, source=None, extra=(), **kw):
    """swaks with STARTTLS (needs Debian's libnet-ssleay-perl): `--tls`
    (STARTTLS required; swaks gives up when it is refused). Returns the
    SwaksResult of smtp.swaks(); `tls_lines` are swaks' TLS notes."""
    if shutil.which("perl") is None:
        raise unittest.SkipTest("perl is not installed")
    res = smtp.swaks(address, port, source=source, extra=["--tls", *extra], **kw)
    res.tls_lines = [line.strip()[4:] for line in res.output.splitlines()
                     if line.strip().startswith("=== TLS")]
    return res


# -- a scripted client that can stop anywhere --------------------------------------

class StartTlsClient(smtp.SmtpClient):
    """An SmtpClient that can issue STARTTLS and then wrap its socket:

        with StartTlsClient(addr, port) as c:
            c.read_reply(); c.command("EHLO x")
            assert c.starttls().code == 220
            c.handshake()                       # Python ssl, any certificate accepted
            c.command("EHLO x")                 # over TLS now

    `client_hello()` gives the raw ClientHello bytes a real client would
    send, for tests that stall or corrupt the handshake on purpose."""

    def starttls(self, timeout=10.0):
        return self.command("STARTTLS", timeout=timeout)

    def handshake(self, *, timeout=10.0, minimum=None, maximum=None, ciphers=None):
        """TLS handshake on the connection (after a 220 to STARTTLS).
        Bytes the server sent before the handshake are dropped, as a real
        client must (RFC 3207). Raises ssl.SSLError / OSError on failure."""
        ctx = client_context(minimum=minimum, maximum=maximum, ciphers=ciphers)
        raw = self.sock
        raw.settimeout(timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname=None, do_handshake_on_connect=True)
        self.sock.settimeout(timeout)
        self._buf = b""
        return self.sock

    @property
    def tls_version(self):
        return self.sock.version() if isinstance(self.sock, ssl.SSLSocket) else None

    def _fill(self, deadline):
        # select() does not see bytes already decrypted inside the SSL
        # object: read those first, and treat a TLS alert as a reset.
        if not isinstance(self.sock, ssl.SSLSocket):
            return super()._fill(deadline)
        if self._closed:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if not self.sock.pending():
            readable, _, _ = select.select([self.sock], [], [], remaining)
            if not readable:
                return False
        try:
            chunk = self.sock.recv(65536)
        except (ssl.SSLWantReadError, BlockingIOError, InterruptedError, socket.timeout):
            return True
        except (ssl.SSLError, ConnectionResetError):
            self._closed = "reset"
            return False
        if not chunk:
            self._closed = "eof"
            return False
        self._buf += chunk
        self.received += chunk
        self._last_chunk_at = time.monotonic()
        return True


def client_context(*, minimum=None, maximum=None, ciphers=None):
    """A Python TLS client context that accepts any server certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def client_hello(*, minimum=None, maximum=None):
    """The bytes of a ClientHello (one TLS record) as Python's ssl would
    send it; nothing is connected."""
    ctx = client_context(minimum=minimum, maximum=maximum)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_side=False)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()
