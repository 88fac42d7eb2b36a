// Tests for postscreen's reply formatter: soft_bounce, reply footers from
// postscreen_reject_footer and postscreen_reject_footer_maps, macro
// expansion, the expansion filter and stock 3.7's template rules (each
// expectation was checked against stock 3.7.11 postscreen).
#include "reply_formatter.hpp"

#include "support/log_capture.hpp"

#include "psm/global/main_cf.hpp"
#include "psm/util/error.hpp"

#include <catch2/catch.hpp>

#include <ctime>

using psm::Config;
using psm::postscreen::ClientEndpoint;
using psm::postscreen::ReplyFormatter;

namespace {

const ClientEndpoint kClient{"127.0.0.30", "38127", "127.0.0.1", "25"};

// Nov 22 01:54:46 local time (the verified example's timestamp).
std::time_t example_time() {
    std::tm tm{};
    tm.tm_year = 2026 - 1900;
    tm.tm_mon = 10;
    tm.tm_mday = 22;
    tm.tm_hour = 1;
    tm.tm_min = 54;
    tm.tm_sec = 46;
    tm.tm_isdst = -1;
    return std::mktime(&tm);
}

ReplyFormatter formatter(std::initializer_list<std::pair<const char*, const char*>> params) {
    Config config;
    config.set_override("myhostname", "mx.test.example");
    config.set_override("compatibility_level", "3.6");
    for (const auto& [name, value] : params)
        config.set_override(name, value);
    ReplyFormatter f = ReplyFormatter::from_config(config);
    f.set_clock(example_time);
    return f;
}

} // namespace

TEST_CASE("reply formatter: plain replies get CRLF and nothing else", "[reply_formatter]") {
    ReplyFormatter plain;
    CHECK(plain.format("250 2.0.0 Ok", kClient) == "250 2.0.0 Ok\r\n");
    CHECK(plain.format("550 5.5.1 Protocol error\r\n", kClient) == "550 5.5.1 Protocol error\r\n");
    CHECK(formatter({}).format("421 4.3.2 Service currently unavailable", kClient) ==
          "421 4.3.2 Service currently unavailable\r\n");
}

TEST_CASE("reply formatter: soft_bounce softens the code and the status class", "[reply_formatter]") {
    ReplyFormatter f = formatter({{"soft_bounce", "yes"}});
    CHECK(f.soft_bounce());
    CHECK(f.format("521 5.7.1 Service unavailable; client [1.2.3.4] blocked using x", kClient) ==
          "421 4.7.1 Service unavailable; client [1.2.3.4] blocked using x\r\n");
    CHECK(f.format("550 5.3.2 Service currently unavailable", kClient) ==
          "450 4.3.2 Service currently unavailable\r\n");
    CHECK(f.format("502 5.5.2 Error: command not recognized", kClient) ==
          "402 4.5.2 Error: command not recognized\r\n");
    CHECK(f.format("501 Syntax: HELO hostname", kClient) == "401 Syntax: HELO hostname\r\n");
    CHECK(f.format("221 2.0.0 Bye", kClient) == "221 2.0.0 Bye\r\n");
    // Stock looks at the fifth byte whatever it is.
    CHECK(f.format("250 5mx.example", kClient) == "250 4mx.example\r\n");
    CHECK(f.soften("550 5.5.1 Protocol error") == "450 4.5.1 Protocol error");
    CHECK(formatter({}).soften("550 5.5.1 Protocol error") == "550 5.5.1 Protocol error");
}

TEST_CASE("reply formatter: the verified footer example", "[reply_formatter]") {
    psm::test::LogCapture log;
    ReplyFormatter f = formatter(
        {{"postscreen_reject_footer",
          "\\c (see $server_name, client $client_address:$client_port at $localtime $nosuch)\\nSecond line"}});
    CHECK(f.format("550 5.3.2 Service currently unavailable", kClient) ==
          "550-5.3.2 Service currently unavailable (see mx.test.example, client 127.0.0.30:38127 at Nov 22 01:54:46 )"
          "\r\n550 5.3.2 Second line\r\n");
    CHECK(log.lines() == std::vector<std::string>{"warning: unknown macro name \"nosuch\" in expansion request"});
}

