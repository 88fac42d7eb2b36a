"""STARTTLS in our postscreen's SMTP engine: three private instances with
the same main.cf, master.cf and certificate run side by side - stock
postscreen + stock tlsproxy (the reference), our postscreen + our
tlsproxy, our postscreen + stock tlsproxy. Real clients (`openssl s_client
-starttls smtp`, a scripted Python TLS client) must get the same replies,
certificate and protocol from each, and the normalised postscreen and
tlsproxy log lines must be the same: STARTTLS offered at level may and
with the legacy postscreen_use_tls, refused MAIL before STARTTLS at level
encrypt (and legacy postscreen_enforce_tls), the deep tests over TLS ending
in the come-back-later 450 and PASS OLD on reconnect, input pipelined after
STARTTLS discarded, STARTTLS twice, and tlsproxy missing, silent, closing
at once or after its announcement, without TLS, or not a tlsproxy at all
(454 and stock's warnings).
"""

import os
import socket
import threading
import unittest

from psmtest import SmtpClient, SmtpClosed, client_address, require_root
from psmtest.tls import StartTlsClient, make_certificate, s_client, swaks_tls
from tls_common import DEEP, HOSTNAME, TlsInstance, no_cache, shared_dir, tls_params

COMMANDS = ["EHLO client.psm.test", "MAIL FROM:<s@client.psm.test>", "RCPT TO:<r@dest.psm.test>", "QUIT"]
EHLO_PLAIN = ("250-mx.psm.test | 250-SIZE 10240000 | 250-VRFY | 250-ETRN | 250-STARTTLS | "
              "250-ENHANCEDSTATUSCODES | 250-8BITMIME | 250-DSN | 250-SMTPUTF8 | 250 CHUNKING")


def run_script(inst, service, source, steps, timeout=10):
    """Steps: ("cmd", line), ("send", bytes), ("reply",), ("tls",) (the
    handshake), ("closed",). Returns the transcript (reply lines joined
    with " | ", "<tls TLSv1.3>", "<closed>")."""
    transcript = []
    c = StartTlsClient(*inst.endpoints[service], source=source, timeout=timeout)
    c.connect()
    try:
        for step in steps:
            kind = step[0]
            if kind == "cmd":
                c.send_line(step[1])
                transcript.append(" | ".join(c.read_reply().lines))
            elif kind == "send":
                c.send(step[1])
            elif kind == "reply":
                transcript.append(" | ".join(c.read_reply().lines))
            elif kind == "tls":
                c.handshake()
                transcript.append(f"<tls {c.tls_version}>")
            elif kind == "closed":
                c.wait_closed()
                transcript.append("<closed>")
    except SmtpClosed:
        transcript.append("<closed early>")
    finally:
        c.close()
    return transcript


class FakeService:
    """A UNIX listener at queue/private/NAME that accepts each connection,
    sends `payload` (if any), waits briefly and closes it: a broken
    tlsproxy. Bounded: stops within 0.2 s of stop()."""

    def __init__(self, path, payload=b""):
        self.path, self.payload = path, payload
        self.stopping = threading.Event()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                if self.payload:
                    conn.sendall(self.payload)
                    conn.settimeout(1)
                    try:
                        conn.recv(4096)  # the request
                    except OSError:
                        pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


