// btree: and hash: tables: files written by stock postmap are read by ours
// and the other way round, byte for byte (trailing NUL records), plus
// updates, deletes during a walk, locking, sync and open errors.
#include "dict_test_support.hpp"

#include "psm/global/dict.hpp"
#include "psm/util/error.hpp"

#include <catch2/catch.hpp>

#include <db_cxx.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using psm::test::LogCapture;
using psm::test::TempDir;

namespace {

// The raw records of a Berkeley DB file, read with the C++ API directly.
std::vector<std::pair<std::string, std::string>> raw_records(const std::string& db_file, DBTYPE type) {
    std::vector<std::pair<std::string, std::string>> out;
    Db db(nullptr, DB_CXX_NO_EXCEPTIONS);
    REQUIRE(db.open(nullptr, db_file.c_str(), nullptr, type, DB_RDONLY, 0) == 0);
    Dbc* cursor = nullptr;
    REQUIRE(db.cursor(nullptr, &cursor, 0) == 0);
    Dbt k, v;
    while (cursor->get(&k, &v, DB_NEXT) == 0)
        out.emplace_back(std::string(static_cast<char*>(k.get_data()), k.get_size()),
                         std::string(static_cast<char*>(v.get_data()), v.get_size()));
    cursor->close();
    db.close(0);
    return out;
}

// Writes records exactly as given (no NUL added): a table from another writer.
void write_raw(const std::string& db_file, DBTYPE type, const std::vector<std::pair<std::string, std::string>>& recs) {
    Db db(nullptr, DB_CXX_NO_EXCEPTIONS);
    REQUIRE(db.open(nullptr, db_file.c_str(), nullptr, type, DB_CREATE, 0600) == 0);
    for (auto& [key, value] : recs) {
        Dbt k(const_cast<char*>(key.data()), static_cast<u_int32_t>(key.size()));
        Dbt v(const_cast<char*>(value.data()), static_cast<u_int32_t>(value.size()));
        REQUIRE(db.put(nullptr, &k, &v, 0) == 0);
    }
    db.close(0);
}

DBTYPE db_type(const std::string& type) {
    return type == "btree" ? DB_BTREE : DB_HASH;
}

std::string walk(psm::Dict& dict) {
    std::string out, k, v;
    for (bool first = true; dict.sequence(first, k, v) == psm::DictStatus::found; first = false)
        out += k + "\t" + v + "\n";
    return out;
}

psm::DictOpenOptions writable() {
    psm::DictOpenOptions o;
    o.writable = true;
    o.duplicates = psm::DictDuplicates::replace;
    return o;
}

const std::string kSource = "Foo bar\n"
                            "\"a b\" quoted key with spaces\n"
                            "MixedCase Value Kept\n"
                            "cont first\n"
                            "  second\n"
                            "127.0.0.1 1795398615;1795312275;1;1;1\n"
                            "2001:DB8::1 v6\n";

const std::vector<std::string> kKeys = {"foo",       "FOO",  "Foo",       "\"a b\"",     "a b",         "mixedcase",
                                        "MixedCase", "cont", "127.0.0.1", "2001:db8::1", "2001:DB8::1", "missing"};

} // namespace

TEST_CASE("btree/hash: tables built by stock postmap are read by ours", "[db]") {
    psm::test::require_stock_postmap();
    for (const std::string type : {"btree", "hash"}) {
        for (bool fold : {true, false}) {
            INFO(type << " fold=" << fold);
            TempDir dir;
            auto source = dir.write("map", kSource);
            std::vector<std::string> flags;
            if (!fold) flags.push_back("-f");
            auto args = flags;
            args.push_back(type + ":" + source);
            REQUIRE(psm::test::postmap(dir, args).status == 0);

            psm::DictOpenOptions options;
            options.fold_case = fold;
            auto dict = psm::dict_open(type + ":" + source, options);
            auto stock = psm::test::postmap_queries(dir, type + ":" + source, kKeys, flags);
            CHECK(psm::test::our_queries(*dict, kKeys) == stock.out);
            auto stock_walk = psm::test::postmap(dir, {"-s", type + ":" + source});
            CHECK(walk(*dict) == stock_walk.out);
            CHECK(dict->lookup("\"a b\"").value == "quoted key with spaces");
            CHECK(dict->lookup("FOO").found() == fold);
        }
    }
}

