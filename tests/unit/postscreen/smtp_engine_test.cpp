// Tests for the SMTP engine's command loop: the start of the phase, the
// tokenising and "where" rules, the deep tests (pipelining on same-read
// bytes only, non-SMTP command, bare newline) with each action, the order of
// the per-command checks, the command count/time/length limits, X21 and the
// command filter. Log texts are stock 3.7's.
#include "engine_fixture.hpp"

#include "psm/util/log.hpp"

using psm::LineEnd;
using psm::test::EngineFixture;
using psm::test::kNow;
using Test = psm::postscreen::Test;
using Next = psm::postscreen::SmtpEngine::Step::Next;
using Action = psm::postscreen::Action;

namespace {

const std::string kClient = "[192.0.2.7]:41511";

} // namespace

TEST_CASE("engine: start sends the banner unless pregreet failed", "[smtp_engine]") {
    EngineFixture f;
    CHECK(f.engine->start(kNow) == "220 mx.test.example ESMTP Postfix\r\n");
    CHECK(f.engine->where() == "CONNECT");
    EngineFixture g;
    g.state[Test::pregreet].fail = true;
    CHECK(g.engine->start(kNow).empty());
    // soft_bounce and footers never touch a 220.
    EngineFixture h({{"soft_bounce", "yes"}, {"postscreen_reject_footer", "x"}, {"smtpd_banner", "b 5"}});
    CHECK(h.engine->start(kNow) == "220 b 5\r\n");
}

TEST_CASE("engine: earlier failures turn all deep tests on, X21 turns them off", "[smtp_engine]") {
    EngineFixture f;
    f.state.denylist_fail = true;
    f.engine->start(kNow);
    CHECK(f.state[Test::pipelining].todo);
    CHECK(f.state[Test::non_smtp].todo);
    CHECK(f.state[Test::bare_newline].todo);
    CHECK_FALSE(f.state[Test::pregreet].todo);

    EngineFixture veto;
    veto.state.allowlist_fail = true;
    veto.engine->start(kNow);
    CHECK(veto.state[Test::non_smtp].todo);

    EngineFixture x21;
    x21.todo({Test::pipelining, Test::bare_newline});
    x21.state.x21 = true;
    x21.state.denylist_fail = true;
    x21.engine->start(kNow);
    CHECK_FALSE(x21.state[Test::pipelining].todo);
    CHECK_FALSE(x21.state[Test::non_smtp].todo);
    CHECK_FALSE(x21.state[Test::bare_newline].todo);

    EngineFixture plain;
    plain.todo({Test::bare_newline});
    plain.engine->start(kNow);
    CHECK_FALSE(plain.state[Test::pipelining].todo);
    CHECK(plain.state[Test::bare_newline].todo);
}

TEST_CASE("engine: tokens are separated by SP only - where follows the command", "[smtp_engine]") {
    EngineFixture f;
    CHECK(f.reply("noop") == "250 2.0.0 Ok\r\n");
    CHECK(f.engine->where() == "NOOP");
    CHECK(f.reply("   NoOp   extra words") == "250 2.0.0 Ok\r\n");
    CHECK(f.reply("NOOP\tx") == "502 5.5.2 Error: command not recognized\r\n"); // TAB is part of the token
    CHECK(f.engine->where() == "UNIMPLEMENTED");
    CHECK(f.reply("") == "502 5.5.2 Error: command not recognized\r\n");
    CHECK(f.reply("    ") == "502 5.5.2 Error: command not recognized\r\n");
    CHECK(f.reply("AUTH PLAIN x") == "502 5.5.2 Error: command not recognized\r\n");
    CHECK(f.engine->where() == "AUTH"); // known but disabled
    CHECK(f.reply("XCLIENT ADDR=1.2.3.4") == "502 5.5.2 Error: command not recognized\r\n");
    CHECK(f.reply("XFORWARD NAME=x") == "502 5.5.2 Error: command not recognized\r\n");
    // Stock works on C strings: a NUL ends the line.
    CHECK(f.reply(std::string("NOOP\0junk", 9)) == "250 2.0.0 Ok\r\n");
    CHECK(f.reply(std::string("\0NOOP", 5)) == "502 5.5.2 Error: command not recognized\r\n");
    CHECK(f.engine->command_count() == 10);
    CHECK(f.lines().empty());
}

