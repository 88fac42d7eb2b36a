// texthash: tables compared with stock postmap 3.7 (lookups and warnings).
#include "dict_test_support.hpp"

#include "psm/global/dict.hpp"
#include "psm/util/error.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using psm::test::LogCapture;
using psm::test::TempDir;

namespace {

// A source file with every syntax case stock handles.
const std::string kSource = "# comment line\n"
                            "Foo bar\n"
                            "\"a b\" quoted value\n"
                            "key   value with  spaces   \n"
                            "\n"
                            "cont first\n"
                            "  second part\n"
                            "#comment inside a continuation\n"
                            "  third\n"
                            "novalue\n"
                            "foo dup\n"
                            "FOO dup2\n"
                            "key: alias\n"
                            "\"c d\"e v2\n"
                            "f\\ g v3\n"
                            "\"unterm v4\n"
                            "\"q\\\"x y\" v5\n"
                            "h\"i j\" v6\n"
                            "\"\" v7\n"
                            "crlf value\r\n"
                            "tab\tseparated\t value\t\n"
                            "   \t\n"
                            "last no newline";

const std::vector<std::string> kKeys = {
    "foo",      "Foo",     "FOO",  "\"a b\"",  "a b",   "\"a",     "key",      "KEY",
    "cont",     "novalue", "key:", "\"c d\"e", "f\\ g", "f g",     "\"unterm", "\"q\\\"x y\"",
    "h\"i j\"", "\"\"",    "crlf", "tab",      "last",  "missing", "",
};

psm::DictOpenOptions folded() {
    return psm::DictOpenOptions{};
}

} // namespace

TEST_CASE("texthash: lookups and warnings equal stock postmap's", "[texthash]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    auto path = dir.write("table", kSource);
    LogCapture log;
    auto dict = psm::dict_open("texthash:" + path, folded());
    auto ours = psm::test::our_queries(*dict, kKeys);
    auto stock = psm::test::postmap_queries(dir, "texthash:" + path, kKeys);
    REQUIRE(stock.status == 0);
    CHECK(ours == stock.out);
    CHECK(log.lines() == stock.errors);
    // Spot checks that the comparison covers real behaviour.
    CHECK(dict->lookup("KEY").value == "value with  spaces");
    CHECK(dict->lookup("cont").value == "first  second part  third");
    CHECK(dict->lookup("\"a b\"").value == "quoted value");
    CHECK(dict->lookup("FOO").value == "bar");
    CHECK(log.lines().at(0) ==
          "warning: " + path + ", line 10: expected format: key whitespace value -- ignoring this line");
}

TEST_CASE("texthash: without case folding keys match exactly, as postmap -f", "[texthash]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    auto path = dir.write("table", "Foo bar\nfoo lower\nMiXeD x\n");
    psm::DictOpenOptions options;
    options.fold_case = false;
    LogCapture log;
    auto dict = psm::dict_open("texthash:" + path, options);
    std::vector<std::string> keys = {"foo", "Foo", "FOO", "mixed", "MiXeD"};
    auto stock = psm::test::postmap_queries(dir, "texthash:" + path, keys, {"-f"});
    CHECK(psm::test::our_queries(*dict, keys) == stock.out);
    CHECK(stock.out == "foo\tlower\nFoo\tbar\nMiXeD\tx\n");
    CHECK(log.lines().empty());
}

TEST_CASE("texthash: duplicate keys per policy", "[texthash]") {
    TempDir dir;
    auto path = dir.write("table", "a 1\nA 2\nb 3\n");
    LogCapture log;
    SECTION("warn and keep the first (postmap)") {
        auto dict = psm::dict_open("texthash:" + path);
        CHECK(dict->lookup("a").value == "1");
        CHECK(log.lines() == std::vector<std::string>{"warning: " + path + ", line 2: duplicate entry: \"A\""});
    }
    SECTION("replace") {
        psm::DictOpenOptions options;
        options.duplicates = psm::DictDuplicates::replace;
        auto dict = psm::dict_open("texthash:" + path, options);
        CHECK(dict->lookup("a").value == "2");
        CHECK(log.lines().empty());
    }
    SECTION("unusable: every lookup fails and says why") {
        psm::DictOpenOptions options;
        options.duplicates = psm::DictDuplicates::unusable;
        auto dict = psm::dict_open("texthash:" + path, options);
        CHECK(dict->lookup("b").failed());
        std::string reason = path + ", line 2: duplicate entry: \"A\"";
        CHECK(log.lines() ==
              std::vector<std::string>{"error: " + reason, "warning: texthash:" + path + " is unavailable. " + reason});
    }
}