TEST_CASE("btree/hash: tables written by ours are read by stock postmap", "[db]") {
    psm::test::require_stock_postmap();
    for (const std::string type : {"btree", "hash"}) {
        INFO(type);
        TempDir dir;
        const std::string map = type + ":" + dir.file("cache");
        {
            auto dict = psm::dict_open(map, writable());
            CHECK(dict->update("127.0.0.1", "1795398615;1795312275;1;1;1") == psm::DictStatus::found);
            CHECK(dict->update("_LAST_CACHE_CLEANUP_COMPLETED_", "1795312213") == psm::DictStatus::found);
            CHECK(dict->update("Key With Spaces", "a value") == psm::DictStatus::found);
            CHECK(dict->update("2001:db8::5", "x") == psm::DictStatus::found);
            CHECK(dict->update("2001:db8::5", "replaced") == psm::DictStatus::found);
        }
        // Keys are folded on write (fold_case), each record has one trailing NUL.
        std::map<std::string, std::string> expected = {{"127.0.0.1", "1795398615;1795312275;1;1;1"},
                                                       {"_last_cache_cleanup_completed_", "1795312213"},
                                                       {"key with spaces", "a value"},
                                                       {"2001:db8::5", "replaced"}};
        std::map<std::string, std::string> raw;
        for (auto& [k, v] : raw_records(dir.file("cache.db"), db_type(type)))
            raw.emplace(k, v);
        std::map<std::string, std::string> with_nul;
        for (auto& [k, v] : expected)
            with_nul.emplace(k + '\0', v + '\0');
        CHECK(raw == with_nul);

        auto stock_walk = psm::test::postmap(dir, {"-s", map});
        CHECK(stock_walk.errors.empty());
        auto lines = psm::test::split_lines(stock_walk.out);
        std::map<std::string, std::string> seen;
        for (auto& line : lines)
            seen.emplace(line.substr(0, line.find('\t')), line.substr(line.find('\t') + 1));
        CHECK(seen == expected);
        CHECK(lines.size() == expected.size());
        auto stock_q = psm::test::postmap(dir, {"-q", "KEY WITH SPACES", map});
        CHECK(stock_q.out == "a value\n");
    }
}

TEST_CASE("btree: ours updates a stock-built table and stock still reads it", "[db]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    auto source = dir.write("map", "a 1\nb 2\nc 3\n");
    REQUIRE(psm::test::postmap(dir, {"btree:" + source}).status == 0);
    {
        auto dict = psm::dict_open("btree:" + source, writable());
        CHECK(dict->lookup("a").value == "1");
        CHECK(dict->update("b", "two") == psm::DictStatus::found);
        CHECK(dict->update("d", "4") == psm::DictStatus::found);
        CHECK(dict->remove("c") == psm::DictStatus::found);
        CHECK(dict->remove("c") == psm::DictStatus::not_found);
    }
    CHECK(psm::test::postmap(dir, {"-s", "btree:" + source}).out == "a\t1\nb\ttwo\nd\t4\n");
    for (auto& [k, v] : raw_records(source + ".db", DB_BTREE)) {
        CHECK(k.back() == '\0');
        CHECK(v.back() == '\0');
    }
}

TEST_CASE("btree: a table without NULs (another writer) is read, and updated in its own style", "[db]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    auto db_file = dir.file("plain.db");
    write_raw(db_file, DB_BTREE, {{"x", "1"}, {"y", "2"}});
    CHECK(psm::test::postmap(dir, {"-q", "x", "btree:" + dir.file("plain")}).out == "1\n");
    {
        auto dict = psm::dict_open("btree:" + dir.file("plain"), writable());
        CHECK(dict->lookup("y").value == "2"); // found without NUL: the handle sticks to that style
        CHECK(dict->update("z", "3") == psm::DictStatus::found);
        CHECK(dict->remove("x") == psm::DictStatus::found);
    }
    auto raw = raw_records(db_file, DB_BTREE);
    CHECK(raw == std::vector<std::pair<std::string, std::string>>{{"y", "2"}, {"z", "3"}});
    CHECK(psm::test::postmap(dir, {"-q", "z", "btree:" + dir.file("plain")}).out == "3\n");
}