TEST_CASE("engine: pipelining is detected from bytes of the same read", "[smtp_engine]") {
    EngineFixture f; // default action: enforce
    f.todo({Test::pipelining});
    f.engine->start(kNow);
    CHECK(f.reply("EHLO client.example").substr(0, 20) == "250-mx.test.example\r");
    auto step = f.line("MAIL FROM:<a@x>", "RCPT TO:<b@y>\r\nDATA\r\n");
    CHECK(step.next == Next::read);
    CHECK(step.output == "250 2.1.0 Ok\r\n"); // the command is still executed
    CHECK(f.lines() == std::vector<std::string>{"COMMAND PIPELINING from " + kClient +
                                                " after MAIL: RCPT TO:<b@y>\\r\\nDATA\\r\\n"});
    CHECK(f.state[Test::pipelining].fail);
    CHECK(f.state[Test::pipelining].done);
    CHECK(f.client.stamps[Test::pipelining] == psm::kStampDisabled);
    CHECK(f.state.noforward);
    CHECK(f.state.rcpt_reply == "550 5.5.1 Protocol error");
    // Only one finding per session; RCPT gets the enforce reply.
    f.log.clear();
    CHECK(f.line("RCPT TO:<b@y>", "DATA\r\n").output == "550 5.5.1 Protocol error\r\n");
    CHECK(f.lines() == std::vector<std::string>{"NOQUEUE: reject: RCPT from " + kClient +
                                                ": 550 5.5.1 Protocol error; from=<a@x>, to=<b@y>, proto=ESMTP, "
                                                "helo=<client.example>"});
    CHECK_FALSE(f.state[Test::pipelining].pass); // a failed test does not pass at RCPT
}

TEST_CASE("engine: pipelining log cuts the raw bytes at 100 before escaping", "[smtp_engine]") {
    EngineFixture f({{"postscreen_pipelining_action", "ignore"}});
    f.todo({Test::pipelining});
    std::string pending = "\001" + std::string(120, 'x');
    CHECK(f.line("nOoP\tz", pending).output == "502 5.5.2 Error: command not recognized\r\n");
    CHECK(f.lines() == std::vector<std::string>{"COMMAND PIPELINING from " + kClient + " after nOoP?z: \\001" +
                                                std::string(99, 'x')});
    // ignore: passed until min_ttl (60 s with defaults), not re-tested.
    CHECK(f.state[Test::pipelining].pass);
    CHECK_FALSE(f.state[Test::pipelining].fail);
    CHECK(f.client.stamps[Test::pipelining] == kNow + 60);
    CHECK_FALSE(f.state.noforward);
    f.log.clear();
    f.line("NOOP", "NOOP\r\n");
    CHECK(f.lines().empty());
}

TEST_CASE("engine: pipelining drop, BDAT exemption, no pending no finding", "[smtp_engine]") {
    EngineFixture f({{"postscreen_pipelining_action", "drop"}});
    f.todo({Test::pipelining});
    CHECK(f.reply("NOOP") == "250 2.0.0 Ok\r\n");
    CHECK(f.lines().empty());
    // BDAT has a payload: not a pipelining finding.
    auto step = f.line("BDAT 10 LAST", "0123456789");
    CHECK(step.next == Next::conclude);
    CHECK(f.state.final_reply == "554 5.5.1 Error: need MAIL command");
    CHECK_FALSE(f.state[Test::pipelining].fail);

    EngineFixture g({{"postscreen_pipelining_action", "drop"}});
    g.todo({Test::pipelining});
    CHECK(g.dropped("HELO x", "MAIL FROM:<>\r\n") == "521 5.5.1 Protocol error");
    CHECK(g.engine->helo_name() == std::nullopt); // the command is not executed
    CHECK(g.engine->finished());
    // Pipelining is not tested when not to do.
    EngineFixture h;
    CHECK(h.line("NOOP", "NOOP\r\n").output == "250 2.0.0 Ok\r\n");
    CHECK(h.lines().empty());
}

