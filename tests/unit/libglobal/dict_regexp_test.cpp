// regexp: tables compared with stock postmap 3.7: answers, substitutions,
// if/endif, negation, inline rules and the warnings for bad rules.
#include "dict_test_support.hpp"

#include "psm/global/dict.hpp"
#include "psm/util/error.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using psm::test::LogCapture;
using psm::test::TempDir;

namespace {

const std::string kRules = "# comment\n"
                           "/^abc$/\t\texact abc\n"
                           "/^(foo)\\.(bar)$/\tgot $2 and $1 and $$ and ${1}x and $(2)\n"
                           "/^UPPER/i\tcase-sensitive upper\n"
                           "!/@/\tno at sign in $0\n"
                           "/^neg/!/nope/\tneg but not nope\n"
                           "if /^if/\n"
                           "/^ifa/\tinside if a\n"
                           "/^ifb(.*)/\tinside if b: $1\n"
                           "endif\n"
                           "IF !/^z/\n"
                           "/^y/\ty not z\n"
                           "ENDIF\n"
                           "/^cont/\tfirst\n"
                           "  continued part\n"
                           "/^empty(x)?$/\t[$1]\n"
                           "/a{2,}/\ttwo-a\n"
                           "/[[:digit:]]+x/\tdigits-x\n"
                           "/^multi/m\tmulti\n"
                           "/^ext(.)/x\text $1\n"
                           "/^bad(/\tbad\n"
                           "/^badopt/q\tbadopt\n"
                           "/^noclose\tx\n"
                           "/^norepl/\n"
                           "/^idx(a)/\t$2\n"
                           "endif\n"
                           "   /^leading/\tlead\n"
                           "/^tab\tx/\ttab\n"
                           "/\\// slash\n"
                           "|^pipe| other delimiter\n"
                           "/^a(.)/\tx$1a\n"
                           "/^b(.)/\tx$\n"
                           "/^c(.)/\tx${1\n"
                           "/^e(.)/\tx${ 1}\n"
                           "/^f(.)/\tx$_\n"
                           "/^g(.)/\tx$01y\n"
                           "/^h(.)?(.)/\t[$1|$2]\n"
                           "/^i/\t$$$$\n"
                           "if /^j/ junk\n"
                           "/^j/ j in if\n"
                           "endif junk\n"
                           "/^k(.)/ ${0000000001}\n"
                           "unknown request\n"
                           "/^last/\t  trailing spaces   \n"
                           "!/[.]/\tno dot\n"
                           "if /^open/\n"
                           "/^open(.*)/ still open $1\n";

const std::vector<std::string> kKeys = {
    "abc",     "ABC", "abcd",   "foo.bar", "FOO.BAR", "upper", "UPPERx", "nosign", "me@x",   "negx",
    "negnope", "ifa", "ifbXYZ", "ifc",     "ya",      "za",    "cont",   "empty",  "emptyx", "aa",
    "xaax",    "12x", "multi",  "extA",    "norepl",  "last",  "tab\tx", "a/b",    "pipe",   "aZ",
    "bZ",      "hZ",  "iZ",     "jj",      "kQ",      "openX", "z.z",    "",
};

} // namespace

TEST_CASE("regexp: answers and warnings equal stock postmap's", "[regexp]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    auto path = dir.write("rules", kRules);
    LogCapture log;
    auto dict = psm::dict_open("regexp:" + path);
    auto ours = psm::test::our_queries(*dict, kKeys);
    auto stock = psm::test::postmap_queries(dir, "regexp:" + path, kKeys);
    REQUIRE(stock.status == 0);
    CHECK(ours == stock.out);
    CHECK(log.lines() == stock.errors);
    // Spot checks of what the comparison covered.
    CHECK(dict->lookup("FOO.BAR").value == "got BAR and FOO and $ and FOOx and BAR");
    CHECK(dict->lookup("ifbXYZ").value == "inside if b: XYZ");
    CHECK(dict->lookup("hZ").value == "[|Z]");
    CHECK(dict->lookup("negnope").value == "no dot"); // "/^neg/!/nope/" did not match
    CHECK(dict->lookup("zz").value == "no dot");
}