TEST_CASE("btree/hash: deleting the entry just returned does not disturb the walk", "[db]") {
    for (const std::string type : {"btree", "hash"}) {
        INFO(type);
        TempDir dir;
        auto dict = psm::dict_open(type + ":" + dir.file("cache"), writable());
        std::map<std::string, std::string> all;
        for (int i = 0; i < 500; ++i) {
            std::string k = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
            all[k] = std::to_string(i);
            REQUIRE(dict->update(k, all[k]) == psm::DictStatus::found);
        }
        std::map<std::string, std::string> visited;
        std::string k, v;
        int steps = 0;
        for (bool first = true; dict->sequence(first, k, v) == psm::DictStatus::found && steps < 2000;
             first = false, ++steps) {
            CHECK(visited.emplace(k, v).second);
            if (std::stoi(v) % 2 == 0) CHECK(dict->remove(k) == psm::DictStatus::found);
        }
        CHECK(visited == all);
        int left = 0;
        for (auto& [key, value] : all) {
            auto r = dict->lookup(key);
            CHECK(r.found() == (std::stoi(value) % 2 == 1));
            left += r.found();
        }
        CHECK(left == 250);
    }
}

TEST_CASE("btree: the lock option holds an exclusive lock for the table's life", "[db]") {
    TempDir dir;
    psm::DictOpenOptions options = writable();
    options.lock = true;
    const std::string map = "btree:" + dir.file("cache");
    {
        auto first = psm::dict_open(map, options);
        CHECK_THROWS_WITH(psm::dict_open(map, options),
                          map + ": unable to get exclusive lock: Resource temporarily unavailable");
    }
    CHECK_NOTHROW(psm::dict_open(map, options)); // released on close
}

TEST_CASE("btree: stock postmap waits while ours holds the persistent lock", "[db]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    psm::DictOpenOptions options = writable();
    options.lock = true;
    const std::string map = "btree:" + dir.file("cache");
    auto dict = psm::dict_open(map, options);
    CHECK(dict->update("a", "1") == psm::DictStatus::found);
    auto blocked = psm::test::run_command("timeout 2 /usr/sbin/postmap -c " + psm::test::shell_quote(dir.file("cf")) +
                                              " -q a " + psm::test::shell_quote(map),
                                          dir.path);
    CHECK(blocked.status == 124); // killed by timeout: it never got the lock
    dict.reset();
    CHECK(psm::test::postmap(dir, {"-q", "a", map}).out == "1\n");
}

TEST_CASE("btree: sync_update makes every write visible to another reader at once", "[db]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    // No persistent lock here: stock postmap -q waits for a shared lock.
    psm::DictOpenOptions options = writable();
    options.sync_update = true;
    const std::string map = "btree:" + dir.file("cache");
    auto dict = psm::dict_open(map, options);
    CHECK(dict->update("192.0.2.1", "1;2;3;4;5") == psm::DictStatus::found);
    CHECK(psm::test::postmap(dir, {"-q", "192.0.2.1", map}).out == "1;2;3;4;5\n");
    CHECK(dict->remove("192.0.2.1") == psm::DictStatus::found);
    CHECK(psm::test::postmap(dir, {"-q", "192.0.2.1", map}).status == 1);
}

