// Closing the cache (a drain: reload, table change) while lookups still wait
// for the worker: every waiting session is answered "no record", as stock's
// sessions go on without the cache it closed; none is left undecided.
#include "cache_test_support.hpp"

#include "cache_store.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

using psm::CacheRecord;
using psm::postscreen::CacheStore;
using psm::test::CacheDir;
using psm::test::LogCapture;

TEST_CASE("cache store: close() answers the lookups still waiting", "[cache]") {
    CacheDir dir;
    LogCapture log;
    boost::asio::io_context io;
    auto store = CacheStore::open(io, dir.config());
    REQUIRE(store);
    constexpr int kLookups = 200;
    int answered = 0, with_record = 0;
    for (int i = 0; i < kLookups; ++i)
        store->lookup("192.0.2." + std::to_string(i % 250), [&](std::optional<CacheRecord> record) {
            ++answered;
            if (record) ++with_record;
        });
    bool flushed = false;
    store->flush([&] { flushed = true; });
    store->close();
    store.reset(); // as Server::drain(): the store is gone before the answers run
    io.run_for(std::chrono::seconds(5));
    CHECK(answered == kLookups);
    CHECK(with_record == 0);
    CHECK(flushed);
}
