// Postfix parameter value conversion and range checks (see config_values.hpp).
#include "psm/util/config_values.hpp"

#include "psm/util/error.hpp"
#include "psm/util/text.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace psm {
namespace {

struct Number {
    long value = 0;
    bool out_of_range = false;  // strtol reported ERANGE
    std::size_t digits_end = 0; // offset of the first unconverted character
};

// strtol() on a copy of the text, so that the rules (white space, sign,
// where conversion stops) are exactly those of the C library stock uses.
Number to_number(std::string_view text) {
    std::string copy(text);
    char* end = nullptr;
    errno = 0;
    Number n;
    n.value = std::strtol(copy.c_str(), &end, 10);
    n.out_of_range = errno == ERANGE;
    n.digits_end = static_cast<std::size_t>(end - copy.c_str());
    return n;
}

bool fits_int(long v) {
    return v >= INT_MIN && v <= INT_MAX;
}

[[noreturn]] void bad_number(std::string_view name, std::string_view value) {
    throw ConfigError("bad numerical configuration: " + std::string(name) + " = " + std::string(value));
}

long seconds_per_unit(char unit) {
    switch (unit) {
    case 's':
        return 1;
    case 'm':
        return 60;
    case 'h':
        return 60 * 60;
    case 'd':
        return 24 * 60 * 60;
    case 'w':
        return 7 * 24 * 60 * 60;
    default:
        return 0;
    }
}

} // namespace

long parse_time_value(std::string_view name, std::string_view value, char default_unit) {
    if (seconds_per_unit(default_unit) == 0)
        throw std::invalid_argument("parse_time_value: bad default time unit for " + std::string(name));
    const auto bad = [&]() -> ConfigError {
        return ConfigError("parameter " + std::string(name) + ": bad time value or unit: " + std::string(value));
    };
    Number n = to_number(value);
    if (value.empty() || n.out_of_range || !fits_int(n.value) || n.value < 0) throw bad();
    // Only the first character after the digits is the unit; the rest is ignored.
    char unit = n.digits_end < value.size() ? value[n.digits_end] : default_unit;
    long scale = seconds_per_unit(unit);
    if (scale == 0) throw bad();
    // Stock's overflow test is strict ("<", not "<="), also for exact fits.
    if (scale > 1 && n.value >= INT_MAX / scale) throw bad();
    return n.value * scale;
}

bool parse_bool_value(std::string_view name, std::string_view value) {
    if (iequals(value, "yes")) return true;
    if (iequals(value, "no")) return false;
    throw ConfigError("bad boolean configuration: " + std::string(name) + " = " + std::string(value));
}

long parse_int_value(std::string_view name, std::string_view value) {
    Number n = to_number(value);
    if (value.empty() || n.digits_end != value.size() || n.out_of_range || !fits_int(n.value)) bad_number(name, value);
    return n.value;
}

long parse_long_value(std::string_view name, std::string_view value) {
    Number n = to_number(value);
    if (value.empty() || n.digits_end != value.size() || n.out_of_range) bad_number(name, value);
    return n.value;
}

void check_value_range(std::string_view name, long value, long min, long max, ValueKind kind) {
    const std::string n(name), v = std::to_string(value);
    if (value < min) {
        if (kind == ValueKind::time)
            throw ConfigError("invalid " + n + ": " + v + " (min " + std::to_string(min) + ")");
        throw ConfigError("invalid " + n + " parameter value " + v + " < " + std::to_string(min));
    }
    if (value > max) {
        if (kind == ValueKind::time)
            throw ConfigError("invalid " + n + ": " + v + " (max " + std::to_string(max) + ")");
        throw ConfigError("invalid " + n + " parameter value " + v + " > " + std::to_string(max));
    }
}

} // namespace psm
