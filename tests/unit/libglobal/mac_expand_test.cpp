// mac_expand: $name expansion results and diagnostics, checked against stock postconf -x 3.7.11.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "psm/global/mac_expand.hpp"

using psm::MacExpandOptions;
using psm::MacExpandResult;
using psm::MacLookup;
using psm::MacMode;

namespace {

// The variables every case sees (main.cf-like: values expanded recursively).
std::map<std::string, std::string, std::less<>> test_variables() {
    std::map<std::string, std::string, std::less<>> v = {
        {"a", "A"},
        {"b", "B"},
        {"e", ""},
        {"n10", "10"},
        {"n9", "9"},
        {"lvl", "3.6"},
        {"lvl2", "3.10"},
        {"ra", "$a"},
        {"rr", "$ra"},
        {"loop", "$loop"},
        {"l1", "$l2"},
        {"l2", "$l1"},
        {"cond", "${a?{yes}:{no}}"},
        {"rel", "${{$rel} == {x}}"},
        {"rel2", "${{$rel2} != {$rel2}}"},
        {"d0", "x"},
    };
    for (int i = 0; i < 130; ++i)
        v["c" + std::to_string(i)] = "$c" + std::to_string(i + 1);
    v["c130"] = "end";
    // d40 names d39 twice, ... : 2^40 evaluations if nothing stopped it.
    for (int i = 1; i <= 40; ++i)
        v["d" + std::to_string(i)] = "$d" + std::to_string(i - 1) + "$d" + std::to_string(i - 1);
    return v;
}

MacExpandResult expand(std::string_view pattern, bool recurse = true) {
    static const auto vars = test_variables();
    MacExpandOptions options;
    options.recurse = recurse;
    return psm::mac_expand(
        pattern,
        [](std::string_view name, MacMode) -> std::optional<std::string> {
            auto it = vars.find(name);
            if (it == vars.end()) return std::nullopt;
            return it->second;
        },
        options);
}

struct Good {
    const char* pattern;
    const char* result;
};

// Results printed by `postconf -xh` for the same variables and patterns.
const Good kGood[] = {
    {"plain text", "plain text"},
    {"$a", "A"},
    {"${a}", "A"},
    {"$(a)", "A"},
    {"x$a.y", "xA.y"},
    {"$$a", "$a"},
    {"$$", "$"},
    {"a$$$a", "a$A"},
    {"$undefined", ""},
    {"${undefined}x", "x"},
    {"$ra", "A"},
    {"$rr", "A"},
    {"$a$b", "AB"},
    {"${a?yes}", "yes"},
    {"${e?yes}", ""},
    {"${undefined?yes}", ""},
    {"${a:no}", ""},
    {"${e:no}", "no"},
    {"${undefined:no}", "no"},
    {"${a?{yes}:{no}}", "yes"},
    {"${e?{yes}:{no}}", "no"},
    {"${a?{$b}:{no}}", "B"},
    {"${a?{yes}:no}", "yes"},
    {"${e?{yes}:n$b}", "nB"},
    {"${a ? {yes} : {no}}", "yes"},
    {"${ a }", "A"},
    {"${a?x:y}", "x:y"},
    {"${a?{x{y}}:{z}}", "x{y}"},
    {"${cond}", "yes"},
    {"${{$a} == {A} ? {eq} : {ne}}", "eq"},
    {"${{$a} != {A} ? {eq} : {ne}}", "ne"},
    {"${{$n10} > {$n9} ? {gt} : {le}}", "gt"},
    {"${{10} < {9} ? {lt} : {ge}}", "ge"},
    {"${{abc} < {abd} ? {lt} : {ge}}", "lt"},
    {"${{10} <= {10} ? {le} : {gt}}", "le"},
    {"${{10} >= {9}?{ge}:{lt}}", "ge"},
    {"${{9} > {10}?{gt}:{le}}", "le"},
    {"${{010} == {10}?{eq}:{ne}}", "eq"},
    {"${{9}<{10a}?{lt}:{ge}}", "ge"},
    {"${{}=={}?{empty}:{x}}", "empty"},
    {"${{a} == {a}}", "true"},
    {"${{a} == {b}}x", "x"},
    {"${{a}<{b}:{no}}", ""},
    {"${{a}>{b}:{no}}", "no"},
    {"${{$lvl} <level {3.6} ? {old} : {new}}", "new"},
    {"${{$lvl2} >level {3.9} ? {newer} : {older}}", "newer"},
    {"${{3.6} <=level {3.6}?{y}:{n}}", "y"},
    {"${{2} >=level {3.6}?{y}:{n}}", "n"},
    {"${{3.6.1} ==level {3.6.1}?{y}:{n}}", "y"},
    {"${{3.6} !=level {3.6.0}?{y}:{n}}", "n"},
    {"${{0} <level {1}?{y}:{n}}", "y"},
    {"$c31", "end"},
};

struct Bad {
    const char* pattern;
    const char* error;
};

// The warning stock logs before "fatal: ... macro processing error".
const Bad kBad[] = {
    {"${{x} <level {1}}", "malformed compatibility level syntax: \"x\""},
    {"$loop", "unreasonable macro call nesting: \"loop\""},
    {"$l1", "unreasonable macro call nesting: \"l2\""},
    {"$c30", "unreasonable macro call nesting: \"end\""},
    {"$c29", "unreasonable macro call nesting: \"c130\""},
    {"$(a", "truncated macro reference: \"$(a\""},
    {"${a?{x}", "truncated macro reference: \"${a?{x}\""},
    {"${{a}", "truncated macro reference: \"${{a}\""},
    {"x$", "empty macro name: \"x$\""},
    {"${}", "empty macro name: \"${}\""},
    {"${a-b}", "attribute name syntax error at: \"...a>>>-b\""},
    {"${a?{x}y}", "\":\" expected at: \"...x}>>>y\""},
    {"${a?{x}:{y}z}", "unexpected input at: \"...y}>>>z\""},
    {"${{a} = {b}}", "\"==\" or \"!=\"\" or \"<\"\" or \"<=\"\" or \">=\"\" or \">\" expected at: \"...a}>>>= {b}\""},
    {"${{a} == b}", "\"{expression}\" expected at: \"...{a} ==>>> b\""},
    {"${{x}==}", "\"{expression}\" expected at: \"...{x} ==>>>\""},
    {"${{a} == {b} x}", "\"?\" or \":\" expected at: \"...}>>>x\""},
    {"${{1} >foo {2}}", "bad operator suffix at: \"...>>>>foo\""},
    {"$(a?{x)", "unbalanced {} in attribute expression: \"{x\""},
};

} // namespace

