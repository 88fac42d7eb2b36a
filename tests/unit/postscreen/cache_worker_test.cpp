// The cache store's worker hand-off with a table whose writes can be held
// (a registered "psmgate:" test type): the event loop goes on while the
// worker is stuck on the disk, a key updated or looked up lately is answered
// without the worker (and the cleanup's drops are honoured), the queues stay
// bounded with a rate-limited warning, and the cleanup walk's schedule and
// counts.
#include "cache_cleanup.hpp"
#include "cache_store.hpp"

#include "support/log_capture.hpp"

#include "psm/global/cache_record.hpp"
#include "psm/global/dict.hpp"
#include "psm/global/main_cf.hpp"

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <pwd.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using psm::CacheRecord;
using psm::Dict;
using psm::DictLookup;
using psm::DictStatus;
using psm::postscreen::CacheStore;

namespace {

// An in-memory table shared by every "psmgate:" open; while the gate is
// closed, update() waits (at most 20 s, then notes the timeout so that the
// test fails instead of hanging).
struct GateState {
    std::mutex mutex;
    std::condition_variable changed;
    bool open = true;
    int waiting = 0; // updates held at the gate now
    int lookups = 0; // lookups the worker made
    bool timed_out = false;
    std::map<std::string, std::string> data;

    void close_gate() {
        std::lock_guard lock(mutex);
        open = false;
    }
    void open_gate() {
        {
            std::lock_guard lock(mutex);
            open = true;
        }
        changed.notify_all();
    }
    bool worker_waiting() {
        std::lock_guard lock(mutex);
        return waiting > 0;
    }
};

GateState& gate() {
    static GateState state;
    return state;
}

class GateDict : public Dict {
public:
    explicit GateDict(std::string name) : Dict(std::move(name)) {}

    DictLookup lookup(std::string_view key) override {
        std::lock_guard lock(gate().mutex);
        ++gate().lookups;
        DictLookup out;
        auto it = gate().data.find(std::string(key));
        if (it != gate().data.end()) {
            out.status = DictStatus::found;
            out.value = it->second;
        }
        return out;
    }
    DictStatus update(std::string_view key, std::string_view value) override {
        std::unique_lock lock(gate().mutex);
        ++gate().waiting;
        gate().changed.notify_all();
        if (!gate().changed.wait_for(lock, std::chrono::seconds(20), [] { return gate().open; }))
            gate().timed_out = true;
        --gate().waiting;
        gate().data[std::string(key)] = std::string(value);
        return DictStatus::found;
    }
    DictStatus remove(std::string_view key) override {
        std::lock_guard lock(gate().mutex);
        return gate().data.erase(std::string(key)) ? DictStatus::found : DictStatus::not_found;
    }
    DictStatus sequence(bool first, std::string& key, std::string& value) override {
        std::lock_guard lock(gate().mutex);
        auto it = first ? gate().data.begin() : gate().data.upper_bound(last_);
        if (it == gate().data.end()) return DictStatus::not_found;
        key = last_ = it->first;
        value = it->second;
        return DictStatus::found;
    }
    bool supports_sequence() const override { return true; }

private:
    std::string last_;
};

void register_gate() {
    static bool done = false;
    if (done) return;
    done = true;
    psm::dict_register("psmgate", [](std::string_view type_and_name, std::string_view, const psm::DictOpenOptions&) {
        return std::make_unique<GateDict>(std::string(type_and_name));
    });
}

struct GateFixture {
    GateFixture() {
        register_gate();
        std::lock_guard lock(gate().mutex);
        gate().open = true;
        gate().waiting = 0;
        gate().lookups = 0;
        gate().timed_out = false;
        gate().data.clear();
    }
    ~GateFixture() { gate().open_gate(); }

    psm::Config config(const std::string& interval = "0") const {
        psm::Config c;
        c.set_override("postscreen_cache_map", "psmgate:cache");
        c.set_override("postscreen_cache_cleanup_interval", interval);
        c.set_override("mail_owner", owner());
        return c;
    }
    static std::string owner() {
        // The current user (no switch of ids); the gate table ignores it.
        return ::getpwuid(::geteuid())->pw_name;
    }
};

CacheRecord record(std::time_t t) {
    CacheRecord r;
    r.stamps = {t, t, t, t, t};
    return r;
}

psm::PscEnabledTests all_on() {
    return {true, true, true, true, true};
}

void run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (!done()) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
}

} // namespace

