// The cache store on real files: opening as stock (no map, redirection,
// owner and mode, lock conflict wording), update/lookup ordering, both NUL
// styles, files exchanged with stock postmap, and a worker that never makes
// the event loop wait.
#include "cache_test_support.hpp"

#include "cache_store.hpp"

#include "psm/util/error.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

using psm::CacheRecord;
using psm::postscreen::CacheStore;
using psm::test::CacheDir;
using psm::test::LogCapture;

TEST_CASE("cache store: an empty postscreen_cache_map means no cache", "[cache]") {
    CacheDir dir;
    boost::asio::io_context io;
    CHECK(CacheStore::open(io, dir.config({{"postscreen_cache_map", ""}})) == nullptr);
    CHECK_FALSE(std::filesystem::exists(dir.db()));
}

TEST_CASE("cache store: created by mail_owner with mode 0600, named as configured", "[cache]") {
    CacheDir dir;
    LogCapture log;
    boost::asio::io_context io;
    auto store = CacheStore::open(io, dir.config());
    REQUIRE(store);
    CHECK(store->name() == dir.map());
    struct stat st;
    REQUIRE(::stat(dir.db().c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(st.st_uid == dir.uid);
    store->close();
    CHECK(log.lines().empty());
}

TEST_CASE("cache store: a file outside a mail_owner directory is redirected into data_directory", "[cache]") {
    CacheDir dir;
    if (::geteuid() != 0) {
        WARN("skipped: needs root (a directory not owned by mail_owner)");
        return;
    }
    LogCapture log;
    const std::string elsewhere = dir.path + "-root";
    std::filesystem::create_directory(elsewhere);
    struct Cleanup {
        std::string p;
        ~Cleanup() { std::filesystem::remove_all(p); }
    } cleanup{elsewhere};
    const std::string configured = "btree:" + elsewhere + "/ps_cache";
    boost::asio::io_context io;
    auto store = CacheStore::open(io, dir.config({{"postscreen_cache_map", configured}}));
    REQUIRE(store);
    CHECK(store->name() == "btree:" + dir.path + "/ps_cache");
    CHECK(log.lines() ==
          std::vector<std::string>{"warning: request to update table " + configured + " in non-postfix directory " +
                                       elsewhere,
                                   "warning: redirecting the request to postfix-owned data_directory " + dir.path});
    CHECK(std::filesystem::exists(dir.path + "/ps_cache.db"));
    CHECK_FALSE(std::filesystem::exists(elsewhere + "/ps_cache.db"));
}

TEST_CASE("cache store: a second opener gets stock's fatal lock wording", "[cache]") {
    CacheDir dir;
    boost::asio::io_context io;
    auto first = CacheStore::open(io, dir.config());
    REQUIRE(first);
    try {
        CacheStore::open(io, dir.config());
        FAIL("the second open succeeded");
    } catch (const psm::ConfigError& e) {
        CHECK(std::string(e.what()) == dir.map() + ": unable to get exclusive lock: Resource temporarily unavailable");
    }
    // Stock postmap waits for the lock; after close it reads the file.
    first->close();
    int status = -1;
    dir.postmap_s(dir.map(), &status);
    CHECK(status == 0);
}

TEST_CASE("cache store: a lookup sees the update before it, queued or written", "[cache]") {
    CacheDir dir;
    LogCapture log;
    boost::asio::io_context io;
    auto store = CacheStore::open(io, dir.config());
    REQUIRE(store);
    CHECK_FALSE(psm::test::lookup(io, *store, "192.0.2.1"));

    const auto enabled = psm::test::all_enabled();
    const CacheRecord first = psm::test::record(1900000001, 1900000002, 1900000003, 1900000004, 1900000005);
    const CacheRecord second = psm::test::record(1900000011, 1900000012, 1900000013, 1900000014, 1900000015);
    // Back to back, without running the loop in between: the lookup is
    // answered from the queue if the worker has not taken the update yet.
    store->update("192.0.2.1", first, enabled);
    CHECK(psm::test::lookup(io, *store, "192.0.2.1") == first);
    store->update("192.0.2.1", second, enabled);
    store->update("192.0.2.2", first, enabled);
    CHECK(psm::test::lookup(io, *store, "192.0.2.1") == second);
    psm::test::flush(io, *store);
    CHECK(psm::test::lookup(io, *store, "192.0.2.1") == second);
    CHECK(psm::test::lookup(io, *store, "192.0.2.2") == first);

    // A new-but-disabled test is written as 1, as stock's conclusion does.
    CacheRecord fresh = psm::test::record(1900000000, 0, 0, 1900000000, 0);
    store->update("192.0.2.3", fresh, {true, false, true, true, false});
    CHECK(psm::test::lookup(io, *store, "192.0.2.3") == psm::test::record(1900000000, 1, 0, 1900000000, 1));
    store->close();

    // On disk: stock's byte layout (NUL-terminated keys and values).
    auto raw = psm::test::raw_records(dir.db());
    CHECK(raw == std::map<std::string, std::string>{
                     {std::string("192.0.2.1\0", 10),
                      std::string("1900000011;1900000012;1900000013;1900000014;1900000015\0", 55)},
                     {std::string("192.0.2.2\0", 10),
                      std::string("1900000001;1900000002;1900000003;1900000004;1900000005\0", 55)},
                     {std::string("192.0.2.3\0", 10), std::string("1900000000;1;0;1900000000;1\0", 28)}});
    int status = -1;
    CHECK(dir.postmap_s(dir.map(), &status) == "192.0.2.1\t1900000011;1900000012;1900000013;1900000014;1900000015\n"
                                               "192.0.2.2\t1900000001;1900000002;1900000003;1900000004;1900000005\n"
                                               "192.0.2.3\t1900000000;1;0;1900000000;1\n");
    CHECK(status == 0);
    CHECK_FALSE(std::filesystem::exists(dir.db() + ".journal"));
    CHECK(log.lines().empty());

    // After close: lookups answer "not found", updates are ignored.
    CHECK_FALSE(psm::test::lookup(io, *store, "192.0.2.1"));
    store->update("192.0.2.9", first, enabled);
}

TEST_CASE("cache store: files in either NUL style are read, keys are exact", "[cache]") {
    CacheDir dir;
    psm::test::write_raw(dir.db(), {{std::string("192.0.2.7"), std::string("1900000000;1;1;1;1")}});
    // The store opens the file with mail_owner's ids (as stock): it must be theirs.
    REQUIRE(::chown(dir.db().c_str(), dir.uid, dir.gid) == 0);
    boost::asio::io_context io;
    auto store = CacheStore::open(io, dir.config());
    REQUIRE(store);
    CHECK(psm::test::lookup(io, *store, "192.0.2.7") == psm::test::record(1900000000, 1, 1, 1, 1));
    // Updates keep the file's style (stock locks in the first style found).
    store->update("192.0.2.8", psm::test::record(5, 5, 5, 5, 5), psm::test::all_enabled());
    store->close();
    auto raw = psm::test::raw_records(dir.db());
    CHECK(raw.count("192.0.2.8") == 1);

    CacheDir dir2;
    psm::test::write_raw(dir2.db(), {{std::string("2001:DB8::1\0", 12), std::string("7;7;7;7;7\0", 10)}});
    REQUIRE(::chown(dir2.db().c_str(), dir2.uid, dir2.gid) == 0);
    auto store2 = CacheStore::open(io, dir2.config());
    REQUIRE(store2);
    CHECK(psm::test::lookup(io, *store2, "2001:DB8::1") == psm::test::record(7, 7, 7, 7, 7));
    CHECK_FALSE(psm::test::lookup(io, *store2, "2001:db8::1")); // no case folding, as stock
}

TEST_CASE("cache store: a file stock postmap wrote is honoured, and stock reads ours", "[cache]") {
    CacheDir dir;
    // postmap builds btree:NAME.db from the text file NAME.
    {
        std::ofstream(dir.path + "/postscreen_cache")
            << "192.0.2.50 1900000000;1900000000;1900000000;1900000000;1900000000\n"
            << "192.0.2.51 0;0;0;0;0\n";
    }
    // Run as root, postmap drops privileges to the owner of the source file
    // (postmap(1), -o): as an operator would, let mail_owner own it, so that
    // the .db is mail_owner's and writable by the store (which, like stock
    // postscreen, opens it with mail_owner's effective ids).
    REQUIRE(::chown((dir.path + "/postscreen_cache").c_str(), dir.uid, dir.gid) == 0);
    int status = -1;
    psm::test::shell("timeout 60 /usr/sbin/postmap -c " + psm::test::quote(dir.conf) + " " +
                         psm::test::quote(dir.map()) + " 2>&1",
                     &status);
    REQUIRE(status == 0);
    boost::asio::io_context io;
    auto store = CacheStore::open(io, dir.config());
    REQUIRE(store);
    CHECK(psm::test::lookup(io, *store, "192.0.2.50") ==
          psm::test::record(1900000000, 1900000000, 1900000000, 1900000000, 1900000000));
    CHECK(psm::test::lookup(io, *store, "192.0.2.51") == psm::test::record(0, 0, 0, 0, 0));
    store->update("192.0.2.51", psm::test::record(1900000100, 1, 1, 1, 1), psm::test::all_enabled());
    store->close();
    CHECK(dir.postmap_s(dir.map(), &status) == "192.0.2.50\t1900000000;1900000000;1900000000;1900000000;1900000000\n"
                                               "192.0.2.51\t1900000100;1;1;1;1\n");
}

TEST_CASE("cache store: hash: maps work the same way", "[cache]") {
    CacheDir dir;
    boost::asio::io_context io;
    auto store = CacheStore::open(io, dir.config({{"postscreen_cache_map", dir.map("hash")}}));
    REQUIRE(store);
    for (int i = 0; i < 300; ++i)
        store->update("198.51.100." + std::to_string(i), psm::test::record(i, i, i, i, i), psm::test::all_enabled());
    CHECK(psm::test::lookup(io, *store, "198.51.100.299") == psm::test::record(299, 299, 299, 299, 299));
    store->close();
    int status = -1;
    auto text = dir.postmap_s(dir.map("hash"), &status);
    CHECK(status == 0);
    CHECK(std::count(text.begin(), text.end(), '\n') == 300);
}
