// inline:{...} tables compared with stock postmap 3.7: results and errors.
#include "dict_test_support.hpp"

#include "psm/global/dict.hpp"
#include "psm/util/error.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using psm::test::LogCapture;
using psm::test::TempDir;

namespace {

// What our table answers for `keys`, or "fatal: REASON" when it won't open,
// in the shape of `postmap -q - MAP` output.
std::string ours(const std::string& spec, const std::vector<std::string>& keys, const psm::DictOpenOptions& options) {
    try {
        auto dict = psm::dict_open(spec, options);
        return psm::test::our_queries(*dict, keys);
    } catch (const psm::ConfigError& e) {
        return std::string("fatal: ") + e.what();
    }
}

std::string stock(const TempDir& dir, const std::string& spec, const std::vector<std::string>& keys,
                  const std::vector<std::string>& extra = {}) {
    auto r = psm::test::postmap_queries(dir, spec, keys, extra);
    for (auto& line : r.errors)
        if (line.rfind("fatal: ", 0) == 0) return line;
    return r.out;
}

} // namespace

TEST_CASE("inline: answers and open errors equal stock postmap's", "[inline]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    const std::vector<std::string> keys = {"a", "A", "b", "x", "\"a b\"", "\"a=b\"", "k"};
    const std::vector<std::string> specs = {
        "inline:{a=1, {x = y z }, a=2}",
        "inline:{A=1}",
        "inline:{ { a= }, b=2}",
        "inline:{=1, b=2}",
        "inline:{b=2,,x=3}",
        "inline:{{b=2}}",
        "inline:{ b={x} }",
        "inline:{ b={ x y } }",
        "inline:{ b={x}y }",
        "inline:{ {a={x}} }",
        "inline:{\"a=b\"=1}",
        "inline:{ {\"a b\" = 1} }",
        "inline:{ {k = v}, {K=w} }",
        "inline:{}",
        "inline:{ }",
        "inline:{a}",
        "inline:{a=1",
        "inline:{a=1}x",
        "inline:a=1",
        "inline:{{a=1}",
        "inline:{ {a=1} junk}",
        "inline:{ a = 1 , b=2 }",
        "inline:{b=2 x}",
        "inline:{ {}, b=2}",
        "inline:{ { }, b=2}",
        "inline:{ {a=1}{b=2} }",
        "inline:{\"a b\"=1}",
        "inline:{\"a=1}",
    };
    for (const auto& spec : specs) {
        INFO(spec);
        CHECK(ours(spec, keys, psm::DictOpenOptions{}) == stock(dir, spec, keys));
    }
    // Spot checks of what was compared.
    CHECK(ours("inline:{a=1, {x = y z }, a=2}", {"a", "x"}, {}) == "a\t2\nx\ty z\n");
    CHECK(ours("inline:{ }", {"a"}, {}) == "fatal: empty table: \"inline:{ }\"; need \"inline:{name=value...}\"");
}

TEST_CASE("inline: without case folding keys match exactly, as postmap -f", "[inline]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    psm::DictOpenOptions exact;
    exact.fold_case = false;
    const std::vector<std::string> keys = {"a", "A", "b", "B"};
    const std::string spec = "inline:{A=1, b=2}";
    CHECK(ours(spec, keys, exact) == stock(dir, spec, keys, {"-f"}));
    CHECK(ours(spec, keys, exact) == "A\t1\nb\t2\n");
}

TEST_CASE("inline: a daemon gets an unusable table for bad syntax", "[inline]") {
    LogCapture log;
    psm::DictOpenOptions daemon;
    daemon.allow_surrogate = true;
    auto dict = psm::dict_open("inline:{a}", daemon);
    CHECK(dict->lookup("a").failed());
    const std::string reason = "missing '=' after attribute name: \"inline:{a}\"; need \"inline:{name=value...}\"";
    CHECK(log.lines() == std::vector<std::string>{"error: " + reason, "warning: inline:{a} is unavailable. " + reason});
}

TEST_CASE("inline: read-only, and a walk sees every entry", "[inline]") {
    psm::DictOpenOptions writable;
    writable.writable = true;
    CHECK_THROWS_WITH(psm::dict_open("inline:{a=1}", writable), "inline:{a=1} map requires O_RDONLY access mode");
    auto dict = psm::dict_open("inline:{b=2, a=1}");
    std::string k, v, seen;
    for (bool first = true; dict->sequence(first, k, v) == psm::DictStatus::found; first = false)
        seen += k + v + ";";
    CHECK(seen == "b2;a1;");
    CHECK(dict->update("c", "3") == psm::DictStatus::error);
}

TEST_CASE("dict_open: malformed type:name and unknown types as stock", "[inline]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    for (const std::string spec : {"static:", "inline:", ":x"}) {
        INFO(spec);
        CHECK(ours(spec, {"a"}, {}) == stock(dir, spec, {"a"}));
    }
    CHECK(ours("nosuch:x", {"a"}, {}) == stock(dir, "nosuch:x", {"a"}));
    CHECK(ours("nosuch:x", {"a"}, {}) == "fatal: unsupported dictionary type: nosuch");
    CHECK_THROWS_WITH(psm::dict_open("noname"), "open dictionary: expecting \"type:name\" form instead of \"noname\"");
}

TEST_CASE("inline: with smtputf8 on, bad UTF-8 and Unicode case as stock", "[inline]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    psm::DictOpenOptions utf8;
    utf8.utf8 = true;
    const std::string bad = "inline:{a=\xff}";
    auto stock_bad = psm::test::postmap_queries(dir, bad, {"a"}, {}, true);
    REQUIRE(stock_bad.errors.size() == 1);
    try {
        psm::dict_open(bad, utf8);
        FAIL("no ConfigError");
    } catch (const psm::ConfigError& e) {
        // Log lines pass through printable(), as stock's do.
        CHECK("fatal: " + psm::log_printable(e.what()) == stock_bad.errors[0]);
    }
    const std::string spec = "inline:{\xc3\x89=1, a=\xc3\xa9}";
    const std::vector<std::string> keys = {"A", "\xc3\xa9", "\xc3\x89", "\xff"};
    LogCapture log;
    auto dict = psm::dict_open(spec, utf8);
    auto stock = psm::test::postmap_queries(dir, spec, keys, {}, true);
    CHECK(psm::test::our_queries(*dict, keys) == stock.out);
    CHECK(stock.out == "A\t\xc3\xa9\n\xc3\xa9\t1\n\xc3\x89\t1\n");
    CHECK(log.lines() == stock.errors);
}