class StarttlsInOurPostscreen(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        cls.cert = make_certificate(shared_dir(), cn=HOSTNAME)
        params = dict(DEEP, **tls_params(cls.cert))
        services = {
            "main": no_cache(), "cached": {},
            "encrypt": no_cache(postscreen_tls_security_level="encrypt"),
            "legacy_use": no_cache(postscreen_tls_security_level="", postscreen_use_tls="yes"),
            "legacy_enforce": no_cache(postscreen_tls_security_level="", postscreen_enforce_tls="yes"),
            "none": no_cache(postscreen_tls_security_level="none"),
            "no_tlsproxy": no_cache(tlsproxy_service_name="nosuchproxy"),
            "tls_off": no_cache(tlsproxy_service_name="tlsproxyoff"),
            "not_tlsproxy": no_cache(tlsproxy_service_name="tlsmgr"),  # announces tlsmgr_protocol
            "silent": no_cache(tlsproxy_service_name="dnsblog"),  # waits for a request, says nothing
            "closer": no_cache(tlsproxy_service_name="closer"),  # FakeService: closes at once
            "half": no_cache(tlsproxy_service_name="half"),  # FakeService: announces, then closes
        }
        # A tlsproxy whose TLS is off answers status=0.
        off = ["tlsproxyoff unix - - n - 0 tlsproxy -o tlsproxy_tls_security_level=none"]
        cls.stock = TlsInstance(postscreen="stock", tlsproxy="stock", params=params, services=services,
                                extra_services=off)
        cls.ours = TlsInstance(postscreen="ours", tlsproxy="ours", params=params, services=services,
                                extra_services=off)
        cls.mixed = TlsInstance(postscreen="ours", tlsproxy="stock", params=params, services=services,
                                extra_services=off)
        for inst in (cls.stock, cls.ours, cls.mixed):
            cls.enterClassContext(inst)
            cls.enterClassContext(FakeService(inst.pf.socket_path("closer", private=True)))
            cls.enterClassContext(FakeService(inst.pf.socket_path("half", private=True),
                                              b"protocol\0tlsproxy_protocol\0\0"))

    def all(self):
        return (self.stock, self.ours, self.mixed)

    def compare(self, scenario, tlsproxy=True, parallel=False):
        """scenario(inst, source) -> client result, run against the three
        (at the same time with `parallel`, for slow scenarios); results and
        normalised logs of ours and mixed must equal stock's. Returns
        stock's (result, lines)."""
        out, marks, sources, results = {}, {}, {}, {}
        for inst in self.all():
            marks[inst] = inst.log.mark()
            sources[inst] = client_address()
        if parallel:
            def run(inst):
                try:
                    results[inst] = scenario(inst, sources[inst])
                except BaseException as e:  # reported below
                    results[inst] = e

            threads = [threading.Thread(target=run, args=(inst,)) for inst in self.all()]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            for inst in self.all():
                if isinstance(results.get(inst), BaseException):
                    raise results[inst]
        for inst in self.all():
            result = results[inst] if parallel else scenario(inst, sources[inst])
            lines = inst.session_lines(marks[inst], sources[inst], timeout=30, tlsproxy=tlsproxy)
            self.assertEqual(inst.problems(marks[inst]), [], inst.pf.describe())
            out[inst] = (result, lines)
        ref = out[self.stock]
        for inst in (self.ours, self.mixed):
            with self.subTest(instance=inst.name):
                self.assertEqual(out[inst][0], ref[0], "what the client saw differs")
                self.assertEqual(out[inst][1]["postscreen"], ref[1]["postscreen"], "postscreen lines differ")
                self.assertEqual(out[inst][1]["tlsproxy"], ref[1]["tlsproxy"], "tlsproxy lines differ")
        return ref

    def test_s_client_deep_tests_over_tls(self):
        def scenario(inst, source):
            r = s_client(*inst.endpoints["main"], source=source, commands=COMMANDS)
            return (r.protocol, r.cipher, r.certificates, r.reply_lines)

        (protocol, cipher, certs, replies), lines = self.compare(scenario)
        self.assertEqual((protocol, cipher), ("TLSv1.3", "TLS_AES_256_GCM_SHA384"))
        self.assertEqual(certs, [self.cert.pem])
        self.assertNotIn("250-STARTTLS", replies)  # not offered again over TLS
        self.assertEqual(replies[-3:], ["250 2.1.0 Ok", "450 4.3.2 Service currently unavailable", "221 2.0.0 Bye"])
        self.assertEqual(lines["postscreen"][-2:], ["postscreen: PASS NEW [CLIENT]:PORT",
                                                    "postscreen: DISCONNECT [CLIENT]:PORT"])
        self.assertEqual(lines["tlsproxy"][0], "tlsproxy: CONNECT from [CLIENT]:PORT")

    def test_scripted_dialogue_forgets_helo_and_discards_pipelined_input(self):
        steps = [("reply",), ("cmd", "EHLO first.psm.test"), ("cmd", "MAIL FROM:<old@client.psm.test>"),
                 ("send", b"STARTTLS\r\nNOOP\r\n"), ("reply",), ("tls",),
                 ("cmd", "RCPT TO:<r@dest.psm.test>"),  # sender forgotten
                 ("cmd", "STARTTLS"),  # before EHLO, TLS active
                 ("cmd", "EHLO second.psm.test"), ("cmd", "MAIL FROM:<s@client.psm.test>"),
                 ("cmd", "RCPT TO:<r@dest.psm.test>"), ("cmd", "QUIT"), ("closed",)]

        transcript, lines = self.compare(lambda inst, source: run_script(inst, "main", source, steps))
        self.assertEqual(transcript[1], EHLO_PLAIN)
        self.assertEqual(transcript[3:6], ["220 2.0.0 Ready to start TLS", "<tls TLSv1.3>",
                                           "503 5.5.1 Error: need MAIL command"])
        self.assertEqual(transcript[6], "554 5.5.1 Error: TLS already active")
        # The NOOP sent with STARTTLS got no reply, but it was pipelining:
        # the deep test fails (enforce), so RCPT gets 550.
        self.assertEqual(transcript[-3:], ["550 5.5.1 Protocol error", "221 2.0.0 Bye", "<closed>"])
        self.assertTrue(any(line.startswith("postscreen: COMMAND PIPELINING from [CLIENT]:PORT after STARTTLS: NOOP")
                            for line in lines["postscreen"]), lines["postscreen"])

    def test_come_back_later_then_pass_old(self):
        for inst in self.all():
            with self.subTest(instance=inst.name):
                source = client_address()
                mark = inst.log.mark()
                r = s_client(*inst.endpoints["cached"], source=source, commands=COMMANDS)
                self.assertIn("450 4.3.2 Service currently unavailable", r.reply_lines, r.output)
                inst.log.wait_for(rf"^PASS NEW \[{source}\]:\d+$", "postscreen", since=mark, timeout=10)
                with SmtpClient(*inst.endpoints["cached"], source=source) as c:
                    self.assertEqual(c.read_reply().last, f"220 {HOSTNAME} ESMTP Postfix")
                    c.command("QUIT")
                inst.log.wait_for(rf"^PASS OLD \[{source}\]:\d+$", "postscreen", since=mark, timeout=10)

    def test_encrypt_refuses_mail_before_starttls(self):
        for service in ("encrypt", "legacy_enforce"):
            with self.subTest(service=service):
                steps = [("reply",), ("cmd", "EHLO c.psm.test"), ("cmd", "MAIL FROM:<s@client.psm.test>"),
                         ("cmd", "STARTTLS"), ("tls",), ("cmd", "EHLO c.psm.test"),
                         ("cmd", "MAIL FROM:<s@client.psm.test>"), ("cmd", "QUIT"), ("closed",)]
                transcript, _ = self.compare(lambda inst, source: run_script(inst, service, source, steps))
                self.assertEqual(transcript[2], "530 5.7.0 Must issue a STARTTLS command first")
                self.assertEqual(transcript[6], "250 2.1.0 Ok")

    def test_offered_by_level_and_legacy_switch(self):
        for service, offered in (("main", True), ("legacy_use", True), ("none", False)):
            with self.subTest(service=service):
                steps = [("reply",), ("cmd", "EHLO c.psm.test"), ("cmd", "STARTTLS"), ("cmd", "QUIT"), ("closed",)]
                transcript, _ = self.compare(lambda inst, source: run_script(inst, service, source, steps),
                                             tlsproxy=offered)
                self.assertEqual("250-STARTTLS" in transcript[1], offered)
                if not offered:
                    self.assertEqual(transcript[2], "502 5.5.1 Error: command not implemented")

    def test_plaintext_after_starttls_hangs_up(self):
        steps = [("reply",), ("cmd", "EHLO c.psm.test"), ("cmd", "STARTTLS"), ("send", b"EHLO plain.psm.test\r\n"),
                 ("closed",)]
        transcript, lines = self.compare(lambda inst, source: run_script(inst, "main", source, steps))
        self.assertEqual(transcript[-2:], ["220 2.0.0 Ready to start TLS", "<closed>"])
        self.assertEqual(lines["postscreen"][-2:], ["postscreen: HANGUP after TIME from [CLIENT]:PORT in tests "
                                                    "after SMTP handshake", "postscreen: DISCONNECT [CLIENT]:PORT"])
        self.assertIn("tlsproxy: TLS handshake failed for service=smtpd peer=[CLIENT]:PORT", lines["tlsproxy"])

    def test_swaks_tls(self):
        def scenario(inst, source):
            r = swaks_tls(*inst.endpoints["main"], source=source)
            return r.server_lines, r.tls_lines

        (server_lines, tls_lines), _ = self.compare(scenario)
        self.assertIn("220 2.0.0 Ready to start TLS", server_lines)
        self.assertTrue(any("TLS started" in line for line in tls_lines), tls_lines)
        self.assertIn("450 4.3.2 Service currently unavailable", server_lines)

    def test_tlsproxy_without_tls(self):
        steps = [("reply",), ("cmd", "EHLO c.psm.test"), ("cmd", "STARTTLS"), ("cmd", "NOOP"), ("cmd", "QUIT"),
                 ("closed",)]
        marks = {inst: inst.log.mark() for inst in self.all()}
        transcript, lines = self.compare(lambda inst, source: run_script(inst, "tls_off", source, steps))
        self.assertEqual(transcript[2:4], ["454 4.7.0 TLS not available due to local problem", "250 2.0.0 Ok"])
        warnings = {inst: [line.text for line in inst.log.lines("postscreen", since=marks[inst])
                           if line.severity == "warning"] for inst in self.all()}
        self.assertEqual(warnings[self.stock], ["warning: problem receiving status from private/tlsproxyoff service"])
        self.assertEqual(warnings[self.ours], warnings[self.stock])
        self.assertEqual(warnings[self.mixed], warnings[self.stock])

    def test_service_is_not_tlsproxy(self):
        steps = [("reply",), ("cmd", "EHLO c.psm.test"), ("cmd", "STARTTLS"), ("cmd", "NOOP"), ("cmd", "QUIT"),
                 ("closed",)]
        marks = {inst: inst.log.mark() for inst in self.all()}
        transcript, _ = self.compare(lambda inst, source: run_script(inst, "not_tlsproxy", source, steps),
                                     tlsproxy=False)
        self.assertEqual(transcript[2:4], ["454 4.7.0 TLS not available due to local problem", "250 2.0.0 Ok"])
        warnings = {inst: [line.text for line in inst.log.lines("postscreen", since=marks[inst])
                           if line.severity == "warning"] for inst in self.all()}
        self.assertEqual(warnings[self.ours], warnings[self.stock])
        self.assertEqual(warnings[self.mixed], warnings[self.stock])
        self.assertEqual(warnings[self.stock][-1],
                         "warning: problem receiving protocol attribute from private/tlsmgr service: Application error")

    def test_service_never_announces(self):
        steps = [("reply",), ("cmd", "EHLO c.psm.test"), ("cmd", "STARTTLS"), ("cmd", "NOOP"), ("cmd", "QUIT"),
                 ("closed",)]
        marks = {inst: inst.log.mark() for inst in self.all()}
        # postscreen gives up after its fixed 10 s.
        transcript, _ = self.compare(lambda inst, source: run_script(inst, "silent", source, steps, timeout=40),
                                     tlsproxy=False, parallel=True)
        self.assertEqual(transcript[2:4], ["454 4.7.0 TLS not available due to local problem", "250 2.0.0 Ok"])
        for inst in self.all():
            self.assertEqual([line.text for line in inst.log.lines("postscreen", since=marks[inst])
                              if line.severity == "warning"],
                             ["warning: timeout receiving protocol attribute from private/dnsblog service: "
                              "Resource temporarily unavailable"], inst.name)

    def test_broken_tlsproxy(self):
        steps = [("reply",), ("cmd", "EHLO c.psm.test"), ("cmd", "STARTTLS"), ("cmd", "NOOP"), ("cmd", "QUIT"),
                 ("closed",)]
        for service, warning in (
                ("closer", "warning: error sending request to private/closer service: Broken pipe"),
                ("half", "warning: problem receiving status from private/half service")):
            with self.subTest(service=service):
                marks = {inst: inst.log.mark() for inst in self.all()}
                transcript, _ = self.compare(lambda inst, source: run_script(inst, service, source, steps),
                                             tlsproxy=False)
                self.assertEqual(transcript[2:4], ["454 4.7.0 TLS not available due to local problem",
                                                   "250 2.0.0 Ok"])
                for inst in self.all():
                    self.assertEqual([line.text for line in inst.log.lines("postscreen", since=marks[inst])
                                      if line.severity == "warning"], [warning], inst.name)

    def test_tlsproxy_missing(self):
        steps = [("reply",), ("cmd", "EHLO c.psm.test"), ("cmd", "STARTTLS"), ("cmd", "MAIL FROM:<s@client.psm.test>"),
                 ("cmd", "QUIT"), ("closed",)]
        transcript, lines = self.compare(lambda inst, source: run_script(inst, "no_tlsproxy", source, steps),
                                         tlsproxy=False)
        self.assertEqual(transcript[2:4], ["454 4.7.0 TLS not available due to local problem", "250 2.1.0 Ok"])
        for inst in self.all():
            inst.log.wait_for(r"^warning: connect to private/nosuchproxy service: No such file or directory$",
                              "postscreen", since=0)


if __name__ == "__main__":
    unittest.main()
