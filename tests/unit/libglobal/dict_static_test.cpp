// static: tables compared with stock postmap 3.7: values and errors.
#include "dict_test_support.hpp"

#include "psm/global/dict.hpp"
#include "psm/util/error.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using psm::test::LogCapture;
using psm::test::TempDir;

TEST_CASE("static: every lookup finds the value - braces as stock", "[static]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    for (const std::string spec :
         {"static:all", "static:{ a b }", "static:a b", "static:{{x} y}", "static:{a b", "static:{a}b", "static:OK "}) {
        INFO(spec);
        auto stock = psm::test::postmap(dir, {"-q", "anything", spec});
        std::string ours;
        try {
            auto dict = psm::dict_open(spec);
            auto r = dict->lookup("anything");
            REQUIRE(r.found());
            ours = r.value + "\n";
        } catch (const psm::ConfigError& e) {
            ours = std::string("fatal: ") + e.what();
        }
        std::string expected = stock.status == 0 ? stock.out : stock.errors.at(0);
        CHECK(ours == expected);
    }
    CHECK(psm::dict_open("static:{ a b }")->lookup("x").value == "a b");
    CHECK_THROWS_WITH(psm::dict_open("static:{a b"), "bad static:name syntax: missing '}' in \"{a b\"");
}

TEST_CASE("static: an empty value is found as empty, and the table is read-only", "[static]") {
    auto dict = psm::dict_open("static:{}");
    auto r = dict->lookup("x");
    CHECK(r.found());
    CHECK(r.value.empty());
    CHECK(dict->update("x", "y") == psm::DictStatus::error);
    CHECK_FALSE(dict->supports_sequence());
}

TEST_CASE("static: a daemon gets an unusable table for bad braces", "[static]") {
    LogCapture log;
    psm::DictOpenOptions daemon;
    daemon.allow_surrogate = true;
    auto dict = psm::dict_open("static:{a}b", daemon);
    CHECK(dict->lookup("x").failed());
    const std::string reason = "bad static:name syntax: syntax error after '}' in \"{a}b\"";
    CHECK(log.lines() ==
          std::vector<std::string>{"error: " + reason, "warning: static:{a}b is unavailable. " + reason});
}