TEST_CASE("cache worker: the event loop goes on while the worker waits for the disk", "[cache]") {
    GateFixture fixture;
    psm::test::LogCapture log;
    boost::asio::io_context io;
    auto store = CacheStore::open(io, fixture.config());
    REQUIRE(store);

    gate().close_gate();
    store->update("192.0.2.1", record(1900000001), all_on());
    run_until(io, [] { return gate().worker_waiting(); }); // the worker is stuck in update()

    // Meanwhile: a lookup of a key never seen waits for the worker; keys
    // updated since start (the one being written, one still queued) are
    // answered on the event loop, at once.
    std::optional<std::optional<CacheRecord>> stuck, written, queued;
    store->lookup("192.0.2.3", [&](std::optional<CacheRecord> r) { stuck = r; });
    store->lookup("192.0.2.1", [&](std::optional<CacheRecord> r) { written = r; });
    store->update("192.0.2.2", record(1900000002), all_on());
    store->lookup("192.0.2.2", [&](std::optional<CacheRecord> r) { queued = r; });
    run_until(io, [&] { return written.has_value() && queued.has_value(); });
    CHECK(*written == record(1900000001));
    CHECK(*queued == record(1900000002));
    CHECK_FALSE(stuck.has_value());
    CHECK(gate().worker_waiting());

    gate().open_gate();
    run_until(io, [&] { return stuck.has_value(); });
    CHECK_FALSE(stuck->has_value());
    bool flushed = false;
    store->flush([&] { flushed = true; });
    run_until(io, [&] { return flushed; });
    store->close();
    CHECK_FALSE(gate().timed_out);
    CHECK(gate().data.at("192.0.2.2") == "1900000002;1900000002;1900000002;1900000002;1900000002");
    CHECK(log.lines().empty());
}

TEST_CASE("cache store: a client looked up or updated lately is answered without the worker", "[cache]") {
    GateFixture fixture;
    psm::test::LogCapture log;
    gate().data["192.0.2.10"] = "1900000010;1900000010;1900000010;1900000010;1900000010";
    boost::asio::io_context io;
    auto store = CacheStore::open(io, fixture.config("3600")); // a walk only when asked for
    REQUIRE(store);
    auto lookup = [&](const std::string& key) {
        std::optional<std::optional<CacheRecord>> answer;
        store->lookup(key, [&](std::optional<CacheRecord> r) { answer = r; });
        run_until(io, [&] { return answer.has_value(); });
        return *answer;
    };
    auto worker_lookups = [] {
        std::lock_guard lock(gate().mutex);
        return gate().lookups;
    };

    // A record and an absent record: the worker is asked once for each.
    CHECK(lookup("192.0.2.10") == record(1900000010));
    CHECK(lookup("192.0.2.11") == std::nullopt);
    const int asked = worker_lookups();
    CHECK(lookup("192.0.2.10") == record(1900000010));
    CHECK(lookup("192.0.2.11") == std::nullopt);
    CHECK(worker_lookups() == asked);

    SECTION("an update made while a lookup of the key was out wins over its answer") {
        std::optional<std::optional<CacheRecord>> first;
        store->lookup("192.0.2.12", [&](std::optional<CacheRecord> r) { first = r; });
        // The worker, woken by the loop's next turn, answers "none"
        // meanwhile; that answer runs on the loop only after the update below.
        io.restart();
        io.poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        store->update("192.0.2.12", record(1900000012), all_on());
        run_until(io, [&] { return first.has_value(); });
        CHECK(lookup("192.0.2.12") == record(1900000012));
    }

    SECTION("an entry the cleanup walk drops is looked up in the file again") {
        gate().data["192.0.2.13"] = "0;0;0;0;0"; // expired long ago
        CHECK(lookup("192.0.2.13") == CacheRecord::decode("0;0;0;0;0"));
        CHECK(lookup("192.0.2.13") == CacheRecord::decode("0;0;0;0;0"));
        const int before = worker_lookups();
        store->start_cleanup(all_on());
        run_until(io, [&] {
            for (const auto& line : log.lines())
                if (line.find("full cleanup") != std::string::npos) return true;
            return false;
        });
        CHECK(lookup("192.0.2.13") == std::nullopt);
        CHECK(worker_lookups() > before);
        CHECK(lookup("192.0.2.10") == record(1900000010)); // kept by the walk, still known
    }

    SECTION("a lookup answered just before the walk drops its key is not kept") {
        // One worker round: the lookup is answered from the file, then the
        // walk (asked for in the same turn) drops the entry. The drop is the
        // newer fact.
        gate().data["192.0.2.14"] = "0;0;0;0;0"; // expired long ago
        std::optional<std::optional<CacheRecord>> first;
        store->lookup("192.0.2.14", [&](std::optional<CacheRecord> r) { first = r; });
        store->start_cleanup(all_on());
        run_until(io, [&] {
            if (!first.has_value()) return false;
            for (const auto& line : log.lines())
                if (line.find("full cleanup") != std::string::npos) return true;
            return false;
        });
        CHECK(*first == CacheRecord::decode("0;0;0;0;0"));
        CHECK(lookup("192.0.2.14") == std::nullopt);
    }
    store->close();
    CHECK_FALSE(gate().timed_out);
}