TEST_CASE("reply formatter: footers only for 4xx and 5xx, with copied codes", "[reply_formatter]") {
    ReplyFormatter f = formatter({{"postscreen_reject_footer", "Contact postmaster\\nat $server_name"}});
    CHECK(f.format("250 2.0.0 Ok", kClient) == "250 2.0.0 Ok\r\n");
    CHECK(f.format("220 mx ESMTP", kClient) == "220 mx ESMTP\r\n");
    CHECK(
        f.format("502 5.5.2 Error: command not recognized", kClient) ==
        "502-5.5.2 Error: command not recognized\r\n502-5.5.2 Contact postmaster\r\n502 5.5.2 at mx.test.example\r\n");
    // No enhanced status code: none is copied.
    CHECK(f.format("500 Syntax: ETRN domain", kClient) ==
          "500-Syntax: ETRN domain\r\n500-Contact postmaster\r\n500 at mx.test.example\r\n");
    CHECK(f.format("421 mx.test.example Service unavailable - try again later", kClient) ==
          "421-mx.test.example Service unavailable - try again later\r\n421-Contact postmaster\r\n"
          "421 at mx.test.example\r\n");
    // A malformed reply is left alone.
    CHECK(f.format("421", kClient) == "421\r\n");
}

TEST_CASE("reply formatter: \\c continues the last line, only at the start", "[reply_formatter]") {
    CHECK(formatter({{"postscreen_reject_footer", "\\cA"}}).format("550 5.5.1 Protocol error", kClient) ==
          "550 5.5.1 Protocol errorA\r\n");
    CHECK(formatter({{"postscreen_reject_footer", "\\c(C)\\nD ${client_port?{p}:{q}}"}})
              .format("503 5.5.1 Error: nested MAIL command", kClient) ==
          "503-5.5.1 Error: nested MAIL command(C)\r\n503 5.5.1 D p\r\n");
    CHECK(formatter({{"postscreen_reject_footer", "A\\n\\cB"}}).format("450 4.3.2 x", kClient) ==
          "450-4.3.2 x\r\n450-4.3.2 A\r\n450 4.3.2 \\cB\r\n");
}

TEST_CASE("reply formatter: soft_bounce applies to the copied codes", "[reply_formatter]") {
    ReplyFormatter f = formatter({{"soft_bounce", "yes"}, {"postscreen_reject_footer", "\\cA"}});
    CHECK(f.format("501 5.5.4 Syntax: VRFY address", kClient) == "401 4.5.4 Syntax: VRFY addressA\r\n");
    ReplyFormatter g = formatter({{"soft_bounce", "yes"}, {"postscreen_reject_footer", "see\\nthis"}});
    CHECK(g.format("550 5.5.1 Protocol error", kClient) ==
          "450-4.5.1 Protocol error\r\n450-4.5.1 see\r\n450 4.5.1 this\r\n");
}

TEST_CASE("reply formatter: a template syntax error drops the whole footer", "[reply_formatter]") {
    psm::test::LogCapture log;
    ReplyFormatter f = formatter({{"postscreen_reject_footer", "A\\nB $(bad"}});
    CHECK(f.format("502 5.5.2 Error: command not recognized", kClient) ==
          "502 5.5.2 Error: command not recognized\r\n");
    CHECK(log.lines() == std::vector<std::string>{"warning: truncated macro reference: \"B $(bad\""});
    log.clear();
    ReplyFormatter g = formatter({{"postscreen_reject_footer", "PARAM $(bad"}});
    CHECK(g.format("450 4.3.2 Service currently unavailable", kClient) ==
          "450 4.3.2 Service currently unavailable\r\n");
    CHECK(log.lines() == std::vector<std::string>{"warning: truncated macro reference: \"PARAM $(bad\""});
}

TEST_CASE("reply formatter: the expansion filter replaces characters of values", "[reply_formatter]") {
    ReplyFormatter f = formatter({{"postscreen_expansion_filter", "abc."},
                                  {"postscreen_reject_footer", "X${client_address}Y$client_port${server_name?{yes}}"}});
    ClientEndpoint c{"127.149.2.5", "47227", "127.0.0.1", "25"};
    CHECK(f.format("502 5.5.2 Error: command not recognized", c) ==
          "502-5.5.2 Error: command not recognized\r\n502 5.5.2 X___.___._._Y_____yes\r\n");
    // The default filter (C escapes, \40 is a space) keeps ordinary text.
    ReplyFormatter g = formatter({{"postscreen_reject_footer", "$client_address"}});
    ClientEndpoint odd{"a b\tc\x01", "1", "", ""};
    CHECK(g.format("550 5.0.0 x", odd) == "550-5.0.0 x\r\n550 5.0.0 a b\tc_\r\n");
}

