// Helpers for the cache store tests: a temporary data directory owned by
// mail_owner, a Config for it, a store opened on an io_context that the
// test runs until a condition holds, raw Berkeley DB access and stock
// postmap runs.
#pragma once

#include "cache_store.hpp"

#include "support/log_capture.hpp"

#include "psm/global/cache_record.hpp"
#include "psm/global/main_cf.hpp"

#include <utility>

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <db_cxx.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace psm::test {

inline std::string quote(const std::string& arg) {
    std::string out = "'";
    for (char c : arg)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// stdout of a shell command (exit status in *status).
inline std::string shell(const std::string& command, int* status = nullptr) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0)
        out.append(buf, n);
    int rc = ::pclose(pipe);
    if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return out;
}

struct CacheDir {
    std::string path; // data_directory, owned by mail_owner
    std::string conf; // an empty config directory for stock postmap
    std::string owner = "postfix";
    uid_t uid = 0;
    gid_t gid = 0;

    CacheDir() {
        char tmpl[] = "/tmp/psm-cache-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
        ::chmod(path.c_str(), 0755);
        struct passwd* pw = ::getpwnam(owner.c_str());
        if (pw == nullptr || ::geteuid() != 0) {
            // Not root, or no postfix user: the current user plays mail_owner.
            pw = ::getpwuid(::geteuid());
            owner = pw->pw_name;
        }
        uid = pw->pw_uid;
        gid = pw->pw_gid;
        REQUIRE(::chown(path.c_str(), uid, gid) == 0);
        conf = path + "-conf";
        std::filesystem::create_directory(conf);
        std::ofstream(conf + "/main.cf") << "";
    }
    ~CacheDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
        std::filesystem::remove_all(conf, ec);
    }
    CacheDir(const CacheDir&) = delete;
    CacheDir& operator=(const CacheDir&) = delete;

    std::string map(const std::string& type = "btree") const { return type + ":" + path + "/postscreen_cache"; }
    std::string db() const { return path + "/postscreen_cache.db"; }

    Config config(const std::map<std::string, std::string>& extra = {}) const {
        Config c;
        c.set_override("data_directory", path);
        c.set_override("mail_owner", owner);
        c.set_override("postscreen_cache_map", map());
        for (auto& [k, v] : extra)
            c.set_override(k, v);
        return c;
    }

    // Stock postmap -s: "key\tvalue" lines, sorted (btree order).
    std::string postmap_s(const std::string& map_name, int* status = nullptr) const {
        return shell("timeout 60 /usr/sbin/postmap -c " + quote(conf) + " -s " + quote(map_name) + " 2>&1", status);
    }
};

// Runs `io` until `done()` or the time limit (then fails).
inline void run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    io.restart();
    while (!done()) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        io.run_for(std::chrono::milliseconds(5));
        io.restart();
    }
}

// A lookup through the store, waited for.
inline std::optional<CacheRecord> lookup(boost::asio::io_context& io, postscreen::CacheStore& store,
                                         const std::string& key) {
    bool answered = false;
    std::optional<CacheRecord> result;
    store.lookup(key, [&](std::optional<CacheRecord> r) {
        answered = true;
        result = r;
    });
    run_until(io, [&] { return answered; });
    return result;
}

inline void flush(boost::asio::io_context& io, postscreen::CacheStore& store) {
    bool done = false;
    store.flush([&] { done = true; });
    run_until(io, [&] { return done; });
}

inline CacheRecord record(std::time_t a, std::time_t b, std::time_t c, std::time_t d, std::time_t e) {
    CacheRecord r;
    r.stamps = {a, b, c, d, e};
    return r;
}

inline PscEnabledTests all_enabled() {
    return {true, true, true, true, true};
}

// Every record of a Berkeley DB file, raw (trailing NULs included).
inline std::map<std::string, std::string> raw_records(const std::string& db_file, DBTYPE type = DB_BTREE) {
    std::map<std::string, std::string> out;
    Db db(nullptr, DB_CXX_NO_EXCEPTIONS);
    REQUIRE(db.open(nullptr, db_file.c_str(), nullptr, type, DB_RDONLY, 0) == 0);
    Dbc* cursor = nullptr;
    REQUIRE(db.cursor(nullptr, &cursor, 0) == 0);
    Dbt k, v;
    while (cursor->get(&k, &v, DB_NEXT) == 0)
        out.emplace(std::string(static_cast<char*>(k.get_data()), k.get_size()),
                    std::string(static_cast<char*>(v.get_data()), v.get_size()));
    cursor->close();
    db.close(0);
    return out;
}

// Writes records exactly as given (another writer's style).
inline void write_raw(const std::string& db_file, const std::map<std::string, std::string>& records,
                      DBTYPE type = DB_BTREE) {
    Db db(nullptr, DB_CXX_NO_EXCEPTIONS);
    REQUIRE(db.open(nullptr, db_file.c_str(), nullptr, type, DB_CREATE, 0600) == 0);
    for (auto& [key, value] : records) {
        Dbt k(const_cast<char*>(key.data()), static_cast<u_int32_t>(key.size()));
        Dbt v(const_cast<char*>(value.data()), static_cast<u_int32_t>(value.size()));
        REQUIRE(db.put(nullptr, &k, &v, 0) == 0);
    }
    db.close(0);
}

} // namespace psm::test
