// Crash-safe btree:/hash: tables (DictOpenOptions::crash_safe, postscreen's
// cache): writes reach the file only at flush(), the file stays what stock
// postmap reads, and a process killed at any step of a commit leaves a file
// that the next open turns into either the state before or the state after
// that commit, never into anything else (checked with db_verify and stock
// postmap). A journal that no longer matches the file is not replayed.
#include "dict_test_support.hpp"

#include "psm/global/dict.hpp"
#include "psm/global/dict_crash_probe.hpp"
#include "psm/util/error.hpp"

#include <catch2/catch.hpp>

#include <db_cxx.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

using psm::test::LogCapture;
using psm::test::TempDir;

namespace {

using Content = std::map<std::string, std::string>;

psm::DictOpenOptions crash_safe() {
    psm::DictOpenOptions o;
    o.writable = true;
    o.lock = true;
    o.crash_safe = true;
    o.duplicates = psm::DictDuplicates::replace;
    return o;
}

// What stock postmap -s sees (-1 status when it fails).
Content stock_walk(const TempDir& dir, const std::string& map, int* status = nullptr) {
    auto r = psm::test::postmap(dir, {"-s", map});
    if (status) *status = r.status;
    Content out;
    for (auto& line : psm::test::split_lines(r.out)) {
        auto tab = line.find('\t');
        if (tab != std::string::npos) out[line.substr(0, tab)] = line.substr(tab + 1);
    }
    return out;
}

Content our_walk(psm::Dict& dict) {
    Content out;
    std::string k, v;
    for (bool first = true; dict.sequence(first, k, v) == psm::DictStatus::found; first = false)
        out[k] = v;
    return out;
}

bool db_verify(const std::string& file) {
    return std::system(("db5.3_verify -q " + psm::test::shell_quote(file) + " 2>/dev/null").c_str()) == 0;
}

// The batch a child commits: enough new keys to split pages, deletes and
// replacements.
Content apply_batch(const Content& before, int seed) {
    Content after = before;
    for (int i = 0; i < 400; ++i)
        after["10." + std::to_string(seed) + "." + std::to_string(i / 250) + "." + std::to_string(i % 250)] =
            std::to_string(1700000000 + i) + ";1;1;1;1";
    int n = 0;
    for (auto it = after.begin(); it != after.end() && n < 120; ++n) {
        if (n % 3 == 0)
            it = after.erase(it);
        else
            (it++)->second = "replaced;" + std::to_string(n);
    }
    return after;
}

void write_batch(psm::Dict& dict, const Content& before, const Content& after) {
    for (auto& [k, v] : before)
        if (!after.count(k)) dict.remove(k);
    for (auto& [k, v] : after) {
        auto it = before.find(k);
        if (it == before.end() || it->second != v) dict.update(k, v);
    }
}

struct CrashPoint {
    psm::DictCommitStep step;
    std::size_t index;
};
CrashPoint crash_at;
void crash_probe(psm::DictCommitStep step, std::size_t index) {
    if (step == crash_at.step && index == crash_at.index) ::_exit(77);
}

// Runs the batch in a child that dies at `point`; true when it died there
// (false: the commit had fewer blocks than point.index).
bool crash_child(const std::string& map, const Content& before, const Content& after, CrashPoint point) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        crash_at = point;
        psm::dict_set_commit_probe(crash_probe);
        try {
            auto dict = psm::dict_open(map, crash_safe());
            write_batch(*dict, before, after);
            dict->flush();
        } catch (...) {
            ::_exit(3);
        }
        ::_exit(0); // the destructor is skipped on purpose: no second commit
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) != 3);
    return WEXITSTATUS(status) == 77;
}

Content seed_content() {
    Content c;
    for (int i = 0; i < 600; ++i)
        c["192.0." + std::to_string(i / 200) + "." + std::to_string(i % 200)] =
            std::to_string(1800000000 + i) + ";0;1;1;1";
    return c;
}

void create(const std::string& map, const Content& content) {
    auto dict = psm::dict_open(map, crash_safe());
    for (auto& [k, v] : content)
        REQUIRE(dict->update(k, v) == psm::DictStatus::found);
    REQUIRE(dict->flush());
}

} // namespace