TEST_CASE("mac_expand gives stock's results", "[mac_expand]") {
    for (const Good& g : kGood) {
        INFO("pattern: " << g.pattern);
        MacExpandResult r = expand(g.pattern);
        CHECK(r.errors.empty());
        CHECK(r.text == g.result);
    }
}

TEST_CASE("mac_expand reports stock's diagnostics", "[mac_expand]") {
    for (const Bad& b : kBad) {
        INFO("pattern: " << b.pattern);
        MacExpandResult r = expand(b.pattern);
        REQUIRE_FALSE(r.ok());
        CHECK(r.errors.front() == b.error);
    }
}

TEST_CASE("mac_expand stops a loop through relational operands", "[mac_expand]") {
    // Stock recurses here until the stack overflows; we stop with its wording.
    MacExpandResult r = expand("$rel");
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors.front().rfind("unreasonable macro call nesting: ", 0) == 0);
}

TEST_CASE("mac_expand: a loop in both relational operands fails once, not once per path", "[mac_expand]") {
    // Both operands name the value they are in: evaluating the right one
    // after the left one failed made every level twice the work (found by
    // fuzzing: minutes and gigabytes for one main.cf line).
    MacExpandResult r = expand("$rel2");
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors.size() == 1);
    CHECK(r.errors.front().rfind("unreasonable macro call nesting: ", 0) == 0);
}

