// Tests for EngineSettings::from_config: actions, TTLs, stress-dependent
// limits, TLS levels and their stock errors, table parameters.
#include "smtp_engine.hpp"

#include "support/log_capture.hpp"

#include "psm/global/main_cf.hpp"
#include "psm/util/error.hpp"

#include <catch2/catch.hpp>

using psm::Config;
using psm::ConfigError;
using psm::postscreen::Action;
using psm::postscreen::AddressForm;
using psm::postscreen::EngineSettings;

namespace {

Config base(std::initializer_list<std::pair<const char*, const char*>> params = {}) {
    Config config;
    config.set_override("myhostname", "mx.test.example");
    config.set_override("compatibility_level", "3.6");
    for (const auto& [name, value] : params)
        config.set_override(name, value);
    return config;
}

} // namespace

TEST_CASE("engine settings: defaults", "[engine_settings]") {
    EngineSettings s = EngineSettings::from_config(base({{"smtpd_banner", "$myhostname ESMTP"}}));
    CHECK(s.greeting == "220 mx.test.example ESMTP");
    CHECK(s.timeout_reply == "421 4.4.2 mx.test.example Error: timeout exceeded");
    CHECK(s.generic_421 == "421 mx.test.example Service unavailable - try again later");
    CHECK(s.pipelining_action == Action::enforce);
    CHECK(s.non_smtp_action == Action::drop);
    CHECK(s.bare_newline_action == Action::ignore);
    CHECK(s.pipelining_ttl == 30 * 86400);
    CHECK(s.min_ttl == 60);
    CHECK(s.command_count_limit == 20);
    CHECK(s.command_time_limit_normal == 300);
    CHECK(s.command_time_limit_stress == 10);
    CHECK(s.line_length_limit == 2048);
    CHECK_FALSE(s.use_tls);
    CHECK_FALSE(s.enforce_tls);
    CHECK(s.smtputf8);
    CHECK(s.forbidden_commands != nullptr);
    CHECK(s.command_filter == nullptr);
    CHECK(s.ehlo_discard_maps == nullptr);
    CHECK(s.address_form == AddressForm::external);
}

TEST_CASE("engine settings: actions and TTLs", "[engine_settings]") {
    EngineSettings s = EngineSettings::from_config(base({{"postscreen_pipelining_action", "DROP"},
                                                         {"postscreen_non_smtp_command_action", "continue"},
                                                         {"postscreen_bare_newline_action", "enforce"},
                                                         {"postscreen_greet_ttl", "30s"},
                                                         {"postscreen_bare_newline_ttl", "2h"}}));
    CHECK(s.pipelining_action == Action::drop);
    CHECK(s.non_smtp_action == Action::ignore);
    CHECK(s.bare_newline_action == Action::enforce);
    CHECK(s.bare_newline_ttl == 7200);
    CHECK(s.min_ttl == 30);
    CHECK_THROWS_WITH(EngineSettings::from_config(base({{"postscreen_bare_newline_action", "reject"}})),
                      "bad postscreen_bare_newline_action value: reject");
    CHECK_THROWS_WITH(EngineSettings::from_config(base({{"postscreen_pipelining_ttl", "0"}})),
                      "invalid postscreen_pipelining_ttl: 0 (min 1)");
    CHECK_THROWS_WITH(EngineSettings::from_config(base({{"postscreen_command_time_limit", "9x"}})),
                      "parameter postscreen_command_time_limit: bad time value or unit: 9x");
}

TEST_CASE("engine settings: TLS levels as stock", "[engine_settings]") {
    auto tls = [](const char* level, const char* use = "no", const char* enforce = "no") {
        return EngineSettings::from_config(base({{"postscreen_tls_security_level", level},
                                                 {"postscreen_use_tls", use},
                                                 {"postscreen_enforce_tls", enforce}}));
    };
    CHECK(tls("may").use_tls);
    CHECK_FALSE(tls("may", "no", "yes").enforce_tls);
    CHECK(tls("Encrypt").enforce_tls);
    CHECK_FALSE(tls("none", "yes", "yes").use_tls);
    CHECK(tls("", "yes").use_tls);
    CHECK_FALSE(tls("", "yes").enforce_tls);
    CHECK(tls("", "no", "yes").use_tls); // enforce implies use
    psm::test::LogCapture log;
    CHECK(tls("verify").enforce_tls);
    CHECK(tls("secure").use_tls);
    CHECK(log.lines() ==
          std::vector<std::string>{
              "warning: postscreen_tls_security_level: unsupported TLS level \"verify\", using \"encrypt\"",
              "warning: postscreen_tls_security_level: unsupported TLS level \"secure\", using \"encrypt\""});
    CHECK_THROWS_WITH(tls("dane"), "Invalid TLS level \"dane\"");
    CHECK_THROWS_WITH(tls("bogus"), "Invalid TLS level \"bogus\"");
}

TEST_CASE("engine settings: tables", "[engine_settings]") {
    EngineSettings s = EngineSettings::from_config(base({{"postscreen_command_filter", "static:NOOP"},
                                                         {"postscreen_forbidden_commands", ""},
                                                         {"postscreen_discard_ehlo_keyword_address_maps", "static:dsn"},
                                                         {"info_log_address_format", "Internal"}}));
    CHECK(s.command_filter != nullptr);
    CHECK(s.forbidden_commands == nullptr);
    CHECK(s.ehlo_discard_maps != nullptr);
    CHECK(s.address_form == AddressForm::internal);
    CHECK_THROWS_AS(EngineSettings::from_config(base({{"postscreen_command_filter", "nocolon"}})), ConfigError);
    CHECK(EngineSettings::from_config(base({{"info_log_address_format", "x"}})).address_form == AddressForm::invalid);
}
