// Tests for Postfix parameter value parsing; expected texts were produced by the stock 3.7.11 binaries.
#include "psm/util/config_values.hpp"

#include "psm/util/error.hpp"

#include <catch2/catch.hpp>

#include <climits>
#include <stdexcept>
#include <string>

using psm::check_value_range;
using psm::parse_bool_value;
using psm::parse_int_value;
using psm::parse_long_value;
using psm::parse_time_value;
using psm::ValueKind;

namespace {

// The ConfigError text thrown by f, or "" when nothing was thrown.
template <class F> std::string error_of(F f) {
    try {
        f();
    } catch (const psm::ConfigError& e) {
        return e.what();
    }
    return "";
}

std::string time_error(const char* value, char unit = 's') {
    return error_of([&] { parse_time_value("ipc_timeout", value, unit); });
}

} // namespace

TEST_CASE("time values: digits with an optional unit letter", "[config_values]") {
    CHECK(parse_time_value("t", "0", 's') == 0);
    CHECK(parse_time_value("t", "30", 's') == 30);
    CHECK(parse_time_value("t", "30s", 's') == 30);
    CHECK(parse_time_value("t", "30m", 's') == 1800);
    CHECK(parse_time_value("t", "2h", 's') == 7200);
    CHECK(parse_time_value("t", "1d", 's') == 86400);
    CHECK(parse_time_value("t", "1w", 's') == 604800);
    CHECK(parse_time_value("t", "0w", 's') == 0);
}

TEST_CASE("time values without a unit take the default unit", "[config_values]") {
    CHECK(parse_time_value("t", "2", 'h') == 7200);
    CHECK(parse_time_value("t", "7", 'd') == 604800);
    CHECK(parse_time_value("t", "10", 'm') == 600);
    CHECK(parse_time_value("t", "10", 'w') == 6048000);
    // An explicit unit wins over the default one.
    CHECK(parse_time_value("t", "10s", 'd') == 10);
}

TEST_CASE("time values: only the first character after the digits counts", "[config_values]") {
    // The legacy postscreen_dnsbl_ttl alias produces "30mh".
    CHECK(parse_time_value("t", "30mh", 'h') == 1800);
    CHECK(parse_time_value("t", "5m junk", 's') == 300);
    CHECK(parse_time_value("t", "1sx", 's') == 1);
    // A unit letter without digits is zero.
    CHECK(parse_time_value("t", "s", 's') == 0);
    CHECK(parse_time_value("t", "m", 'h') == 0);
    CHECK(parse_time_value("t", "s5", 's') == 0);
}

TEST_CASE("time values: strtol syntax (blanks, sign)", "[config_values]") {
    CHECK(parse_time_value("t", " 30s", 's') == 30);
    CHECK(parse_time_value("t", "+5m", 's') == 300);
    CHECK(parse_time_value("t", "-0", 's') == 0);
    CHECK(parse_time_value("t", "-0s", 's') == 0);
}

TEST_CASE("bad time values are worded as stock", "[config_values]") {
    CHECK(time_error("30x") == "parameter ipc_timeout: bad time value or unit: 30x");
    CHECK(time_error("10x") == "parameter ipc_timeout: bad time value or unit: 10x");
    CHECK(time_error("-1") == "parameter ipc_timeout: bad time value or unit: -1");
    CHECK(time_error("-1s") == "parameter ipc_timeout: bad time value or unit: -1s");
    CHECK(time_error("") == "parameter ipc_timeout: bad time value or unit: ");
    CHECK(time_error("x") == "parameter ipc_timeout: bad time value or unit: x");
    CHECK(time_error("+s") == "parameter ipc_timeout: bad time value or unit: +s");
    CHECK(time_error("30 s") == "parameter ipc_timeout: bad time value or unit: 30 s");
    CHECK(time_error("0x10") == "parameter ipc_timeout: bad time value or unit: 0x10");
    CHECK(time_error("1e3") == "parameter ipc_timeout: bad time value or unit: 1e3");
    CHECK(time_error("1W") == "parameter ipc_timeout: bad time value or unit: 1W");
    CHECK(time_error("1S") == "parameter ipc_timeout: bad time value or unit: 1S");
}

TEST_CASE("time values must fit a C int, with stock's strict overflow test", "[config_values]") {
    CHECK(parse_time_value("t", "2147483647", 's') == INT_MAX);
    CHECK(parse_time_value("t", "2147483647s", 's') == INT_MAX);
    CHECK(time_error("2147483648") == "parameter ipc_timeout: bad time value or unit: 2147483648");
    CHECK(time_error("99999999999999999999") == "parameter ipc_timeout: bad time value or unit: 99999999999999999999");
    CHECK(parse_time_value("t", "3549w", 's') == 3549L * 604800);
    CHECK(time_error("3550w") == "parameter ipc_timeout: bad time value or unit: 3550w");
    CHECK(parse_time_value("t", "24854d", 's') == 24854L * 86400);
    CHECK(time_error("24855d") == "parameter ipc_timeout: bad time value or unit: 24855d");
    CHECK(parse_time_value("t", "596522h", 's') == 596522L * 3600);
    CHECK(time_error("596523h") == "parameter ipc_timeout: bad time value or unit: 596523h");
    CHECK(parse_time_value("t", "35791393m", 's') == 35791393L * 60);
    CHECK(time_error("35791394m") == "parameter ipc_timeout: bad time value or unit: 35791394m");
    // The default unit is subject to the same limit.
    CHECK(time_error("3550", 'w') == "parameter ipc_timeout: bad time value or unit: 3550");
}