TEST_CASE("mac_expand bounds the work of one call", "[mac_expand]") {
    // Shallow but exponential: fails with the nesting error instead of
    // building a 2^40-byte value.
    MacExpandResult r = expand("$d40");
    REQUIRE_FALSE(r.ok());
    CHECK(r.errors.front().rfind("unreasonable macro call nesting: ", 0) == 0);
    // Below the bound the same kind of value expands in full.
    CHECK(expand("$d10").text == std::string(1024, 'x'));
}

TEST_CASE("mac_expand without recursion inserts values as they are", "[mac_expand]") {
    CHECK(expand("<$ra>", false).text == "<$a>");
    CHECK(expand("${{$ra} == {$a}?{same}:{differ}}", false).text == "differ");
    // Conditional text is still expanded; only looked-up values are not.
    CHECK(expand("${a?{$b}}", false).text == "B");
}

TEST_CASE("mac_expand keeps white space inside {} payloads", "[mac_expand]") {
    // The payload between the braces is used as written; blanks around the
    // braces are not part of it.
    CHECK(expand("[${a ? { x y } : {no}}]").text == "[ x y ]");
    CHECK(expand("[${e ?  {x}  :  {n o}  }]").text == "[n o]");
}

TEST_CASE("mac_expand flags undefined names", "[mac_expand]") {
    CHECK(expand("$undefined").undefined);
    CHECK_FALSE(expand("$a").undefined);
    CHECK_FALSE(expand("${undefined?x}").undefined); // only tested, not used
}

TEST_CASE("mac_expand filter replaces characters outside the set", "[mac_expand]") {
    MacExpandOptions options;
    options.filter = std::string_view("abc");
    MacExpandResult r = psm::mac_expand(
        "<$v>", [](std::string_view, MacMode) -> std::optional<std::string> { return std::string("abXc d"); }, options);
    CHECK(r.text == "<ab_c__>");
}

TEST_CASE("mac_expand tells the lookup how a name is used", "[mac_expand]") {
    std::vector<std::pair<std::string, MacMode>> seen;
    psm::mac_expand("$x ${y?z} ${w:v}", [&](std::string_view name, MacMode mode) -> std::optional<std::string> {
        seen.emplace_back(std::string(name), mode);
        return std::nullopt;
    });
    REQUIRE(seen.size() == 3);
    CHECK(seen[0] == std::make_pair(std::string("x"), MacMode::use));
    CHECK(seen[1] == std::make_pair(std::string("y"), MacMode::test));
    CHECK(seen[2] == std::make_pair(std::string("w"), MacMode::test));
}

TEST_CASE("mac_scan_names finds names in every branch", "[mac_expand]") {
    using V = std::vector<std::string>;
    CHECK(psm::mac_scan_names("${a?{$b}:{$c}} $d ${{$e} == {$f} ? {$g} : {$h}}") ==
          V{"a", "b", "c", "d", "e", "f", "g", "h"});
    CHECK(psm::mac_scan_names("${postscreen_dnsbl_ttl?{$postscreen_dnsbl_ttl}:{1}}h") ==
          V{"postscreen_dnsbl_ttl", "postscreen_dnsbl_ttl"});
    CHECK(psm::mac_scan_names("no names, $$ only").empty());
}

TEST_CASE("compat_level_from_string orders levels numerically", "[mac_expand]") {
    CHECK(psm::compat_level_from_string("3.10") > psm::compat_level_from_string("3.9"));
    CHECK(psm::compat_level_from_string("3.6") == psm::compat_level_from_string("3.6.0"));
    CHECK(psm::compat_level_from_string("2") < psm::compat_level_from_string("3.6"));
    CHECK_FALSE(psm::compat_level_from_string("3.6.1.2"));
    CHECK_FALSE(psm::compat_level_from_string("3.1024"));
    CHECK_FALSE(psm::compat_level_from_string(""));
    CHECK_FALSE(psm::compat_level_from_string("x"));
    CHECK_FALSE(psm::compat_level_from_string("3."));
}
