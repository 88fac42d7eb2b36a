"""Our tlsproxy in place of stock's, under stock master and behind stock
postscreen 3.7 (deep protocol tests on, postscreen_tls_security_level =
may): real STARTTLS clients (`openssl s_client -starttls smtp`, `swaks
--tls`, a scripted Python client) against two instances side by side, one
with stock tlsproxy and one with ours, same main.cf, master.cf and
certificate. The client must see the configured certificate and protocol,
stock postscreen's replies over TLS (the come-back-later 450, then PASS OLD
on reconnect), and both tlsproxies must log the same normalised lines, also
for bad input (garbage instead of a ClientHello, plaintext after STARTTLS,
a client that stalls mid-handshake), after which tlsproxy is still the same
process and still serves; with a missing key it says so at start-up and
answers status 0, and stock postscreen gives the client 454.
"""

import re
import time
import unittest

from psmtest import SmtpClient, client_address, require_root
from psmtest.tls import StartTlsClient, client_hello, make_certificate, s_client, swaks_tls
from tls_common import DEEP, HOSTNAME, TlsInstance, no_cache, shared_dir, tls_params

EHLO_TLS = ["250-mx.psm.test", "250-SIZE 10240000", "250-VRFY", "250-ETRN", "250-ENHANCEDSTATUSCODES",
            "250-8BITMIME", "250-DSN", "250-SMTPUTF8", "250 CHUNKING"]
COMMANDS = ["EHLO client.psm.test", "MAIL FROM:<s@client.psm.test>", "RCPT TO:<r@dest.psm.test>", "QUIT"]
SHORT_LIMIT = 3  # postscreen_command_time_limit of the "short" endpoint (also tlsproxy's handshake timeout)


