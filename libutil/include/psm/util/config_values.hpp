// Parsing of Postfix parameter value types: time with units, booleans and
// integers, with range checks. Every error is a ConfigError whose text
// names the parameter and the value, worded as stock Postfix words it.
#pragma once

#include <limits>
#include <string_view>

namespace psm {

// Postfix time value: decimal digits, then an optional unit letter
// s/m/h/d/w (only the first character after the digits is looked at, so
// the legacy "30mh" means 30 minutes); no letter means default_unit.
// Returns seconds. Throws ConfigError
// "parameter NAME: bad time value or unit: VALUE".
long parse_time_value(std::string_view name, std::string_view value, char default_unit);

// "yes"/"no" (case-insensitive, as Postfix). Throws ConfigError.
bool parse_bool_value(std::string_view name, std::string_view value);

// Decimal integer (optional sign). Throws ConfigError.
long parse_int_value(std::string_view name, std::string_view value);

// Throws ConfigError worded as stock when value is outside [min, max].
void check_value_range(std::string_view name, long value, long min = std::numeric_limits<long>::min(),
                       long max = std::numeric_limits<long>::max());

} // namespace psm