TEST_CASE("engine: non-SMTP commands: header labels, forbidden commands, bad UTF-8", "[smtp_engine]") {
    EngineFixture f({{"postscreen_non_smtp_command_action", "ignore"}});
    f.todo({Test::non_smtp});
    CHECK(f.reply("FOO BAR") == "502 5.5.2 Error: command not recognized\r\n");
    CHECK(f.lines().empty());
    CHECK(f.reply("Subject\t: hi  there\x01") == "502 5.5.2 Error: command not recognized\r\n");
    CHECK(f.lines() == std::vector<std::string>{"NON-SMTP COMMAND from " + kClient +
                                                " after UNIMPLEMENTED: Subject?: hi  there\\001"});
    CHECK(f.state[Test::non_smtp].pass);
    CHECK(f.client.stamps[Test::non_smtp] == kNow + 60);

    auto fresh = [](std::string_view line) {
        EngineFixture g({{"postscreen_non_smtp_command_action", "enforce"}});
        g.todo({Test::non_smtp});
        g.reply(line);
        return g.lines();
    };
    CHECK(fresh("GET / HTTP/1.0") ==
          std::vector<std::string>{"NON-SMTP COMMAND from " + kClient + " after CONNECT: GET / HTTP/1.0"});
    CHECK(fresh("post /x") == std::vector<std::string>{"NON-SMTP COMMAND from " + kClient + " after CONNECT: post /x"});
    CHECK(fresh("CONNECT host:25") ==
          std::vector<std::string>{"NON-SMTP COMMAND from " + kClient + " after CONNECT: CONNECT host:25"});
    // The default regexp: a token not starting with a letter.
    CHECK(fresh("\x16\x03\x01") ==
          std::vector<std::string>{"NON-SMTP COMMAND from " + kClient + " after CONNECT: ??? "});
    CHECK(fresh("1234") == std::vector<std::string>{"NON-SMTP COMMAND from " + kClient + " after CONNECT: 1234 "});
    CHECK(fresh("From: a@b") ==
          std::vector<std::string>{"NON-SMTP COMMAND from " + kClient + " after CONNECT: From: a@b"});
    CHECK(fresh("MAIL: x").size() == 1);   // "MAIL:" is not a command
    CHECK(fresh("caf\xc3\xa9").empty());   // valid UTF-8, starts with a letter
    CHECK(fresh("caf\xe9 x").size() == 1); // bad UTF-8 with smtputf8_enable
    CHECK(fresh("AUTH: x").size() == 1);
    CHECK(fresh("auth x").empty()); // known (disabled) commands are never non-SMTP
    CHECK(fresh(":x").size() == 1); // ':' then the regexp
    EngineFixture latin({{"smtputf8_enable", "no"}, {"postscreen_forbidden_commands", ""}});
    latin.todo({Test::non_smtp});
    latin.reply("caf\xe9 x");
    latin.reply("GET /");
    CHECK(latin.lines().empty());
}

TEST_CASE("engine: non-SMTP actions", "[smtp_engine]") {
    EngineFixture f; // default drop
    f.todo({Test::non_smtp});
    f.reply("EHLO x");
    CHECK(f.dropped("GET / HTTP/1.0") == "521 5.7.0 Error: I can break rules, too. Goodbye.");
    CHECK(f.lines() == std::vector<std::string>{"NON-SMTP COMMAND from " + kClient + " after EHLO: GET / HTTP/1.0"});
    CHECK(f.state[Test::non_smtp].fail);
    CHECK(f.client.stamps[Test::non_smtp] == psm::kStampDisabled);

    EngineFixture e({{"postscreen_non_smtp_command_action", "enforce"}});
    e.todo({Test::non_smtp});
    CHECK(e.reply("GET /") == "502 5.5.2 Error: command not recognized\r\n");
    CHECK(e.state.rcpt_reply == "550 5.5.1 Protocol error");
    CHECK(e.state.noforward);
    CHECK(e.reply("VRFY x") == "550 5.5.1 Protocol error\r\n");
    // The NON-SMTP log escapes the rest of the line after cutting it at 100 bytes.
    EngineFixture g({{"postscreen_non_smtp_command_action", "ignore"}});
    g.todo({Test::non_smtp});
    std::string token(150, 'T');
    g.reply(token + ": " + std::string(120, '\t'));
    std::string expected = "NON-SMTP COMMAND from " + kClient + " after CONNECT: " + std::string(100, 'T') + " ";
    for (int i = 0; i < 100; ++i)
        expected += "\\t";
    CHECK(g.lines() == std::vector<std::string>{expected});
}