TEST_CASE("crash-safe btree: writes reach the file at flush, and stock reads it", "[db][crash]") {
    psm::test::require_stock_postmap();
    TempDir dir;
    LogCapture log;
    const std::string map = "btree:" + dir.file("cache");
    const std::string journal = dir.file("cache.db.journal");
    {
        auto dict = psm::dict_open(map, crash_safe());
        CHECK(std::filesystem::exists(journal));
        CHECK(std::filesystem::file_size(journal) == 0);
        REQUIRE(dict->update("127.0.0.1", "1;2;3;4;5") == psm::DictStatus::found);
        CHECK(dict->lookup("127.0.0.1").value == "1;2;3;4;5");
        // Not yet in the file: a reader that ignores the lock sees nothing.
        {
            Db raw(nullptr, DB_CXX_NO_EXCEPTIONS);
            REQUIRE(raw.open(nullptr, dir.file("cache.db").c_str(), nullptr, DB_BTREE, DB_RDONLY, 0) == 0);
            std::string key = "127.0.0.1";
            Dbt k(key.data(), static_cast<u_int32_t>(key.size() + 1)), v;
            CHECK(raw.get(nullptr, &k, &v, 0) == DB_NOTFOUND);
            raw.close(0);
        }
        REQUIRE(dict->flush());
        {
            Db raw(nullptr, DB_CXX_NO_EXCEPTIONS);
            REQUIRE(raw.open(nullptr, dir.file("cache.db").c_str(), nullptr, DB_BTREE, DB_RDONLY, 0) == 0);
            std::string key = "127.0.0.1";
            Dbt k(key.data(), static_cast<u_int32_t>(key.size() + 1)), v;
            REQUIRE(raw.get(nullptr, &k, &v, 0) == 0);
            CHECK(std::string(static_cast<char*>(v.get_data()), v.get_size()) == std::string("1;2;3;4;5\0", 10));
            raw.close(0);
        }
        CHECK(std::filesystem::file_size(journal) == 0);
        REQUIRE(dict->update("127.0.0.2", "6;7;8;9;10") == psm::DictStatus::found);
        // Closing commits the rest and removes the journal.
    }
    CHECK_FALSE(std::filesystem::exists(journal));
    CHECK(stock_walk(dir, map) == Content{{"127.0.0.1", "1;2;3;4;5"}, {"127.0.0.2", "6;7;8;9;10"}});
    struct stat st;
    REQUIRE(::stat(dir.file("cache.db").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(log.lines().empty());
}

TEST_CASE("crash-safe btree/hash: big batches round-trip through stock postmap", "[db][crash]") {
    psm::test::require_stock_postmap();
    for (const std::string type : {"btree", "hash"}) {
        TempDir dir;
        const std::string map = type + ":" + dir.file("cache");
        Content content = seed_content();
        create(map, content);
        for (int round = 1; round <= 3; ++round) {
            Content next = apply_batch(content, round);
            {
                auto dict = psm::dict_open(map, crash_safe());
                write_batch(*dict, content, next);
                REQUIRE(dict->flush());
                CHECK(our_walk(*dict) == next);
            }
            content = next;
            CHECK(stock_walk(dir, map) == content);
            CHECK(db_verify(dir.file("cache.db")));
        }
        // A file stock wrote is read and updated crash-safely too.
        REQUIRE(psm::test::postmap(dir, {"-d", content.begin()->first, map}).status == 0);
        content.erase(content.begin());
        {
            auto dict = psm::dict_open(map, crash_safe());
            CHECK(our_walk(*dict) == content);
            REQUIRE(dict->update("203.0.113.9", "5;5;5;5;5") == psm::DictStatus::found);
        }
        content["203.0.113.9"] = "5;5;5;5;5";
        CHECK(stock_walk(dir, map) == content);
    }
}

TEST_CASE("crash-safe btree: a second open gets stock's lock error", "[db][crash]") {
    TempDir dir;
    const std::string map = "btree:" + dir.file("cache");
    auto first = psm::dict_open(map, crash_safe());
    try {
        psm::dict_open(map, crash_safe());
        FAIL("no lock error");
    } catch (const psm::ConfigError& e) {
        CHECK(std::string(e.what()) == map + ": unable to get exclusive lock: Resource temporarily unavailable");
    }
    // The classic lock option of another opener conflicts too.
    psm::DictOpenOptions plain;
    plain.writable = true;
    plain.lock = true;
    CHECK_THROWS_AS(psm::dict_open(map, plain), psm::ConfigError);
}

TEST_CASE("crash-safe btree/hash: a kill at any step of a commit leaves the state before or after it", "[db][crash]") {
    psm::test::require_stock_postmap();
    for (const std::string type : {"btree", "hash"}) {
        std::vector<CrashPoint> points = {{psm::DictCommitStep::journal_write, 0},
                                          {psm::DictCommitStep::journal_synced, 0},
                                          {psm::DictCommitStep::database_synced, 0}};
        for (std::size_t i = 0; i < 40; i += (i < 6 ? 1 : 7))
            points.push_back({psm::DictCommitStep::database_block, i});
        int replays = 0;
        for (auto point : points) {
            TempDir dir;
            LogCapture log;
            const std::string map = type + ":" + dir.file("cache");
            const Content before = seed_content();
            create(map, before);
            const Content after = apply_batch(before, 1);
            if (!crash_child(map, before, after, point)) continue;
            INFO(type << " step " << static_cast<int>(point.step) << " index " << point.index);
            const bool committed = point.step != psm::DictCommitStep::journal_write;
            // Until the database file is touched, stock reads the old state as it is.
            if (point.step == psm::DictCommitStep::journal_write || point.step == psm::DictCommitStep::journal_synced ||
                (point.step == psm::DictCommitStep::database_block && point.index == 0)) {
                CHECK(db_verify(dir.file("cache.db")));
                CHECK(stock_walk(dir, map) == before);
            }
            log.clear();
            {
                auto dict = psm::dict_open(map, crash_safe());
                CHECK(our_walk(*dict) == (committed ? after : before));
            }
            auto lines = log.lines();
            if (committed) {
                REQUIRE(lines.size() == 1);
                CHECK(lines[0].rfind("warning: " + dir.file("cache.db") + ": completed an interrupted update from " +
                                         dir.file("cache.db.journal") + " (",
                                     0) == 0);
                ++replays;
            }
            CHECK(db_verify(dir.file("cache.db")));
            int status = -1;
            CHECK(stock_walk(dir, map, &status) == (committed ? after : before));
            CHECK(status == 0);
        }
        CHECK(replays >= 5);
    }
}

TEST_CASE("crash-safe btree: a torn journal is discarded, a stale one is not replayed", "[db][crash]") {
    psm::test::require_stock_postmap();
    const Content before = seed_content();
    const Content after = apply_batch(before, 2);
    SECTION("torn journal: the file keeps the previous commit") {
        TempDir dir;
        LogCapture log;
        const std::string map = "btree:" + dir.file("cache");
        create(map, before);
        REQUIRE(crash_child(map, before, after, {psm::DictCommitStep::database_block, 0}));
        const std::string journal = dir.file("cache.db.journal");
        auto size = std::filesystem::file_size(journal);
        REQUIRE(size > 100);
        std::filesystem::resize_file(journal, size - 9);
        log.clear();
        {
            auto dict = psm::dict_open(map, crash_safe());
            CHECK(our_walk(*dict) == before);
        }
        CHECK(log.lines() == std::vector<std::string>{dir.file("cache.db") + ": discarded " + journal +
                                                      " of an update that was interrupted before it was complete"});
    }
    SECTION("stock wrote the file after the crash: the journal is discarded") {
        TempDir dir;
        LogCapture log;
        const std::string map = "btree:" + dir.file("cache");
        // Few keys: every page of the batch is one that stock rewrites too.
        Content small = {{"192.0.2.1", "1;1;1;1;1"}, {"192.0.2.2", "2;2;2;2;2"}};
        create(map, small);
        Content changed = small;
        changed["192.0.2.3"] = "3;3;3;3;3";
        REQUIRE(crash_child(map, small, changed, {psm::DictCommitStep::database_block, 0}));
        REQUIRE(psm::test::postmap(dir, {"-d", "192.0.2.1", map}).status == 0);
        log.clear();
        {
            auto dict = psm::dict_open(map, crash_safe());
            CHECK(our_walk(*dict) == Content{{"192.0.2.2", "2;2;2;2;2"}});
        }
        CHECK(log.lines() == std::vector<std::string>{"warning: " + dir.file("cache.db") + ": discarded " +
                                                      dir.file("cache.db.journal") +
                                                      ": the file was changed by another program since"});
        CHECK(db_verify(dir.file("cache.db")));
    }
}