TEST_CASE("btree/hash: a created file gets the requested mode under the umask", "[db]") {
    TempDir dir;
    mode_t saved = ::umask(077);
    {
        psm::DictOpenOptions options = writable();
        auto dict = psm::dict_open("btree:" + dir.file("cache"), options);
        options.file_mode = 0644;
        auto other = psm::dict_open("hash:" + dir.file("wide"), options);
    }
    ::umask(022);
    {
        psm::DictOpenOptions options = writable();
        options.file_mode = 0644;
        auto dict = psm::dict_open("hash:" + dir.file("shared"), options);
    }
    ::umask(saved);
    struct stat st;
    REQUIRE(::stat(dir.file("cache.db").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    REQUIRE(::stat(dir.file("wide.db").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    REQUIRE(::stat(dir.file("shared.db").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
}

TEST_CASE("btree/hash: open errors are worded as stock", "[db]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    dir.write("garbage.db", "this is not a database\n");
    for (const std::string& map : {"btree:" + dir.file("missing"), "hash:" + dir.file("missing"),
                                   "hash:" + dir.file("garbage"), "btree:" + dir.file("garbage")}) {
        INFO(map);
        auto stock = psm::test::postmap(dir, {"-q", "x", map});
        REQUIRE_FALSE(stock.errors.empty());
        std::string ours;
        try {
            psm::dict_open(map);
        } catch (const psm::ConfigError& e) {
            ours = std::string("fatal: ") + e.what();
        }
        CHECK(ours == stock.errors.back());
    }
    LogCapture log;
    psm::DictOpenOptions daemon;
    daemon.allow_surrogate = true;
    const std::string missing = dir.file("missing");
    auto dict = psm::dict_open("btree:" + missing, daemon);
    CHECK(dict->lookup("x").failed());
    const std::string reason = "open database " + missing + ".db: No such file or directory";
    CHECK(log.lines() ==
          std::vector<std::string>{"error: " + reason, "warning: btree:" + missing + " is unavailable. " + reason});
}

TEST_CASE("btree: duplicates on update per policy - read-only tables refuse writes", "[db]") {
    TempDir dir;
    LogCapture log;
    psm::DictOpenOptions options;
    options.writable = true; // duplicates: warn and keep the first (postmap's default)
    const std::string map = "btree:" + dir.file("t");
    auto dict = psm::dict_open(map, options);
    CHECK(dict->update("K", "1") == psm::DictStatus::found);
    CHECK(dict->update("k", "2") == psm::DictStatus::not_found);
    CHECK(dict->lookup("K").value == "1");
    CHECK(log.lines() == std::vector<std::string>{"warning: " + dir.file("t") + ".db: duplicate entry: \"k\""});
    dict.reset();
    auto reader = psm::dict_open(map);
    CHECK(reader->update("x", "y") == psm::DictStatus::error);
    CHECK(reader->remove("k") == psm::DictStatus::error);
    CHECK(reader->lookup("k").value == "1");
}

TEST_CASE("btree: a read-only table notices when postmap rebuilds its file", "[db]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    auto source = dir.write("map", "a 1\n");
    REQUIRE(psm::test::postmap(dir, {"btree:" + source}).status == 0);
    TempDir::age(source + ".db");
    auto dict = psm::dict_open("btree:" + source);
    CHECK_FALSE(dict->file_changed());
    dir.write("map", "a 2\n");
    REQUIRE(psm::test::postmap(dir, {"btree:" + source}).status == 0);
    CHECK(dict->file_changed());
}

TEST_CASE("btree: a source file newer than its table is warned about", "[db]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    auto source = dir.write("map", "a 1\n");
    REQUIRE(psm::test::postmap(dir, {"btree:" + source}).status == 0);
    // Table an hour old, source half an hour old (stock ignores sources
    // changed within the last 100 seconds).
    struct timeval times[2];
    ::gettimeofday(&times[0], nullptr);
    times[0].tv_sec -= 3600;
    times[1] = times[0];
    ::utimes((source + ".db").c_str(), times);
    times[0].tv_sec += 1800;
    times[1] = times[0];
    ::utimes(source.c_str(), times);
    LogCapture log;
    auto dict = psm::dict_open("btree:" + source);
    const std::vector<std::string> expected = {"warning: database " + source + ".db is older than source file " +
                                               source};
    CHECK(log.lines() == expected);
    dict.reset(); // closing a read-only table logs nothing
    CHECK(log.lines() == expected);
}

TEST_CASE("btree: opening and reading wait while a rebuild holds the exclusive lock", "[db]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    auto source = dir.write("map", "a 1\n");
    REQUIRE(psm::test::postmap(dir, {"btree:" + source}).status == 0);
    // What postmap holds while it rewrites the file.
    int fd = ::open((source + ".db").c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX) == 0);
    std::thread release([fd] {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        ::close(fd);
    });
    auto start = std::chrono::steady_clock::now();
    auto dict = psm::dict_open("btree:" + source);
    auto waited = std::chrono::steady_clock::now() - start;
    release.join();
    CHECK(waited >= std::chrono::milliseconds(300));
    CHECK(dict->lookup("a").value == "1");
}