TEST_CASE("engine: bare newline test, logged with the line text", "[smtp_engine]") {
    EngineFixture f; // default ignore
    f.todo({Test::bare_newline});
    auto step = f.line("EHLO bare.example", {}, LineEnd::bare_lf);
    CHECK(step.output.substr(0, 4) == "250-"); // the line is still processed
    CHECK(f.lines() == std::vector<std::string>{"BARE NEWLINE from " + kClient + " after EHLO bare.example"});
    CHECK(f.state[Test::bare_newline].pass);
    CHECK(f.client.stamps[Test::bare_newline] == kNow + 60);
    f.log.clear();
    f.line("NOOP", {}, LineEnd::bare_lf);
    CHECK(f.lines().empty()); // once per session

    EngineFixture d({{"postscreen_bare_newline_action", "drop"}});
    d.todo({Test::bare_newline});
    CHECK(d.dropped("HELO x\r", {}, LineEnd::bare_lf) == "521 5.5.1 Protocol error");
    CHECK(d.lines() == std::vector<std::string>{"BARE NEWLINE from " + kClient + " after HELO x\\r"});
    CHECK(d.engine->helo_name() == std::nullopt);
    CHECK(d.engine->command_count() == 0);

    EngineFixture e({{"postscreen_bare_newline_action", "enforce"}});
    e.todo({Test::bare_newline});
    e.line(std::string(130, 'a'), {}, LineEnd::bare_lf);
    CHECK(e.lines() == std::vector<std::string>{"BARE NEWLINE from " + kClient + " after " + std::string(100, 'a')});
    CHECK(e.state.rcpt_reply == "550 5.5.1 Protocol error");
    CHECK(e.state[Test::bare_newline].fail);

    EngineFixture off;
    off.line("NOOP", {}, LineEnd::bare_lf);
    CHECK(off.lines().empty());
}

TEST_CASE("engine: order of the checks on one line", "[smtp_engine]") {
    // Bare newline, then non-SMTP, then pipelining: three lines logged for one command.
    EngineFixture f({{"postscreen_non_smtp_command_action", "ignore"}, {"postscreen_pipelining_action", "ignore"}});
    f.todo({Test::pipelining, Test::non_smtp, Test::bare_newline});
    f.engine->start(kNow);
    f.line("GET /", "x", LineEnd::bare_lf);
    CHECK(f.lines() == std::vector<std::string>{"BARE NEWLINE from " + kClient + " after GET /",
                                                "NON-SMTP COMMAND from " + kClient + " after CONNECT: GET /",
                                                "COMMAND PIPELINING from " + kClient + " after GET: x"});
    // The last enforce reply wins.
    EngineFixture g({{"postscreen_non_smtp_command_action", "enforce"}});
    g.todo({Test::pipelining, Test::non_smtp});
    g.state.rcpt_reply = "550 5.7.1 Service unavailable; client [192.0.2.7] blocked using bl.example";
    g.line("GET /", "x");
    CHECK(g.state.rcpt_reply == "550 5.5.1 Protocol error");
}

TEST_CASE("engine: RCPT passes the deep tests still undecided", "[smtp_engine]") {
    EngineFixture f({{"postscreen_pipelining_ttl", "3d"},
                     {"postscreen_non_smtp_command_ttl", "2d"},
                     {"postscreen_bare_newline_ttl", "1d"}});
    f.todo({Test::pipelining, Test::non_smtp, Test::bare_newline});
    f.engine->start(kNow);
    CHECK(f.reply("RCPT TO:<x@y>") == "503 5.5.1 Error: need MAIL command\r\n"); // whatever its syntax
    CHECK(f.state[Test::pipelining].pass);
    CHECK(f.state[Test::non_smtp].pass);
    CHECK(f.state[Test::bare_newline].pass);
    CHECK(f.client.stamps[Test::pipelining] == kNow + 3 * 86400);
    CHECK(f.client.stamps[Test::non_smtp] == kNow + 2 * 86400);
    CHECK(f.client.stamps[Test::bare_newline] == kNow + 86400);
    // A later violation still fails the test.
    f.line("NOOP", "NOOP\r\n", LineEnd::crlf, kNow + 5);
    CHECK(f.state[Test::pipelining].fail);
    CHECK_FALSE(f.state[Test::pipelining].pass);
    CHECK(f.client.stamps[Test::pipelining] == psm::kStampDisabled);
    // Tests not to do are not passed.
    EngineFixture g;
    g.todo({Test::bare_newline});
    g.reply("rcpt to:x");
    CHECK(g.state[Test::bare_newline].pass);
    CHECK_FALSE(g.state[Test::pipelining].pass);
    CHECK(g.client.stamps[Test::pipelining] == 0);
}

TEST_CASE("engine: the 21st command hits the count limit - QUIT is exempt", "[smtp_engine]") {
    EngineFixture f;
    f.engine->start(kNow);
    for (int i = 0; i < 19; ++i)
        f.reply(i % 2 ? "" : "NOOP");
    CHECK(f.reply("HELO x") == "250 mx.test.example\r\n"); // 20th
    CHECK(f.dropped("NOOP") == "421 mx.test.example Service unavailable - try again later");
    CHECK(f.lines() == std::vector<std::string>{"COMMAND COUNT LIMIT from " + kClient + " after HELO"});
    CHECK(f.engine->where() == "NOOP");

    EngineFixture q({{"postscreen_command_count_limit", "2"}});
    q.reply("NOOP");
    q.reply("NOOP");
    CHECK(q.dropped("QUIT") == "221 2.0.0 Bye");
    CHECK(q.lines().empty());
}

