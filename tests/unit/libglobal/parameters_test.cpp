// Parameter registry: completeness for postscreen/dnsblog, types and limits from stock's tables, usable defaults.
#include <catch2/catch.hpp>

#include <cctype>
#include <string>

#include "psm/global/main_cf.hpp"
#include "psm/global/parameters.hpp"

using psm::ParamInfo;
using psm::ParamType;

TEST_CASE("registry is sorted, unique and findable", "[parameters]") {
    auto all = psm::all_parameters();
    REQUIRE(all.size() >= 200);
    for (std::size_t i = 1; i < all.size(); ++i) {
        INFO(all[i].name);
        CHECK(all[i - 1].name < all[i].name);
    }
    for (const ParamInfo& p : all)
        CHECK(psm::find_parameter(p.name) == &p);
    CHECK(psm::find_parameter("nosuch_parameter") == nullptr);
    CHECK(psm::find_parameter("") == nullptr);
    // Legacy names are not parameters of their own (postconf -d omits them).
    CHECK(psm::find_parameter("postscreen_blacklist_action") == nullptr);
    CHECK(psm::find_parameter("postscreen_dnsbl_ttl") == nullptr);
}

TEST_CASE("registry knows every postscreen and dnsblog parameter of 3.7", "[parameters]") {
    // `postconf -d | grep -E '^(postscreen|dnsblog)_'` on 3.7.11 (49 names);
    // the integration test compares the default texts with stock's.
    const char* names[] = {
        "dnsblog_reply_delay",
        "dnsblog_service_name",
        "postscreen_access_list",
        "postscreen_allowlist_interfaces",
        "postscreen_bare_newline_action",
        "postscreen_bare_newline_enable",
        "postscreen_bare_newline_ttl",
        "postscreen_cache_cleanup_interval",
        "postscreen_cache_map",
        "postscreen_cache_retention_time",
        "postscreen_client_connection_count_limit",
        "postscreen_command_count_limit",
        "postscreen_command_filter",
        "postscreen_command_time_limit",
        "postscreen_denylist_action",
        "postscreen_disable_vrfy_command",
        "postscreen_discard_ehlo_keyword_address_maps",
        "postscreen_discard_ehlo_keywords",
        "postscreen_dnsbl_action",
        "postscreen_dnsbl_allowlist_threshold",
        "postscreen_dnsbl_max_ttl",
        "postscreen_dnsbl_min_ttl",
        "postscreen_dnsbl_reply_map",
        "postscreen_dnsbl_sites",
        "postscreen_dnsbl_threshold",
        "postscreen_dnsbl_timeout",
        "postscreen_enforce_tls",
        "postscreen_expansion_filter",
        "postscreen_forbidden_commands",
        "postscreen_greet_action",
        "postscreen_greet_banner",
        "postscreen_greet_ttl",
        "postscreen_greet_wait",
        "postscreen_helo_required",
        "postscreen_non_smtp_command_action",
        "postscreen_non_smtp_command_enable",
        "postscreen_non_smtp_command_ttl",
        "postscreen_pipelining_action",
        "postscreen_pipelining_enable",
        "postscreen_pipelining_ttl",
        "postscreen_post_queue_limit",
        "postscreen_pre_queue_limit",
        "postscreen_reject_footer",
        "postscreen_reject_footer_maps",
        "postscreen_tls_security_level",
        "postscreen_upstream_proxy_protocol",
        "postscreen_upstream_proxy_timeout",
        "postscreen_use_tls",
        "postscreen_watchdog_timeout",
    };
    for (const char* n : names) {
        INFO(n);
        CHECK(psm::find_parameter(n) != nullptr);
    }
}