TEST_CASE("cache store: the lookups of one turn of the event loop wake the worker once, after it", "[cache]") {
    GateFixture fixture;
    psm::test::LogCapture log;
    boost::asio::io_context io;
    auto store = CacheStore::open(io, fixture.config("3600"));
    REQUIRE(store);
    auto worker_lookups = [] {
        std::lock_guard lock(gate().mutex);
        return gate().lookups;
    };
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const int before = worker_lookups();

    // Twenty new clients in one turn: nothing reaches the worker until the
    // turn is over (a thread switch per client cost more than the lookup).
    int answered = 0;
    for (int i = 0; i < 20; ++i)
        store->lookup("192.0.2." + std::to_string(100 + i), [&](std::optional<CacheRecord> r) {
            CHECK_FALSE(r.has_value());
            ++answered;
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(worker_lookups() == before);
    run_until(io, [&] { return answered == 20; });
    CHECK(worker_lookups() == before + 20);

    // An update alone is written after its turn too.
    store->update("192.0.2.99", record(1900000099), all_on());
    auto written = [] {
        std::lock_guard lock(gate().mutex);
        return gate().data.count("192.0.2.99") == 1;
    };
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK_FALSE(written());
    run_until(io, written);
    store->close();
    CHECK(log.lines().empty());
}

TEST_CASE("cache worker: queues stay bounded while the disk is stuck", "[cache]") {
    GateFixture fixture;
    psm::test::LogCapture log;
    boost::asio::io_context io;
    auto store = CacheStore::open(io, fixture.config());
    REQUIRE(store);

    gate().close_gate();
    store->update("198.51.100.0", record(1900000000), all_on());
    run_until(io, [] { return gate().worker_waiting(); });

    // Queue kMaxPendingUpdates distinct keys; the next new key is dropped,
    // a queued key's newer value still replaces the old one.
    for (std::size_t i = 1; i <= CacheStore::kMaxPendingUpdates; ++i)
        store->update("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250), record(1900000000), all_on());
    store->update("203.0.113.1", record(1900000000), all_on());
    store->update("203.0.113.2", record(1900000000), all_on());
    store->update("10.0.0.1", record(1900000099), all_on());
    // Lookups wait in their own bounded queue; past the bound, "not found" at once.
    int answered = 0, not_found = 0;
    for (std::size_t i = 0; i < CacheStore::kMaxPendingLookups + 2; ++i)
        store->lookup("192.0.2." + std::to_string(i % 250), [&](std::optional<CacheRecord> r) {
            ++answered;
            if (!r) ++not_found;
        });
    run_until(io, [&] { return answered == 2; });
    CHECK(not_found == 2);
    CHECK(gate().worker_waiting());
    // One warning of each kind per second (stock's rate for cache I/O warnings).
    auto lines = log.lines();
    REQUIRE(lines.size() >= 2);
    CHECK(lines[0] == "warning: psmgate:cache: 10000 cache updates are waiting - not saving the entry for 203.0.113.1");
    CHECK(lines[1] == "warning: psmgate:cache: 10000 cache lookups are waiting - not looking up 192.0.2.0");

    gate().open_gate();
    run_until(io, [&] { return answered == static_cast<int>(CacheStore::kMaxPendingLookups) + 2; });
    bool flushed = false;
    store->flush([&] { flushed = true; });
    run_until(io, [&] { return flushed; });
    store->close();
    CHECK_FALSE(gate().timed_out);
    CHECK(gate().data.size() == CacheStore::kMaxPendingUpdates + 1);
    CHECK(gate().data.count("203.0.113.1") == 0);
    CHECK(gate().data.at("10.0.0.1") == "1900000099;1900000099;1900000099;1900000099;1900000099");
}

TEST_CASE("cache cleanup: the first walk is due at the stored time plus the interval", "[cache]") {
    using psm::postscreen::first_cleanup_delay;
    const std::time_t now = 1900000000;
    CHECK(first_cleanup_delay(std::nullopt, 43200, now) == 0);
    CHECK(first_cleanup_delay(std::string("1899999000"), 43200, now) == 42200);
    CHECK(first_cleanup_delay(std::string("1800000000"), 43200, now) == 0);     // overdue
    CHECK(first_cleanup_delay(std::string("1999999999"), 43200, now) == 43200); // in the future: one interval
    CHECK(first_cleanup_delay(std::string("junk"), 43200, now) == 0);           // atol: 0
}

TEST_CASE("cache cleanup: a walk counts, drops and stamps as stock", "[cache]") {
    GateFixture fixture;
    GateDict dict("psmgate:cache");
    const std::time_t now = 1900000000;
    const long retention = 7 * 86400;
    // pregreet and pipelining enabled, the others off.
    const psm::PscEnabledTests enabled = {true, false, true, false, false};
    auto put = [&](const std::string& k, const std::string& v) { gate().data[k] = v; };
    put("a", "1900000100;1;1900000100;1;1");                              // kept
    put("b", std::to_string(now - retention + 10) + ";1;1900000100;0;0"); // expired, within retention: kept
    put("c", std::to_string(now - retention - 10) + ";1;1900000100;0;0"); // past retention: dropped
    put("d", "1900000100;0;1;1;1");                                       // pipelining 1 while enabled: dropped
    put("e", "1900000100");                                               // later fields read as 1: dropped
    put("f", "1900000100;5;1900000100;5;5");                              // disabled tests' stamps ignored: kept
    for (int i = 0; i < 200; ++i)
        put("g" + std::to_string(1000 + i), i % 2 ? "0;0;0;0;0" : "1900000100;1;1900000100;1;1");
    put(std::string(psm::kCacheCleanupKey), "1");

    psm::postscreen::CleanupWalk walk(dict, "psmgate:cache", enabled, retention);
    psm::postscreen::CacheLog log;
    int steps = 0;
    psm::postscreen::CleanupWalk::Status status;
    do {
        status = walk.step(64, now, log);
        ++steps;
        REQUIRE(steps < 20);
        if (status == psm::postscreen::CleanupWalk::Status::more) CHECK(log.lines.empty());
    } while (status == psm::postscreen::CleanupWalk::Status::more);
    CHECK(status == psm::postscreen::CleanupWalk::Status::done);
    CHECK(steps == 4); // 206 entries, 64 at a time
    REQUIRE(log.lines.size() == 1);
    CHECK(log.lines[0].text == "cache psmgate:cache full cleanup: retained=103 dropped=103 entries");
    CHECK(gate().data.count("c") == 0);
    CHECK(gate().data.count("d") == 0);
    CHECK(gate().data.count("e") == 0);
    CHECK(gate().data.count("b") == 1);
    CHECK(gate().data.at(std::string(psm::kCacheCleanupKey)) == "1900000000");
}
