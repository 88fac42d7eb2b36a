// The parameter registry: every main.cf parameter the suite reads, with its
// type, limits and stock Postfix 3.7 default text exactly as `postconf -d`
// prints it (expressions such as "${stress?{2}:{6}}s" included). Defaults
// that stock computes at run time (myhostname, mydomain, mynetworks) are
// computed the same way here.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace psm {

class Config;

enum class ParamType {
    string,       // $name-expanded text
    raw,          // text used as written: never $name-expanded
    integer,      // C int range
    long_integer, // C long range (message_size_limit and friends)
    time,         // number with unit letter, in seconds
    boolean,      // yes / no
};

// Computes a run-time default from the rest of the configuration.
using ParamDefaultFn = std::string (*)(const Config& config);

struct ParamInfo {
    std::string_view name;
    ParamType type = ParamType::string;
    // The default exactly as `postconf -d` prints it. For computed
    // defaults this is empty and `compute` gives the value.
    std::string_view default_value;
    ParamDefaultFn compute = nullptr;
    // Limits as in stock's parameter tables, 0 meaning "no limit": a
    // number's value (seconds for time), a string's length.
    long min = 0;
    long max = 0;
    // Unit of a time value written without a unit letter ('s','m','h','d','w').
    char time_unit = 0;
};

// nullptr when the name is not a parameter the suite knows.
const ParamInfo* find_parameter(std::string_view name);

// All known parameters, sorted by name.
std::span<const ParamInfo> all_parameters();

} // namespace psm