TEST_CASE("a bad default time unit is a programming error", "[config_values]") {
    CHECK_THROWS_AS(parse_time_value("t", "1", 'x'), std::invalid_argument);
    CHECK_THROWS_AS(parse_time_value("t", "1s", 0), std::invalid_argument);
}

TEST_CASE("booleans: yes or no in any case", "[config_values]") {
    CHECK(parse_bool_value("soft_bounce", "yes"));
    CHECK(parse_bool_value("soft_bounce", "YES"));
    CHECK(parse_bool_value("soft_bounce", "Yes"));
    CHECK_FALSE(parse_bool_value("soft_bounce", "no"));
    CHECK_FALSE(parse_bool_value("soft_bounce", "NO"));
    CHECK_FALSE(parse_bool_value("soft_bounce", "nO"));
    for (const char* bad : {"true", "1", "0", "", "y", "on", "yes x", "yess"}) {
        CHECK(error_of([&] { parse_bool_value("soft_bounce", bad); }) ==
              std::string("bad boolean configuration: soft_bounce = ") + bad);
    }
}

TEST_CASE("integers: whole value, C int range", "[config_values]") {
    CHECK(parse_int_value("line_length_limit", "2048") == 2048);
    CHECK(parse_int_value("line_length_limit", "0") == 0);
    CHECK(parse_int_value("line_length_limit", "-5") == -5);
    CHECK(parse_int_value("line_length_limit", " 600") == 600);
    CHECK(parse_int_value("line_length_limit", "+600") == 600);
    CHECK(parse_int_value("line_length_limit", "2147483647") == INT_MAX);
    CHECK(parse_int_value("line_length_limit", "-2147483648") == INT_MIN);
    for (const char* bad :
         {"", "600x", "0x300", "2147483648", "-2147483649", "99999999999999999999", "1 ", "x", "1.5"}) {
        CHECK(error_of([&] { parse_int_value("line_length_limit", bad); }) ==
              std::string("bad numerical configuration: line_length_limit = ") + bad);
    }
}

TEST_CASE("long integers: C long range", "[config_values]") {
    CHECK(parse_long_value("message_size_limit", "9223372036854775807") == LONG_MAX);
    CHECK(parse_long_value("message_size_limit", "-1") == -1);
    CHECK(parse_long_value("message_size_limit", "2147483648") == 2147483648L);
    for (const char* bad : {"", "x", "9223372036854775808", "99999999999999999999", "10k"}) {
        CHECK(error_of([&] { parse_long_value("message_size_limit", bad); }) ==
              std::string("bad numerical configuration: message_size_limit = ") + bad);
    }
}

TEST_CASE("range errors: integer wording", "[config_values]") {
    CHECK(error_of([] { check_value_range("postscreen_pre_queue_limit", 5, 10); }) ==
          "invalid postscreen_pre_queue_limit parameter value 5 < 10");
    CHECK(error_of([] { check_value_range("line_length_limit", -2147483648L, 512); }) ==
          "invalid line_length_limit parameter value -2147483648 < 512");
    CHECK(error_of([] { check_value_range("delay_logging_resolution_limit", 7, 0, 6); }) ==
          "invalid delay_logging_resolution_limit parameter value 7 > 6");
    CHECK(error_of([] { check_value_range("postscreen_command_count_limit", 0, 1); }) ==
          "invalid postscreen_command_count_limit parameter value 0 < 1");
    CHECK_NOTHROW(check_value_range("x", 10, 10, 10));
    CHECK_NOTHROW(check_value_range("x", -5));
    // Bounds are real bounds: 0 is not "unbounded" as in stock tables.
    CHECK(error_of([] { check_value_range("x", -1, 0); }) == "invalid x parameter value -1 < 0");
}

TEST_CASE("range errors: time wording", "[config_values]") {
    CHECK(error_of([] { check_value_range("postscreen_greet_wait", 0, 1, LONG_MAX, ValueKind::time); }) ==
          "invalid postscreen_greet_wait: 0 (min 1)");
    CHECK(error_of([] { check_value_range("postscreen_watchdog_timeout", 5, 10, LONG_MAX, ValueKind::time); }) ==
          "invalid postscreen_watchdog_timeout: 5 (min 10)");
    CHECK(error_of([] { check_value_range("t", 100, 1, 99, ValueKind::time); }) == "invalid t: 100 (max 99)");
    CHECK_NOTHROW(check_value_range("t", 1, 1, LONG_MAX, ValueKind::time));
}
