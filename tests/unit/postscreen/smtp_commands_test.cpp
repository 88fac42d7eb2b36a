// Tests for the SMTP engine's command replies (every row of stock 3.7's
// table, spec §4.3), the EHLO response and its per-client keyword
// discarding, STARTTLS without tlsproxy, mandatory TLS, and the RCPT reject
// line (address forms, proto, helo, soft_bounce).
#include "engine_fixture.hpp"

#include "psm/util/log.hpp"

using psm::test::EngineFixture;
using psm::test::kNow;
using Next = psm::postscreen::SmtpEngine::Step::Next;

namespace {

const std::string kClient = "[192.0.2.7]:41511";
const std::string kEhloDefault = "250-mx.test.example\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
                                 "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
                                 "250 CHUNKING\r\n";

} // namespace

TEST_CASE("commands: HELO and EHLO", "[smtp_commands]") {
    EngineFixture f;
    CHECK(f.reply("HELO") == "501 Syntax: HELO hostname\r\n");
    CHECK(f.reply("HELO   ") == "501 Syntax: HELO hostname\r\n");
    CHECK(f.reply("HELO a.example extra words") == "250 mx.test.example\r\n");
    CHECK(f.engine->helo_name() == "a.example");
    CHECK(f.engine->protocol() == "SMTP");
    CHECK(f.reply("EHLO") == "501 Syntax: EHLO hostname\r\n");
    CHECK(f.reply("MAIL FROM:<a@b>") == "250 2.1.0 Ok\r\n");
    CHECK(f.reply("ehlo b.example") == kEhloDefault);
    CHECK(f.engine->helo_name() == "b.example");
    CHECK(f.engine->sender() == std::nullopt); // EHLO forgets the sender
    CHECK(f.engine->protocol() == "ESMTP");
    CHECK(f.reply("MAIL FROM:<a@b>") == "250 2.1.0 Ok\r\n");
    CHECK(f.reply("HELO c.example") == "250 mx.test.example\r\n");
    CHECK(f.engine->sender() == std::nullopt);
    CHECK(f.engine->protocol() == "ESMTP"); // never downgraded
}

TEST_CASE("commands: the EHLO response follows the configuration", "[smtp_commands]") {
    EngineFixture f({{"message_size_limit", "0"},
                     {"disable_vrfy_command", "yes"},
                     {"smtputf8_enable", "no"},
                     {"postscreen_use_tls", "yes"}});
    CHECK(f.reply("EHLO x") == "250-mx.test.example\r\n250-SIZE\r\n250-ETRN\r\n250-STARTTLS\r\n"
                               "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n");
    // disable_vrfy_command hides the keyword; the command follows
    // postscreen_disable_vrfy_command.
    EngineFixture g({{"disable_vrfy_command", "yes"}, {"postscreen_disable_vrfy_command", "no"}});
    CHECK(g.reply("VRFY x") == "450 4.3.2 Service currently unavailable\r\n");
    EngineFixture all({{"postscreen_discard_ehlo_keywords",
                        "size, VRFY etrn enhancedstatuscodes 8bitmime dsn smtputf8 chunking starttls nosuch"}});
    CHECK(all.reply("EHLO x") == "250 mx.test.example\r\n");
    CHECK(all.lines().empty());
    EngineFixture macro({{"postscreen_discard_ehlo_keywords", "EHLO_MASK_SMTPUTF8 dsn"}});
    CHECK(macro.reply("EHLO x") == "250-mx.test.example\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
                                   "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 CHUNKING\r\n");
}