TEST_CASE("regexp: postscreen's default forbidden-command table", "[regexp]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    const std::string spec = "regexp:{{/^[^A-Z]/ Bogus}}";
    const std::vector<std::string> keys = {"1abc", "abc", "ABC", "", "-x", "\xc3\xa9t\xc3\xa9", "Connect", "{"};
    auto dict = psm::dict_open(spec);
    auto stock = psm::test::postmap_queries(dir, spec, keys);
    CHECK(psm::test::our_queries(*dict, keys) == stock.out);
    CHECK(stock.out == "1abc\tBogus\n-x\tBogus\n\xc3\xa9t\xc3\xa9\tBogus\n{\tBogus\n");
}

TEST_CASE("regexp: inline rule lists and their errors as stock", "[regexp]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    const std::vector<std::string> keys = {"1abc", "abc", "b"};
    for (const std::string spec :
         {"regexp:{ /x/ y }", "regexp:{}", "regexp:{ }", "regexp:{{/a/ b}, {/./ d}}", "regexp:{{/a/ b}x}",
          "regexp:{{/a/ b}", "regexp:{{/a/ b}} x", "regexp:{{}}", "regexp:{{/x/}}", "regexp:{ , {/./ c},,{/b/ d} , }",
          "regexp:{{if /a/}, {/./ in}, {endif}}", "regexp:{ {/(b)/ got $1} }"}) {
        INFO(spec);
        LogCapture log;
        std::string ours;
        try {
            auto dict = psm::dict_open(spec);
            ours = psm::test::our_queries(*dict, keys);
        } catch (const psm::ConfigError& e) {
            ours = std::string("fatal: ") + e.what();
        }
        auto stock = psm::test::postmap_queries(dir, spec, keys);
        std::vector<std::string> warnings;
        std::string expected = stock.out;
        for (auto& line : stock.errors) {
            if (line.rfind("fatal: ", 0) == 0)
                expected = line;
            else
                warnings.push_back(line);
        }
        CHECK(ours == expected);
        CHECK(log.lines() == warnings);
    }
}

TEST_CASE("regexp: open failures are worded as stock", "[regexp]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    const std::string missing = dir.file("missing");
    auto stock = psm::test::postmap(dir, {"-q", "x", "regexp:" + missing});
    REQUIRE(stock.errors.size() == 1);
    CHECK_THROWS_WITH(psm::dict_open("regexp:" + missing), stock.errors[0].substr(7));
    CHECK(stock.errors[0] == "fatal: open " + missing + ": No such file or directory");
    // A directory opens but can't be read: stock silently has no rules.
    auto stock_dir = psm::test::postmap(dir, {"-q", "a", "regexp:" + dir.path});
    CHECK(stock_dir.status == 1);
    CHECK(stock_dir.errors.empty());
    LogCapture log;
    CHECK_FALSE(psm::dict_open("regexp:" + dir.path)->lookup("a").found());
    CHECK(log.lines().empty());
    psm::DictOpenOptions writable;
    writable.writable = true;
    auto path = dir.write("r", "/a/ b\n");
    CHECK_THROWS_WITH(psm::dict_open("regexp:" + path, writable),
                      "regexp:" + path + " map requires O_RDONLY access mode");
}

TEST_CASE("regexp: keys are matched as given - case folding is not applied", "[regexp]") {
    TempDir dir;
    auto path = dir.write("r", "/^A/i upper A only\n/^(.*)$/ echo $1\n");
    psm::DictOpenOptions folding; // fold_case = true affects only fixed-key tables
    auto dict = psm::dict_open("regexp:" + path, folding);
    CHECK(dict->lookup("Abc").value == "upper A only");
    CHECK(dict->lookup("aBC").value == "echo aBC");
    CHECK(dict->lookup(std::string("x\0y", 3)).value == "echo x");
    CHECK_FALSE(dict->file_changed());
}
