// Tests for the DNSBL result cache: TTLs, LRU bound, what is not cached.
#include "result_cache.hpp"

#include <catch2/catch.hpp>

using psm::dnsblog::ResultCache;
using namespace std::chrono_literals;

TEST_CASE("result cache: entries live for their TTL and report what is left") {
    ResultCache cache(10);
    auto t0 = ResultCache::Clock::now();
    cache.store("2.0.0.127.bl", {{127, 0, 0, 2}}, 60, t0);
    cache.store("3.0.0.127.bl", {}, 30, t0);
    cache.store("4.0.0.127.bl", {}, 0, t0); // no TTL: not stored
    cache.store("5.0.0.127.bl", {}, -1, t0);
    CHECK(cache.size() == 2);
    auto hit = cache.find("2.0.0.127.bl", t0);
    REQUIRE(hit);
    CHECK(hit->ttl == 60);
    REQUIRE(hit->addresses.size() == 1);
    hit = cache.find("2.0.0.127.bl", t0 + 20s + 500ms);
    REQUIRE(hit);
    CHECK(hit->ttl == 40);
    auto neg = cache.find("3.0.0.127.bl", t0 + 29s);
    REQUIRE(neg);
    CHECK(neg->addresses.empty());
    CHECK(neg->ttl == 1);
    CHECK_FALSE(cache.find("3.0.0.127.bl", t0 + 30s));
    CHECK(cache.size() == 1);
    CHECK(cache.hits() == 3);
    CHECK(cache.misses() == 1);
}

TEST_CASE("result cache: bounded, least recently used first") {
    ResultCache cache(2);
    auto t0 = ResultCache::Clock::now();
    cache.store("a", {}, 60, t0);
    cache.store("b", {}, 60, t0);
    CHECK(cache.find("a", t0)); // a is now the most recent
    cache.store("c", {}, 60, t0);
    CHECK(cache.size() == 2);
    CHECK(cache.find("a", t0));
    CHECK_FALSE(cache.find("b", t0));
    CHECK(cache.find("c", t0));

    ResultCache off(0);
    off.store("a", {}, 60, t0);
    CHECK_FALSE(off.find("a", t0));

    ResultCache capped(5, 100);
    capped.store("a", {}, 100000, t0);
    CHECK(capped.find("a", t0)->ttl == 100);
}

TEST_CASE("result cache: storing a cached name again updates it in place, eviction keeps the index right") {
    ResultCache cache(3);
    auto t0 = ResultCache::Clock::now();
    // Names longer than any small-string buffer, as real query names are.
    auto name = [](int i) { return std::to_string(i) + ".0.0.127.zen.spamhaus.example.org"; };
    cache.store(name(1), {}, 60, t0);
    cache.store(name(1), {{127, 0, 0, 4}}, 30, t0 + 1s);
    CHECK(cache.size() == 1);
    auto hit = cache.find(name(1), t0 + 1s);
    REQUIRE(hit);
    REQUIRE(hit->addresses.size() == 1);
    CHECK(hit->addresses[0][3] == 4);
    CHECK(hit->ttl == 30);

    for (int i = 2; i <= 100; ++i)
        cache.store(name(i), {{127, 0, 0, static_cast<std::uint8_t>(i)}}, 60, t0 + 1s);
    CHECK(cache.size() == 3);
    for (int i = 1; i <= 97; ++i)
        CHECK_FALSE(cache.find(name(i), t0 + 1s));
    for (int i = 98; i <= 100; ++i) {
        auto h = cache.find(name(i), t0 + 1s);
        REQUIRE(h);
        CHECK(h->addresses[0][3] == i);
    }
    // Expired entries leave the index too.
    CHECK_FALSE(cache.find(name(99), t0 + 2min));
    CHECK(cache.size() == 2);
}