TEST_CASE("commands: per-client EHLO keyword discarding", "[smtp_commands]") {
    std::vector<std::pair<std::string, std::string>> params = {
        {"postscreen_discard_ehlo_keywords", "smtputf8 dsn"},
        {"postscreen_discard_ehlo_keyword_address_maps", "inline:{{192.0.2.7=chunking dsn 8bitmime smtputf8}, "
                                                         "{192.0.2.8=dsn smtputf8}, {192.0.2.9=silent-discard, dsn}}"}};
    EngineFixture f(params);
    CHECK(f.reply("EHLO x") == "250-mx.test.example\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
                               "250 ENHANCEDSTATUSCODES\r\n");
    CHECK(f.lines() == std::vector<std::string>{
                           "[192.0.2.7]41511: discarding EHLO keywords: 8BITMIME DSN EHLO_MASK_SMTPUTF8 CHUNKING"});
    // Same mask as the static list: the static response, nothing logged.
    EngineFixture g(params);
    g.endpoint.client_addr = "192.0.2.8";
    CHECK(g.reply("EHLO x") == "250-mx.test.example\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
                               "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 CHUNKING\r\n");
    CHECK(g.lines().empty());
    // silent-discard: not logged; the map result replaces the static list.
    EngineFixture h(params);
    h.endpoint.client_addr = "192.0.2.9";
    CHECK(h.reply("EHLO x") == "250-mx.test.example\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
                               "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
    CHECK(h.lines().empty());
    // Not in the map: the static list.
    EngineFixture i(params);
    i.endpoint.client_addr = "192.0.2.10";
    CHECK(i.reply("EHLO x") == g.reply("EHLO y"));
    // BDAT honours the CHUNKING discard of the client's EHLO.
    CHECK(f.dropped("BDAT 1") == "502 5.5.1 Error: command not implemented");
}

TEST_CASE("commands: an EHLO discard map lookup error is fatal", "[smtp_commands]") {
    EngineFixture f({{"postscreen_discard_ehlo_keyword_address_maps", "texthash:/nonexistent/psm-ehlo"}});
    psm::log_throw_on_fatal(true);
    try {
        f.line("EHLO x");
        FAIL("no fatal error");
    } catch (const psm::FatalError& e) {
        CHECK(e.text == "postscreen_discard_ehlo_keyword_address_maps lookup error for 192.0.2.7");
    }
    psm::log_throw_on_fatal(false);
    CHECK(f.lines().back() == "warning: texthash:/nonexistent/psm-ehlo lookup error for \"192.0.2.7\"");
}

TEST_CASE("commands: MAIL, RCPT, RSET, NOOP", "[smtp_commands]") {
    EngineFixture f;
    CHECK(f.reply("RCPT TO:<a@b>") == "503 5.5.1 Error: need MAIL command\r\n");
    CHECK(f.reply("MAIL FROM a@b") == "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
    CHECK(f.reply("MAIL") == "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
    CHECK(f.reply("MAIL anything:<s@x> SIZE=10") == "250 2.1.0 Ok\r\n"); // never rejected
    CHECK(f.engine->sender() == "s@x");
    CHECK(f.reply("MAIL FROM:<t@x>") == "503 5.5.1 Error: nested MAIL command\r\n");
    CHECK(f.reply("RCPT TO a@b") == "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
    CHECK(f.lines().empty());
    CHECK(f.reply("RCPT TO:<r@y> NOTIFY=NEVER") == "450 4.3.2 Service currently unavailable\r\n");
    CHECK(f.lines() == std::vector<std::string>{"NOQUEUE: reject: RCPT from " + kClient +
                                                ": 450 4.3.2 Service currently unavailable; from=<s@x>, to=<r@y>, "
                                                "proto=SMTP, helo=<>"});
    CHECK(f.reply("RSET") == "250 2.0.0 Ok\r\n");
    CHECK(f.engine->sender() == std::nullopt);
    CHECK(f.reply("NOOP whatever") == "250 2.0.0 Ok\r\n");
    CHECK(f.reply("MAIL FROM:<>") == "250 2.1.0 Ok\r\n");
    CHECK(f.engine->sender() == "");
    f.log.clear();
    f.state.rcpt_reply = "550 5.3.2 Service currently unavailable";
    CHECK(f.reply("RCPT TO:<>") == "550 5.3.2 Service currently unavailable\r\n");
    CHECK(f.lines() == std::vector<std::string>{"NOQUEUE: reject: RCPT from " + kClient +
                                                ": 550 5.3.2 Service currently unavailable; from=<>, to=<>, "
                                                "proto=SMTP, helo=<>"});
}

TEST_CASE("commands: helo required", "[smtp_commands]") {
    EngineFixture f({{"postscreen_helo_required", "yes"}});
    CHECK(f.reply("MAIL FROM:<a@b>") == "503 5.5.1 Error: send HELO/EHLO first\r\n");
    CHECK(f.reply("ETRN x") == "503 5.5.1 Error: send HELO/EHLO first\r\n");
    CHECK(f.reply("HELO h") == "250 mx.test.example\r\n");
    CHECK(f.reply("MAIL FROM:<a@b>") == "250 2.1.0 Ok\r\n");
    CHECK(f.reply("ETRN x") == "458 Unable to queue messages\r\n");
}

TEST_CASE("commands: VRFY and ETRN", "[smtp_commands]") {
    EngineFixture f;
    CHECK(f.reply("VRFY") == "501 5.5.4 Syntax: VRFY address\r\n");
    CHECK(f.reply("VRFY postmaster") == "450 4.3.2 Service currently unavailable\r\n");
    CHECK(f.lines().empty()); // VRFY is not logged
    CHECK(f.reply("ETRN") == "500 Syntax: ETRN domain\r\n");
    CHECK(f.reply("ETRN example.com") == "458 Unable to queue messages\r\n");
    EngineFixture g({{"postscreen_disable_vrfy_command", "yes"}});
    CHECK(g.reply("VRFY x") == "502 5.5.1 VRFY command is disabled\r\n");
    CHECK(g.reply("VRFY") == "501 5.5.4 Syntax: VRFY address\r\n");
}

TEST_CASE("commands: DATA, BDAT and QUIT end the session", "[smtp_commands]") {
    struct Case {
        std::vector<std::string> before;
        std::string command;
        std::string final_reply;
        std::string logged;
    };
    const std::vector<Case> cases = {
        {{}, "DATA", "503 5.5.1 Error: need RCPT command", "DATA without valid RCPT from " + kClient},
        {{"MAIL FROM:<a>"}, "DATA", "554 5.5.1 Error: no valid recipients", "DATA without valid RCPT from " + kClient},
        {{"MAIL FROM:<a>"}, "DATA x", "501 5.5.4 Syntax: DATA", "DATA without valid RCPT from " + kClient},
        {{}, "BDAT", "501 5.5.4 Syntax: BDAT count [LAST]", "BDAT without valid RCPT from " + kClient},
        {{}, "BDAT 100 LAST", "554 5.5.1 Error: need MAIL command", "BDAT without valid RCPT from " + kClient},
        {{"MAIL FROM:<a>"},
         "BDAT 1",
         "554 5.5.1 Error: no valid recipients",
         "BDAT without valid RCPT from " + kClient},
        {{"MAIL FROM:<a>"}, "QUIT", "221 2.0.0 Bye", ""},
    };
    for (const Case& c : cases) {
        EngineFixture f;
        for (const auto& b : c.before)
            f.reply(b);
        CHECK(f.dropped(c.command) == c.final_reply);
        CHECK(f.lines() == (c.logged.empty() ? std::vector<std::string>{} : std::vector<std::string>{c.logged}));
    }
}

TEST_CASE("commands: STARTTLS without tlsproxy", "[smtp_commands]") {
    EngineFixture off;
    CHECK(off.reply("STARTTLS") == "502 5.5.1 Error: command not implemented\r\n");
    CHECK(off.reply("STARTTLS x") == "501 Syntax: EHLO hostname\r\n"); // sic, 3.7
    EngineFixture may({{"postscreen_tls_security_level", "may"}});
    CHECK(may.reply("EHLO x").find("250-STARTTLS\r\n") != std::string::npos);
    CHECK(may.reply("STARTTLS") == "454 4.7.0 TLS not available due to local problem\r\n");
    CHECK(may.reply("MAIL FROM:<a>") == "250 2.1.0 Ok\r\n");
    // Discarded for this client: not implemented.
    EngineFixture d({{"postscreen_use_tls", "yes"}, {"postscreen_discard_ehlo_keywords", "starttls"}});
    CHECK(d.reply("STARTTLS") == "454 4.7.0 TLS not available due to local problem\r\n"); // no EHLO yet
    CHECK(d.reply("EHLO x").find("STARTTLS") == std::string::npos);
    CHECK(d.reply("STARTTLS") == "502 5.5.1 Error: command not implemented\r\n");
}

TEST_CASE("commands: the STARTTLS seam", "[smtp_commands]") {
    EngineFixture f({{"postscreen_tls_security_level", "may"}});
    f.settings.tlsproxy_ready = true;
    f.reply("EHLO x");
    f.reply("MAIL FROM:<a>");
    auto step = f.line("STARTTLS");
    CHECK(step.next == Next::starttls);
    CHECK(step.output.empty());
    CHECK(f.engine->starttls_unavailable() == "454 4.7.0 TLS not available due to local problem\r\n");
    CHECK(f.engine->starttls_ready() == "220 2.0.0 Ready to start TLS\r\n");
    CHECK(f.engine->helo_name() == std::nullopt);
    CHECK(f.engine->sender() == std::nullopt);
    CHECK(f.reply("EHLO y").find("STARTTLS") == std::string::npos);
    CHECK(f.reply("STARTTLS") == "554 5.5.1 Error: TLS already active\r\n");
}

TEST_CASE("commands: mandatory TLS", "[smtp_commands]") {
    EngineFixture f({{"postscreen_tls_security_level", "encrypt"}});
    for (const char* allowed : {"HELO x", "EHLO x", "NOOP"})
        CHECK(f.reply(allowed).substr(0, 3) == "250");
    CHECK(f.reply("STARTTLS") == "454 4.7.0 TLS not available due to local problem\r\n");
    for (const char* refused : {"MAIL FROM:<a>", "RCPT TO:<b>", "VRFY x", "ETRN x", "RSET", "DATA", "BDAT 1"})
        CHECK(f.reply(refused) == "530 5.7.0 Must issue a STARTTLS command first\r\n");
    CHECK(f.reply("FOO") == "502 5.5.2 Error: command not recognized\r\n");
    CHECK(f.reply("AUTH x") == "502 5.5.2 Error: command not recognized\r\n");
    CHECK(f.dropped("QUIT") == "221 2.0.0 Bye");
    EngineFixture legacy({{"postscreen_enforce_tls", "yes"}});
    CHECK(legacy.reply("EHLO x").find("250-STARTTLS") != std::string::npos);
    CHECK(legacy.reply("RSET") == "530 5.7.0 Must issue a STARTTLS command first\r\n");
    EngineFixture none({{"postscreen_tls_security_level", "none"}, {"postscreen_enforce_tls", "yes"}});
    CHECK(none.reply("RSET") == "250 2.0.0 Ok\r\n");
}

TEST_CASE("commands: RCPT reject line address forms", "[smtp_commands]") {
    struct Case {
        const char* mail;
        const char* rcpt;
        const char* logged; // from=<...>, to=<...>
    };
    const Case cases[] = {
        {"MAIL FROM:<\"a b\"@x>", "RCPT TO:<c..d@y>", "from=<\"a b\"@x>, to=<\"c..d\"@y>"},
        {"MAIL FROM:<\xc3\xbc@x>", "RCPT TO:<\"\xc3\xbc x\"@y>", "from=<\xc3\xbc@x>, to=<\"\xc3\xbc x\"@y>"},
        {"MAIL FROM:<>", "RCPT TO:<@a,@b:u@d>", "from=<>, to=<u@d>"},
        {"MAIL FROM:x@y", "RCPT TO: <.a@b> x", "from=<x@y>, to=<\".a\"@b>"},
        {"MAIL FROM:<a.@b>", "RCPT TO:<@b>", "from=<\"a.\"@b>, to=<\"\"@b>"},
        {"MAIL FROM:<x\\y@z>", "RCPT TO:<a\\\"b@c>", "from=<xy@z>, to=<\"a\\\"b\"@c>"},
        {"MAIL FROM:   bare@x  more", "RCPT TO:<a(b)@c>", "from=<bare@x>, to=<\"a(b)\"@c>"},
        {"MAIL FROM:<a@b@c>", "RCPT TO:<no-domain>", "from=<\"a@b\"@c>, to=<no-domain>"},
        {"MAIL FROM:<\"x@y\"@z>", "RCPT TO:<unterminated", "from=<\"x@y\"@z>, to=<unterminated>"},
    };
    for (const Case& c : cases) {
        EngineFixture f;
        f.reply(c.mail);
        f.reply(c.rcpt);
        CHECK(f.lines() == std::vector<std::string>{"NOQUEUE: reject: RCPT from " + kClient +
                                                    ": 450 4.3.2 Service currently unavailable; " + c.logged +
                                                    ", proto=SMTP, helo=<>"});
    }
    EngineFixture internal({{"info_log_address_format", "internal"}});
    internal.reply("HELO h");
    internal.reply("MAIL FROM:<\"a b\"@x>");
    internal.reply("RCPT TO:<c..d@y>");
    CHECK(internal.lines() == std::vector<std::string>{"NOQUEUE: reject: RCPT from " + kClient +
                                                       ": 450 4.3.2 Service currently unavailable; from=<a b@x>, "
                                                       "to=<c..d@y>, proto=SMTP, helo=<h>"});
}

TEST_CASE("commands: RCPT under soft_bounce logs the softened reply", "[smtp_commands]") {
    EngineFixture f({{"soft_bounce", "yes"}});
    f.state.rcpt_reply = "550 5.5.1 Protocol error";
    f.reply("MAIL FROM:<a>");
    CHECK(f.reply("RCPT TO:<b>") == "450 4.5.1 Protocol error\r\n");
    CHECK(f.lines() == std::vector<std::string>{"NOQUEUE: reject: RCPT from " + kClient +
                                                ": 450 4.5.1 Protocol error; from=<a>, to=<b>, proto=SMTP, helo=<>"});
}

TEST_CASE("commands: a bad info_log_address_format dies at the first RCPT, as stock", "[smtp_commands]") {
    EngineFixture f({{"info_log_address_format", "fancy"}});
    f.reply("MAIL FROM:<a>");
    psm::log_throw_on_fatal(true);
    try {
        f.line("RCPT TO:<b>");
        FAIL("no fatal error");
    } catch (const psm::FatalError& e) {
        CHECK(e.text == "invalid parameter setting \"info_log_address_format = fancy\"");
    }
    psm::log_throw_on_fatal(false);
}

TEST_CASE("commands: footers decorate the engine's 4xx/5xx replies", "[smtp_commands]") {
    EngineFixture f({{"postscreen_reject_footer", "\\c(C)\\nD"}});
    CHECK(f.reply("FOO") == "502-5.5.2 Error: command not recognized(C)\r\n502 5.5.2 D\r\n");
    CHECK(f.reply("ETRN") == "500-Syntax: ETRN domain(C)\r\n500 D\r\n");
    CHECK(f.reply("ETRN x") == "458-Unable to queue messages(C)\r\n458 D\r\n");
    CHECK(f.reply("NOOP") == "250 2.0.0 Ok\r\n");
}
