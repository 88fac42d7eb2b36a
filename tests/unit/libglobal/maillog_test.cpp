// maillog_file_prefixes as stock applies it (postlog/postlogd): wording
// checked against Debian's Postfix 3.7.11 postlog.
#include "psm/global/maillog.hpp"

#include <catch2/catch.hpp>

using psm::Config;

namespace {

Config with(std::string_view main_cf) {
    return Config::from_main_cf(psm::parse_main_cf(main_cf, "/tmp/cfg/main.cf"), "/tmp/cfg");
}

} // namespace

TEST_CASE("maillog_file outside maillog_file_prefixes is refused with stock's words", "[maillog]") {
    CHECK(psm::maillog_file_problem(with("maillog_file = /tmp/psm.log\n")) ==
          "maillog_file value '/tmp/psm.log' does not match any prefix in maillog_file_prefixes");
}

TEST_CASE("maillog_file inside a prefix, or none, is fine", "[maillog]") {
    CHECK_FALSE(psm::maillog_file_problem(with("")));
    CHECK_FALSE(psm::maillog_file_problem(with("maillog_file = /var/log/psmaster.log\n")));
    CHECK_FALSE(psm::maillog_file_problem(with("maillog_file = /dev/stdout\n")));
    // Plain string prefixes, as stock: "/var" also covers "/variable".
    CHECK_FALSE(psm::maillog_file_problem(with("maillog_file = /variable/x.log\n")));
    CHECK_FALSE(psm::maillog_file_problem(
        with("maillog_file_prefixes = /srv/logs, /tmp/t\nmaillog_file = /tmp/t1/x.log\n")));
    CHECK(psm::maillog_file_problem(with("maillog_file_prefixes = /srv/logs\nmaillog_file = /var/log/x\n")));
}

TEST_CASE("maillog_config carries main.cf's logging parameters", "[maillog]") {
    const psm::LogConfig lc =
        psm::maillog_config(with("syslog_name = postfix-out\nmaillog_file = /var/log/x\nmyhostname = mx.example.org\n"),
                            "postscreen");
    CHECK(lc.program == "postscreen");
    CHECK(lc.syslog_name == "postfix-out");
    CHECK(lc.facility == "mail");
    CHECK(lc.maillog_file == "/var/log/x");
    CHECK(lc.hostname == "mx.example.org");
}