class TlsproxyBehindStockPostscreen(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_root()
        certs = shared_dir()
        cls.cert = make_certificate(certs, cn=HOSTNAME)
        cls.ec = make_certificate(certs, cn="ec.psm.test", key_type="ec")
        cls.ec_chain = cls.ec.write_combined(f"{certs}/ec-chain.pem")
        params = dict(DEEP, **tls_params(cls.cert))
        # "tls12": its own tlsproxy service, TLS 1.2 at most and the EC
        # certificate (smtpd_tls_chain_files), chosen by postscreen's
        # tlsproxy_service_name - so a second configuration runs beside the
        # main one and the client must see each as configured.
        services = {"main": no_cache(), "cached": {},
                    "tls12": no_cache(tlsproxy_service_name="tlsproxy12"),
                    "short": no_cache(postscreen_command_time_limit=f"{SHORT_LIMIT}s"),
                    "nokey": no_cache(tlsproxy_service_name="tlsproxynokey")}
        tls12 = (f"tlsproxy12 unix - - n - 0 tlsproxy -o tlsproxy_tls_protocols=!TLSv1.3 "
                 f"-o tlsproxy_tls_chain_files={cls.ec_chain} -o tlsproxy_tls_cert_file= -o tlsproxy_tls_key_file=")
        nokey = f"tlsproxynokey unix - - n - 0 tlsproxy -o tlsproxy_tls_key_file={certs}/missing.key"
        cls.stock = TlsInstance(postscreen="stock", tlsproxy="stock", params=params, services=services,
                                extra_services=[tls12, nokey])
        cls.ours = TlsInstance(postscreen="stock", tlsproxy="ours", params=params, services=services,
                               extra_services=[tls12, nokey])
        cls.enterClassContext(cls.stock)
        cls.enterClassContext(cls.ours)

    def both(self):
        return (self.stock, self.ours)

    def run_both(self, scenario, compare_postscreen=True):
        """scenario(instance, source) -> client-side result; returns
        [(result, log lines)] for stock and ours, logs compared."""
        out = []
        for inst in self.both():
            mark = inst.log.mark()
            source = client_address()
            result = scenario(inst, source)
            out.append((result, inst.session_lines(mark, source, timeout=SHORT_LIMIT * 3 + 15, tlsproxy=True)))
            self.assertEqual(inst.problems(mark), [], inst.pf.describe())
        (_, stock_lines), (_, our_lines) = out
        self.assertEqual(our_lines["tlsproxy"], stock_lines["tlsproxy"], "tlsproxy log lines differ")
        if compare_postscreen:
            self.assertEqual(our_lines["postscreen"], stock_lines["postscreen"], "postscreen log lines differ")
        return out

    def assert_still_serving(self, inst, bad_source):
        """The tlsproxy process that saw `bad_source` serves the next client."""
        bad = inst.log.wait_for(rf"^CONNECT from \[{bad_source}\]:\d+$", "tlsproxy", since=0)
        source = client_address()
        mark = inst.log.mark()
        r = s_client(*inst.endpoints["main"], source=source, commands=["EHLO again.psm.test", "QUIT"])
        self.assertEqual(r.protocol, "TLSv1.3", f"{inst.name}: {r.output}")
        self.assertEqual(r.reply_lines[-1], "221 2.0.0 Bye")
        good = inst.log.wait_for(rf"^CONNECT from \[{source}\]:\d+$", "tlsproxy", since=mark)
        self.assertEqual(good.pid, bad.pid, f"{inst.name}: tlsproxy was restarted")

    # -- good clients ---------------------------------------------------------

    def test_s_client_sees_configured_certificate_and_stock_replies(self):
        def scenario(inst, source):
            return s_client(*inst.endpoints["main"], source=source, commands=COMMANDS)

        (stock, stock_lines), (ours, _) = self.run_both(scenario)
        for r in (stock, ours):
            self.assertEqual(r.protocol, "TLSv1.3", r.output)
            self.assertEqual(r.cipher, "TLS_AES_256_GCM_SHA384")
            self.assertEqual(r.certificates, [self.cert.pem])
            self.assertEqual(r.verify_code, 18)  # self-signed, as made by the test
            self.assertEqual(r.reply_lines, EHLO_TLS + ["250 2.1.0 Ok", "450 4.3.2 Service currently unavailable",
                                                        "221 2.0.0 Bye"])
        self.assertEqual(ours.temp_key, stock.temp_key)
        self.assertEqual(stock_lines["tlsproxy"], [
            "tlsproxy: CONNECT from [CLIENT]:PORT",
            "tlsproxy: Anonymous TLS connection established from [CLIENT]:PORT: TLSv1.3 with cipher "
            "TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) "
            "server-digest SHA256",
            "tlsproxy: DISCONNECT [CLIENT]:PORT"])
        self.assertIn("postscreen: PASS NEW [CLIENT]:PORT", stock_lines["postscreen"])

    def test_second_service_tls12_with_ec_chain(self):
        def scenario(inst, source):
            return s_client(*inst.endpoints["tls12"], source=source, commands=COMMANDS)

        (stock, stock_lines), (ours, _) = self.run_both(scenario)
        for r in (stock, ours):
            self.assertEqual(r.protocol, "TLSv1.2", r.output)
            self.assertEqual(r.cipher, "ECDHE-ECDSA-AES256-GCM-SHA384")
            self.assertEqual(r.certificates, [self.ec.pem])
            self.assertEqual(r.reply_lines[-2:], ["450 4.3.2 Service currently unavailable", "221 2.0.0 Bye"])
        self.assertRegex(stock_lines["tlsproxy"][1], r"TLSv1\.2 with cipher ECDHE-ECDSA-AES256-GCM-SHA384 "
                                                     r"\(256/256 bits\)")

    def test_client_limited_to_tls12(self):
        def scenario(inst, source):
            return s_client(*inst.endpoints["main"], source=source, commands=COMMANDS[:1] + ["QUIT"],
                            options=["-tls1_2"])

        (stock, _), (ours, _) = self.run_both(scenario)
        self.assertEqual((ours.protocol, ours.cipher), (stock.protocol, stock.cipher))
        self.assertEqual(ours.protocol, "TLSv1.2")

    def test_swaks_tls(self):
        def scenario(inst, source):
            return swaks_tls(*inst.endpoints["main"], source=source)

        (stock, _), (ours, _) = self.run_both(scenario)
        for r in (stock, ours):
            self.assertIn("220 2.0.0 Ready to start TLS", r.server_lines, r.output)
            self.assertTrue(any("TLS started" in line for line in r.tls_lines), r.output)
            self.assertIn("450 4.3.2 Service currently unavailable", r.server_lines)
        self.assertEqual(ours.server_lines, stock.server_lines)
        self.assertEqual(ours.tls_lines, stock.tls_lines)

    def test_come_back_later_then_pass_old(self):
        for inst in self.both():
            with self.subTest(instance=inst.name):
                source = client_address()
                mark = inst.log.mark()
                r = s_client(*inst.endpoints["cached"], source=source, commands=COMMANDS)
                self.assertIn("450 4.3.2 Service currently unavailable", r.reply_lines, r.output)
                inst.log.wait_for(rf"^PASS NEW \[{source}\]:\d+$", "postscreen", since=mark, timeout=10)
                with SmtpClient(*inst.endpoints["cached"], source=source) as c:
                    greeting = c.read_reply()
                    self.assertEqual(greeting.last, f"220 {HOSTNAME} ESMTP Postfix")
                    c.command("QUIT")
                inst.log.wait_for(rf"^PASS OLD \[{source}\]:\d+$", "postscreen", since=mark, timeout=10)

    def test_missing_key(self):
        # tlsproxy says why at start-up, stays up and answers status=0;
        # postscreen tells the client 454 and carries on.
        out = []
        for inst in self.both():
            mark = inst.log.mark()
            c = StartTlsClient(*inst.endpoints["nokey"], timeout=10)
            with c:
                c.read_reply()
                c.command("EHLO c.psm.test")
                replies = [c.command("STARTTLS").last, c.command("NOOP").last]
            inst.log.wait_for(r"^DISCONNECT \[", "tlsproxy", since=mark, timeout=15)
            # Two processes write this log; postscreen's warning can land
            # after tlsproxy's DISCONNECT, so wait for it by name too.
            inst.log.wait_for(r"^warning: problem receiving status from", "postscreen", since=mark, timeout=15)
            lines = [line.text for line in inst.log.lines(["tlsproxy", "postscreen"], since=mark)
                     if line.severity == "warning"]
            out.append((replies, [re.sub(r"pid \d+|/tmp/\S+/", "X", text) for text in lines]))
        self.assertEqual(out[1], out[0])
        self.assertEqual(out[0][0], ["454 4.7.0 TLS not available due to local problem", "250 2.0.0 Ok"])
        self.assertIn("warning: problem receiving status from private/tlsproxynokey service", out[0][1])
        self.assertIn('warning: cannot get RSA private key from file "Xmissing.key": disabling TLS support', out[0][1])

    # -- bad input ------------------------------------------------------------

    def starttls_then(self, inst, source, service, action):
        c = StartTlsClient(*inst.endpoints[service], source=source, timeout=10)
        c.connect()
        try:
            c.read_reply()
            c.command("EHLO bad.psm.test")
            self.assertEqual(c.starttls().last, "220 2.0.0 Ready to start TLS")
            return action(c)
        finally:
            c.close()

    def test_garbage_instead_of_client_hello(self):
        sources = {}

        def scenario(inst, source):
            sources[inst.name] = source
            return self.starttls_then(inst, source, "main",
                                      lambda c: (c.send(b"\x00\x01garbage\xff\xfe\r\n" * 4), c.wait_closed())[1])

        (stock, lines), (ours, _) = self.run_both(scenario)
        self.assertEqual(ours, stock)
        self.assertIn("tlsproxy: TLS handshake failed for service=smtpd peer=[CLIENT]:PORT", lines["tlsproxy"])
        for inst in self.both():
            self.assert_still_serving(inst, sources[inst.name])

    def test_plaintext_after_starttls(self):
        def scenario(inst, source):
            return self.starttls_then(inst, source, "main",
                                      lambda c: (c.send_line("EHLO plain.psm.test"), c.wait_closed())[1])

        (stock, lines), (ours, _) = self.run_both(scenario)
        self.assertEqual(ours, stock)
        self.assertTrue(any("wrong version number" in line for line in lines["tlsproxy"]), lines)
        self.assertEqual(lines["postscreen"][-2:], ["postscreen: HANGUP after TIME from [CLIENT]:PORT in tests "
                                                    "after SMTP handshake", "postscreen: DISCONNECT [CLIENT]:PORT"])

    def test_client_stalls_mid_handshake(self):
        hello = client_hello()
        sources = {}

        def scenario(inst, source):
            sources[inst.name] = source

            def stall(c):
                c.send(hello[: len(hello) // 2])
                started = time.monotonic()
                how = c.wait_closed(timeout=SHORT_LIMIT * 3 + 20)
                return how, time.monotonic() - started

            return self.starttls_then(inst, source, "short", stall)

        # postscreen's command timer and tlsproxy's handshake timer have the
        # same length (one-second clocks in stock): postscreen logs COMMAND
        # TIME LIMIT or, when tlsproxy was first, HANGUP.
        (stock, _), (ours, lines) = self.run_both(scenario, compare_postscreen=False)
        self.assertRegex(lines["postscreen"][-2], r"^postscreen: (COMMAND TIME LIMIT from \[CLIENT\]:PORT after "
                                                  r"STARTTLS|HANGUP after TIME from \[CLIENT\]:PORT in tests after)")
        self.assertEqual(lines["tlsproxy"][-3:], [
            "tlsproxy: warning: ciphertext read/write timeout for [CLIENT]:PORT",
            "tlsproxy: TLS handshake failed for service=smtpd peer=[CLIENT]:PORT",
            "tlsproxy: DISCONNECT [CLIENT]:PORT"])
        self.assertEqual(ours[0], stock[0])
        # Closed by tlsproxy's handshake timeout (the command time limit), not at once.
        self.assertGreater(ours[1], SHORT_LIMIT - 1)
        for inst in self.both():
            self.assert_still_serving(inst, sources[inst.name])


if __name__ == "__main__":
    unittest.main()
