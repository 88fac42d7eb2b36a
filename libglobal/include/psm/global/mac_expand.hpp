// Postfix's $name expansion language (mac_parse + mac_expand): $name,
// ${name}, $(name), $$, ${name?text}, ${name:text}, ${name?{a}:{b}},
// relational ${{x} == {y} ? {a} : {b}} with ==, !=, <, <=, >, >= (numeric
// when both sides are all digits) and the compatibility-level forms
// <level, <=level, ==level, !=level, >level, >=level.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace psm {

// Why a name is looked up: its value is used ($name), or only tested for
// being non-empty (${name?...} / ${name:...}).
enum class MacMode { use, test };

// Returns the value of a name, or nullopt when the name is undefined
// (an undefined name expands to nothing).
using MacLookup = std::function<std::optional<std::string>(std::string_view name, MacMode mode)>;

struct MacExpandOptions {
    // Expand $name in looked-up values too (main.cf semantics).
    bool recurse = false;
    // Only walk the text: look up every name, including both branches of
    // conditionals, and produce no text (postconf's "is it used" scan).
    bool scan = false;
    // When set: characters of looked-up values outside this set become '_'
    // (ignored with recurse).
    std::optional<std::string_view> filter;
};

struct MacExpandResult {
    std::string text;
    // Problems, worded as stock's warnings, e.g.
    // "truncated macro reference: \"$(x\"" or
    // "unreasonable macro call nesting: \"name\"". Non-empty = stock's
    // MAC_PARSE_ERROR; text is then unusable.
    std::vector<std::string> errors;
    bool undefined = false; // a $name was used whose value is undefined

    bool ok() const { return errors.empty(); }
};

MacExpandResult mac_expand(std::string_view pattern, const MacLookup& lookup, const MacExpandOptions& options = {});

// Every name referenced in pattern (scan mode), in order of appearance,
// duplicates included.
std::vector<std::string> mac_scan_names(std::string_view pattern);

// Postfix compatibility levels ("3", "3.6", "3.6.1") as one comparable
// number; nullopt when malformed.
std::optional<long> compat_level_from_string(std::string_view text);

} // namespace psm