TEST_CASE("reply formatter: footer maps are looked up with the original reply", "[reply_formatter]") {
    ReplyFormatter f = formatter(
        {{"soft_bounce", "yes"},
         {"postscreen_reject_footer_maps", "regexp:{{/^502 5\\.5\\.2/ ORIG}, {/^402/ SOFT}, {/recognized$$/ NOCRLF}}"},
         {"postscreen_reject_footer", "PARAM"}});
    CHECK(f.format("502 5.5.2 Error: command not recognized", kClient) ==
          "402-4.5.2 Error: command not recognized\r\n402 4.5.2 ORIG\r\n");
    // Not found in the map: the parameter.
    CHECK(f.format("550 5.5.1 Protocol error", kClient) == "450-4.5.1 Protocol error\r\n450 4.5.1 PARAM\r\n");
    ReplyFormatter g = formatter({{"postscreen_reject_footer_maps", "regexp:{{/recognized$$/ NOCRLF}}"}});
    CHECK(g.format("502 5.5.2 Error: command not recognized", kClient) ==
          "502-5.5.2 Error: command not recognized\r\n502 5.5.2 NOCRLF\r\n");
    CHECK(g.format("250 2.0.0 Ok recognized", kClient) == "250 2.0.0 Ok recognized\r\n");
}

TEST_CASE("reply formatter: an unusable footer map warns and falls back", "[reply_formatter]") {
    psm::test::LogCapture log;
    ReplyFormatter f = formatter({{"postscreen_reject_footer_maps", "texthash:/nonexistent/psm-footer-map"},
                                  {"postscreen_reject_footer", "\\c!"}});
    log.clear();
    CHECK(f.format("550 5.5.1 Protocol error", kClient) == "550 5.5.1 Protocol error!\r\n");
    auto lines = log.lines();
    REQUIRE(!lines.empty());
    CHECK(lines.back() ==
          "warning: texthash:/nonexistent/psm-footer-map lookup error for \"550 5.5.1 Protocol error\"");
}

TEST_CASE("reply formatter: postscreen_reject_footer is raw text (3.7)", "[reply_formatter]") {
    // The default "$smtpd_reject_footer" takes smtpd's raw value.
    ReplyFormatter a = formatter({{"smtpd_reject_footer", "\\cS $server_name"}});
    CHECK(a.format("550 5.0.0 x", kClient) == "550 5.0.0 xS mx.test.example\r\n");
    // A value that is exactly $name of a parameter: replaced once, raw.
    ReplyFormatter b =
        formatter({{"postscreen_reject_footer", "$smtpd_reject_footer"}, {"smtpd_reject_footer", "\\c$myhostname"}});
    psm::test::LogCapture log;
    CHECK(b.format("550 5.0.0 x", kClient) == "550 5.0.0 x\r\n");
    CHECK(log.lines() == std::vector<std::string>{"warning: unknown macro name \"myhostname\" in expansion request"});
    // Other $names are not main.cf expansions: they are footer macros.
    log.clear();
    ReplyFormatter c = formatter(
        {{"postscreen_reject_footer", "\\c ${smtpd_reject_footer}$client_port"}, {"smtpd_reject_footer", "X"}});
    CHECK(c.format("550 5.0.0 x", kClient) == "550 5.0.0 x 38127\r\n");
    CHECK(log.lines() ==
          std::vector<std::string>{"warning: unknown macro name \"smtpd_reject_footer\" in expansion request"});
}

TEST_CASE("reply formatter: an empty expansion filter is fatal", "[reply_formatter]") {
    Config config;
    config.set_override("myhostname", "mx.test.example");
    config.set_override("compatibility_level", "3.6");
    config.set_override("postscreen_expansion_filter", "");
    CHECK_THROWS_WITH(ReplyFormatter::from_config(config), "bad string length 0 < 1: postscreen_expansion_filter = ");
}