TEST_CASE("registry types, units and limits follow stock's tables", "[parameters]") {
    struct Expect {
        const char* name;
        ParamType type;
        long min, max;
        char unit;
    };
    const Expect expect[] = {
        {"postscreen_greet_wait", ParamType::time, 1, 0, 's'},
        {"postscreen_command_time_limit", ParamType::time, 1, 0, 's'},
        {"postscreen_dnsbl_max_ttl", ParamType::time, 1, 0, 'h'},
        {"postscreen_cache_cleanup_interval", ParamType::time, 0, 0, 'h'},
        {"postscreen_cache_retention_time", ParamType::time, 1, 0, 'd'},
        {"postscreen_watchdog_timeout", ParamType::time, 10, 0, 's'},
        {"dnsblog_reply_delay", ParamType::time, 0, 0, 's'},
        {"postscreen_pre_queue_limit", ParamType::integer, 10, 0, 0},
        {"postscreen_post_queue_limit", ParamType::integer, 5, 0, 0},
        {"postscreen_dnsbl_threshold", ParamType::integer, 1, 0, 0},
        {"postscreen_dnsbl_allowlist_threshold", ParamType::integer, 0, 0, 0},
        {"line_length_limit", ParamType::integer, 512, 0, 0},
        {"delay_logging_resolution_limit", ParamType::integer, 0, 6, 0},
        {"message_size_limit", ParamType::long_integer, 0, 0, 0},
        {"postscreen_use_tls", ParamType::boolean, 0, 0, 0},
        {"respectful_logging", ParamType::boolean, 0, 0, 0},
        {"postscreen_reject_footer", ParamType::raw, 0, 0, 0},
        {"smtpd_expansion_filter", ParamType::raw, 1, 0, 0},
        {"myhostname", ParamType::string, 1, 0, 0},
        {"postscreen_greet_banner", ParamType::string, 0, 0, 0},
    };
    for (const Expect& e : expect) {
        INFO(e.name);
        const ParamInfo* p = psm::find_parameter(e.name);
        REQUIRE(p != nullptr);
        CHECK(p->type == e.type);
        CHECK(p->min == e.min);
        CHECK(p->max == e.max);
        CHECK(p->time_unit == e.unit);
    }
}

TEST_CASE("registry default texts are stock's, computed ones are marked", "[parameters]") {
    CHECK(psm::find_parameter("postscreen_greet_wait")->default_value == "${stress?{2}:{6}}s");
    CHECK(psm::find_parameter("postscreen_denylist_action")->default_value ==
          "${postscreen_blacklist_action?{$postscreen_blacklist_action}:{ignore}}");
    CHECK(psm::find_parameter("postscreen_pre_queue_limit")->default_value == "$default_process_limit");
    CHECK(psm::find_parameter("respectful_logging")->default_value ==
          "${{$compatibility_level} <level {3.6} ? {no} : {yes}}");
    for (const char* n : {"myhostname", "mydomain", "mynetworks"}) {
        INFO(n);
        CHECK(psm::find_parameter(n)->compute != nullptr);
        CHECK(psm::find_parameter(n)->default_value.empty());
    }
    for (const ParamInfo& p : psm::all_parameters()) {
        INFO(p.name);
        if (p.type == ParamType::time) {
            // The unit is the last letter of the default, as stock derives it.
            REQUIRE_FALSE(p.default_value.empty());
            CHECK(p.default_value.back() == p.time_unit);
        }
        // Stored as postconf prints them: single blanks, none at either end.
        CHECK(p.default_value.find("  ") == std::string_view::npos);
        CHECK(p.default_value.find_first_of("\t\r\n") == std::string_view::npos);
        if (!p.default_value.empty()) CHECK(p.default_value.front() != ' ');
        if (!p.default_value.empty()) CHECK(p.default_value.back() != ' ');
    }
}

TEST_CASE("every default passes its own typed getter", "[parameters]") {
    psm::Config c;
    for (const ParamInfo& p : psm::all_parameters()) {
        INFO(p.name);
        switch (p.type) {
        case ParamType::time:
            CHECK_NOTHROW(c.get_time(p.name));
            break;
        case ParamType::integer:
        case ParamType::long_integer:
            CHECK_NOTHROW(c.get_int(p.name));
            break;
        case ParamType::boolean:
            CHECK_NOTHROW(c.get_bool(p.name));
            break;
        case ParamType::string:
        case ParamType::raw:
            CHECK_NOTHROW(c.get_str(p.name));
            break;
        }
    }
    CHECK(c.get_int("postscreen_client_connection_count_limit") == 50);
    CHECK(c.get_str("postscreen_forbidden_commands") == "CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}");
    CHECK(c.get_str("postscreen_allowlist_interfaces") == "static:all");
    CHECK(c.get_str("syslog_name") == "postfix");
    CHECK(c.get_time("postscreen_bare_newline_ttl") == 30 * 86400);
}
