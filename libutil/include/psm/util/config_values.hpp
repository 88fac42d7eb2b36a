// Parsing of Postfix parameter value types: time with units, booleans and
// integers, with range checks. Every error is a ConfigError whose text
// names the parameter and the value, worded as stock Postfix 3.7 words it
// (the daemon logs it after "fatal: ").
//
// Stock facts (checked against the 3.7.11 binaries):
// * Values are converted like C strtol(): leading white space and a '+' or
//   '-' sign are accepted, only decimal digits count ("0x10" is bad).
// * time: the number must be >= 0 and fit a C int. The first character
//   after the digits is the unit (s, m, h, d, w) and anything after it is
//   ignored, so "30mh" is 30 minutes; no character means the default unit
//   (the unit of the parameter's default value). A unit without digits
//   ("s", "m") is 0. The product must stay below INT_MAX with a strict
//   test: "3550w", "24855d" and "596523h" are rejected, "2147483647s" is
//   not. Errors: "parameter NAME: bad time value or unit: VALUE".
// * bool: exactly "yes" or "no", any case; "true", "1", "on", "" are bad.
//   Error: "bad boolean configuration: NAME = VALUE".
// * int/long: the whole value must be a number that fits a C int (long for
//   the few long-valued parameters such as message_size_limit). Error:
//   "bad numerical configuration: NAME = VALUE".
// * Range errors differ per type: time parameters say
//   "invalid NAME: V (min N)" / "(max N)" (V in seconds), integer ones say
//   "invalid NAME parameter value V < N" / "V > N". postscreen's limits
//   follow the same split: postscreen_greet_wait=0 gives
//   "invalid postscreen_greet_wait: 0 (min 1)", postscreen_pre_queue_limit=5
//   gives "invalid postscreen_pre_queue_limit parameter value 5 < 10".
// * In stock parameter tables a bound of 0 means "no bound". Here bounds are
//   real bounds; leave an argument at its default for "no bound".
#pragma once

#include <limits>
#include <string_view>

namespace psm {

// Returns seconds (0..INT_MAX). default_unit is one of s, m, h, d, w
// (std::invalid_argument otherwise: that is a bug in the caller).
long parse_time_value(std::string_view name, std::string_view value, char default_unit);

bool parse_bool_value(std::string_view name, std::string_view value);

// Decimal integer in the range of a C int.
long parse_int_value(std::string_view name, std::string_view value);

// Decimal integer in the range of a C long (stock's long parameters).
long parse_long_value(std::string_view name, std::string_view value);

// Which stock wording a range error uses.
enum class ValueKind { integer, time };

// Throws ConfigError worded as stock when value is outside [min, max]; the
// lower bound is checked first.
void check_value_range(std::string_view name, long value, long min = std::numeric_limits<long>::min(),
                       long max = std::numeric_limits<long>::max(), ValueKind kind = ValueKind::integer);

} // namespace psm
