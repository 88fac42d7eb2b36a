// RecentRecords: the bounded memory of recently seen cache records - values
// and known absences, the newest update wins, what is in use survives a
// generation change, and it never holds more than its capacity.
#include "cache_recent.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

using psm::postscreen::RecentRecords;

namespace {

std::optional<std::optional<std::string>> find(RecentRecords& recent, const std::string& key) {
    const std::optional<std::string>* known = recent.find(key);
    if (known == nullptr) return std::nullopt;
    return *known;
}

} // namespace

TEST_CASE("recent records: values and known absences, the newest wins", "[cache]") {
    RecentRecords recent(8);
    CHECK_FALSE(find(recent, "192.0.2.1").has_value());
    recent.remember("192.0.2.1", std::string("1;2;3;4;5"));
    recent.remember("192.0.2.2", std::nullopt);
    CHECK(find(recent, "192.0.2.1") == std::optional<std::string>("1;2;3;4;5"));
    REQUIRE(find(recent, "192.0.2.2").has_value());
    CHECK_FALSE(find(recent, "192.0.2.2")->has_value());
    recent.remember("192.0.2.2", std::string("6;7;8;9;10"));
    CHECK(find(recent, "192.0.2.2") == std::optional<std::string>("6;7;8;9;10"));
    recent.forget("192.0.2.1");
    CHECK_FALSE(find(recent, "192.0.2.1").has_value());
    CHECK(recent.size() == 1);
    recent.clear();
    CHECK(recent.size() == 0);
}

TEST_CASE("recent records: bounded, a key in use survives, the oldest go", "[cache]") {
    RecentRecords recent(8); // two generations of 4
    for (int i = 0; i < 4; ++i)
        recent.remember("k" + std::to_string(i), std::to_string(i));
    CHECK(recent.size() == 4);
    // The fifth key starts a new generation; k0..k3 are the previous one.
    recent.remember("k4", std::string("4"));
    CHECK(recent.size() == 5);
    // k0 is used: it moves to the current generation.
    CHECK(find(recent, "k0") == std::optional<std::string>("0"));
    // k5, k6 fill the current generation (k4, k0, k5, k6); k7 starts the
    // next one, which drops k1..k3 (not used since).
    recent.remember("k5", std::string("5"));
    recent.remember("k6", std::string("6"));
    recent.remember("k7", std::string("7"));
    CHECK(find(recent, "k0") == std::optional<std::string>("0"));
    CHECK(find(recent, "k4") == std::optional<std::string>("4"));
    CHECK_FALSE(find(recent, "k1").has_value());
    CHECK_FALSE(find(recent, "k2").has_value());
    CHECK_FALSE(find(recent, "k3").has_value());
    // An update of a key in the previous generation replaces it there.
    recent.remember("k5", std::string("55"));
    CHECK(find(recent, "k5") == std::optional<std::string>("55"));

    for (int i = 0; i < 1000; ++i) {
        recent.remember("n" + std::to_string(i), std::nullopt);
        REQUIRE(recent.size() <= 8);
    }
}