TEST_CASE("texthash: open failures are worded as stock", "[texthash]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    std::string missing = dir.file("missing");
    auto stock = psm::test::postmap(dir, {"-q", "x", "texthash:" + missing});
    REQUIRE(stock.errors.size() == 1);
    CHECK(stock.errors[0] == "fatal: open database " + missing + ": No such file or directory");
    try {
        psm::dict_open("texthash:" + missing);
        FAIL("no ConfigError");
    } catch (const psm::ConfigError& e) {
        CHECK("fatal: " + std::string(e.what()) == stock.errors[0]);
    }

    LogCapture log;
    psm::DictOpenOptions daemon;
    daemon.allow_surrogate = true;
    auto dict = psm::dict_open("texthash:" + missing, daemon);
    CHECK(dict->lookup("x").failed());
    CHECK(log.lines() == std::vector<std::string>{"error: open database " + missing + ": No such file or directory",
                                                  "warning: texthash:" + missing + " is unavailable. open database " +
                                                      missing + ": No such file or directory"});

    psm::DictOpenOptions writable;
    writable.writable = true;
    auto path = dir.write("t", "a b\n");
    CHECK_THROWS_WITH(psm::dict_open("texthash:" + path, writable),
                      "texthash:" + path + " map requires O_RDONLY access mode");
    auto stock_dir = psm::test::postmap(dir, {"-q", "x", "texthash:" + dir.path});
    CHECK(stock_dir.errors == std::vector<std::string>{"fatal: read " + dir.path + ": Is a directory"});
    CHECK_THROWS_WITH(psm::dict_open("texthash:" + dir.path, daemon), "read " + dir.path + ": Is a directory");
}

TEST_CASE("texthash: huge lines, binary bytes and NUL bytes behave as stock", "[texthash]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    std::string huge(1 << 20, 'v');
    std::string source = "  " + std::string(40, 'y') + "\n" + "big " + huge + "\n" +
                         std::string("bin\xff\x01 x\xfe\n") + std::string("ab\0cd nul\n", 10) +
                         std::string("\0lead z\n", 8) + "ok fine\n";
    auto path = dir.write("table", source);
    std::vector<std::string> keys = {"big", "bin\xff\x01", "ab", "abcd", "ok"};
    LogCapture log;
    auto dict = psm::dict_open("texthash:" + path);
    auto stock = psm::test::postmap_queries(dir, "texthash:" + path, keys);
    CHECK(psm::test::our_queries(*dict, keys) == stock.out);
    CHECK(log.lines() == stock.errors);
    CHECK(dict->lookup("big").value.size() == huge.size());
}

TEST_CASE("texthash: with smtputf8 on, non-UTF-8 lines and keys are refused as stock", "[texthash]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    auto path = dir.write("table", "caf\xc3\xa9 utf\nbad\xff x\nK\xc3\x89Y upper\n");
    psm::DictOpenOptions options;
    options.utf8 = true;
    LogCapture log;
    auto dict = psm::dict_open("texthash:" + path, options);
    std::vector<std::string> keys = {"caf\xc3\xa9", "CAF\xc3\x89", "k\xc3\xa9y", "bad\xff", "x"};
    auto ours = psm::test::our_queries(*dict, keys);
    auto stock = psm::test::postmap_queries(dir, "texthash:" + path, keys, {}, true);
    CHECK(ours == stock.out);
    CHECK(stock.out == "caf\xc3\xa9\tutf\nCAF\xc3\x89\tutf\nk\xc3\xa9y\tupper\n");
    CHECK(log.lines() == stock.errors);
}

TEST_CASE("texthash: walks every entry - never reports a change (as stock)", "[texthash]") {
    TempDir dir;
    auto path = dir.write("table", "b 2\na 1\nc 3\n");
    auto dict = psm::dict_open("texthash:" + path);
    REQUIRE(dict->supports_sequence());
    std::vector<std::string> seen;
    std::string k, v;
    for (bool first = true; dict->sequence(first, k, v) == psm::DictStatus::found; first = false)
        seen.push_back(k + "=" + v);
    CHECK(seen == std::vector<std::string>{"b=2", "a=1", "c=3"});
    dir.write("table", "changed x\n");
    CHECK_FALSE(dict->file_changed());
}

TEST_CASE("texthash: a file modified within the last second is read again once it cools down", "[texthash]") {
    TempDir dir;
    auto path = dir.file("fresh");
    { std::ofstream(path) << "a 1\n"; }
    LogCapture log;
    auto start = std::chrono::steady_clock::now();
    auto dict = psm::dict_open("texthash:" + path);
    auto waited = std::chrono::steady_clock::now() - start;
    CHECK(dict->lookup("a").value == "1");
    // Stock pauses 300 ms between reads until the mtime is over a second old.
    CHECK(waited >= std::chrono::milliseconds(250));
    CHECK(waited < std::chrono::seconds(4));
}