TEST_CASE("engine: command time and length limits", "[smtp_engine]") {
    EngineFixture f;
    f.engine->start(kNow);
    auto step = f.engine->on_time_limit();
    CHECK(step.next == Next::conclude);
    CHECK(f.state.final_reply == "421 4.4.2 mx.test.example Error: timeout exceeded");
    CHECK(f.state.noforward);
    CHECK(f.lines() == std::vector<std::string>{"COMMAND TIME LIMIT from " + kClient + " after CONNECT"});

    EngineFixture g;
    g.reply("xxx");
    step = g.engine->on_line_too_long();
    CHECK(step.next == Next::conclude);
    CHECK(g.state.final_reply == "421 mx.test.example Service unavailable - try again later");
    CHECK(g.lines() == std::vector<std::string>{"COMMAND LENGTH LIMIT from " + kClient + " after UNIMPLEMENTED"});
    CHECK(g.engine->line_length_limit() == 2048);
    CHECK(g.engine->command_time_limit(false) == 300);
    CHECK(g.engine->command_time_limit(true) == 10);
    EngineFixture h({{"postscreen_command_time_limit", "60s"}, {"line_length_limit", "1000"}});
    CHECK(h.engine->command_time_limit(true) == 60);
    CHECK(h.engine->line_length_limit() == 1000);
}

TEST_CASE("engine: X21 answers the first command other than QUIT", "[smtp_engine]") {
    EngineFixture f;
    f.state.x21 = true;
    f.state.final_reply = "421 4.3.2 No system resources";
    CHECK(f.engine->start(kNow) == "220 mx.test.example ESMTP Postfix\r\n");
    CHECK(f.dropped("EHLO x") == "421 4.3.2 No system resources");
    EngineFixture q;
    q.state.x21 = true;
    q.state.final_reply = "421 4.3.2 No system resources";
    CHECK(q.dropped("quit") == "221 2.0.0 Bye");
    CHECK(q.lines().empty());
}

TEST_CASE("engine: a finished engine only concludes", "[smtp_engine]") {
    EngineFixture f;
    f.dropped("QUIT");
    CHECK(f.line("NOOP").next == Next::conclude);
    CHECK(f.state.final_reply == "221 2.0.0 Bye");
}

TEST_CASE("engine: the command filter replaces the whole line", "[smtp_engine]") {
    EngineFixture f({{"postscreen_command_filter", "regexp:{{/^rcpt to:<(.*)> +NOTIFY=.*/ RCPT TO:<$$1>}, "
                                                   "{/^(NOOP)[[:space:]]+$$/ $$1}}"}});
    f.reply("EHLO x");
    f.reply("MAIL FROM:<a@b>");
    f.log.clear();
    CHECK(f.reply("  RCPT TO:<x@y> NOTIFY=NEVER") == "450 4.3.2 Service currently unavailable\r\n");
    CHECK(f.lines() ==
          std::vector<std::string>{
              "[192.0.2.7]:41511: replacing command \"  RCPT TO:<x@y> NOTIFY=NEVER\" with \"RCPT TO:<x@y>\"",
              "NOQUEUE: reject: RCPT from " + kClient +
                  ": 450 4.3.2 Service currently unavailable; from=<a@b>, to=<x@y>, proto=ESMTP, helo=<x>"});
    f.log.clear();
    CHECK(f.reply("NOOP\t\t") == "250 2.0.0 Ok\r\n");
    CHECK(f.lines().size() == 1);
    // Not for malformed UTF-8 when smtputf8_enable is on.
    f.log.clear();
    CHECK(f.reply("NOOP \xff\t") == "250 2.0.0 Ok\r\n");
    CHECK(f.lines().empty());
}

TEST_CASE("engine: a command filter lookup error is fatal", "[smtp_engine]") {
    EngineFixture f({{"postscreen_command_filter", "texthash:/nonexistent/psm-filter"}});
    psm::log_throw_on_fatal(true);
    try {
        f.line("NOOP");
        FAIL("no fatal error");
    } catch (const psm::FatalError& e) {
        CHECK(e.text == "texthash:/nonexistent/psm-filter lookup error for \"NOOP\"");
    }
    psm::log_throw_on_fatal(false);
}
