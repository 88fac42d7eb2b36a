// CoreSettings: the core's parameters and stock's start-up errors.
#include "core_settings.hpp"

#include "support/log_capture.hpp"

#include "psm/util/error.hpp"

#include <catch2/catch.hpp>

#include <string>

using psm::Config;
using psm::ConfigError;
using psm::postscreen::Action;
using psm::postscreen::CoreSettings;
using psm::postscreen::Test;
using psm::postscreen::index_of;

namespace {

Config config(std::initializer_list<std::pair<const char*, const char*>> params) {
    Config c;
    c.set_override("myhostname", "mx.test.example");
    c.set_override("compatibility_level", "3.6");
    c.set_override("mynetworks", "127.0.0.1/32");
    c.set_override("inet_protocols", "ipv4");
    for (const auto& [n, v] : params)
        c.set_override(n, v);
    return c;
}

std::string error_of(std::initializer_list<std::pair<const char*, const char*>> params) {
    try {
        (void)CoreSettings::from_config(config(params));
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("core settings: stock defaults") {
    psm::test::LogCapture log;
    CoreSettings s = CoreSettings::from_config(config({}));
    CHECK(s.smtpd_service == "private/smtpd");
    CHECK(s.dnsblog_service == "private/dnsblog");
    CHECK(s.teaser == "220-mx.test.example ESMTP Postfix\r\n");
    CHECK(s.greet_wait_normal == 6);
    CHECK(s.greet_wait_stress == 2);
    CHECK(s.greet_action == Action::ignore);
    CHECK(s.dnsbl_action == Action::ignore);
    CHECK(s.denylist_action == Action::ignore);
    CHECK(s.enabled[index_of(Test::pregreet)]);
    CHECK_FALSE(s.enabled[index_of(Test::dnsbl)]);
    CHECK_FALSE(s.enabled[index_of(Test::pipelining)]);
    CHECK(s.pre_queue_limit == 100);
    CHECK(s.stress_hiwat == 90);
    CHECK(s.stress_lowat == 70);
    CHECK(s.connection_count_limit == 50);
    CHECK(s.dnsbl_min_ttl == 60);
    CHECK(s.dnsbl_max_ttl == 3600);
    CHECK(s.access_list);
    CHECK_FALSE(s.allowlist_interfaces); // static:all: nothing to check
    CHECK(s.respectful_logging);
    CHECK_FALSE(s.warn_compat_respectful);
    CHECK(s.ipv4);
    CHECK_FALSE(s.ipv6);
}

TEST_CASE("core settings: stress values, banner, limits") {
    psm::test::LogCapture log;
    CoreSettings s = CoreSettings::from_config(config({{"postscreen_greet_wait", "3s"},
                                                       {"postscreen_greet_banner", ""},
                                                       {"postscreen_pre_queue_limit", "10"},
                                                       {"postscreen_dnsbl_sites", "a.example*2, b.example=127.0.0.2"},
                                                       {"postscreen_dnsbl_ttl", "30m"}}));
    CHECK(s.greet_wait_normal == 3);
    CHECK(s.greet_wait_stress == 3); // an explicit value is not stress-dependent
    CHECK(s.teaser.empty());
    CHECK_FALSE(s.enabled[index_of(Test::pregreet)]);
    CHECK(s.enabled[index_of(Test::dnsbl)]);
    CHECK(s.stress_hiwat == 9);
    CHECK(s.stress_lowat == 7);
    CHECK(s.dnsbl_max_ttl == 1800); // legacy postscreen_dnsbl_ttl, "30m" + "h" = 30 minutes
}

TEST_CASE("core settings: stock fatal wordings") {
    // Each wording as stock 3.7 postscreen logs it (checked against a private stock instance).
    psm::test::LogCapture log;
    CHECK(error_of({{"postscreen_greet_action", "reject"}}) == "bad postscreen_greet_action value: reject");
    CHECK(error_of({{"postscreen_dnsbl_action", "Drop"}}) == "bad postscreen_dnsbl_action value: Drop");
    CHECK(error_of({{"postscreen_denylist_action", "x"}}) == "bad postscreen_denylist_action value: x");
    CHECK(error_of({{"postscreen_blacklist_action", "y"}}) == "bad postscreen_denylist_action value: y");
    CHECK(error_of({{"postscreen_pre_queue_limit", "5"}}) == "invalid postscreen_pre_queue_limit parameter value 5 < 10");
    CHECK(error_of({{"postscreen_post_queue_limit", "4"}}) == "invalid postscreen_post_queue_limit parameter value 4 < 5");
    CHECK(error_of({{"postscreen_watchdog_timeout", "5s"}}) == "invalid postscreen_watchdog_timeout: 5 (min 10)");
    CHECK(error_of({{"postscreen_dnsbl_threshold", "0"}}) == "invalid postscreen_dnsbl_threshold parameter value 0 < 1");
    CHECK(error_of({{"postscreen_greet_wait", "6x"}}) == "parameter postscreen_greet_wait: bad time value or unit: 6x");
    CHECK(error_of({{"inet_protocols", "foo"}}) == "unknown inet_protocols value \"foo\" in \"foo\"");
    CHECK(error_of({{"inet_protocols", ""}}) == "all network protocols are disabled (inet_protocols = )");
    CHECK(error_of({{"postscreen_dnsbl_sites", "a.example*x"}}) == "bad DNSBL weight factor \"x\" in \"a.example*x\"");
    CHECK(error_of({{"postscreen_dnsbl_sites", "a.example"}, {"postscreen_dnsbl_reply_map", "texthash:/nonexistent/map"}}) ==
          "texthash:/nonexistent/map lookup error");
    // Not checked before the first connection, as stock.
    CHECK(error_of({{"postscreen_upstream_proxy_protocol", "nginx"}}).empty());
}

TEST_CASE("core settings: dnsbl reply map names") {
    psm::test::LogCapture log;
    CoreSettings s = CoreSettings::from_config(
        config({{"postscreen_dnsbl_sites", "secret.example*2, public.example"},
                {"postscreen_dnsbl_reply_map", "inline:{secret.example=public-bl.example}"}}));
    CHECK(s.dnsbl_reply_name("secret.example") == "public-bl.example");
    CHECK(s.dnsbl_reply_name("public.example") == "public.example");
}

TEST_CASE("core settings: respectful_logging and the compatibility warning") {
    psm::test::LogCapture log;
    CoreSettings old = CoreSettings::from_config(config({{"compatibility_level", "2"}}));
    CHECK_FALSE(old.respectful_logging);
    CHECK(old.warn_compat_respectful);
    CoreSettings set = CoreSettings::from_config(config({{"compatibility_level", "2"}, {"respectful_logging", "no"}}));
    CHECK_FALSE(set.respectful_logging);
    CHECK_FALSE(set.warn_compat_respectful);
}
