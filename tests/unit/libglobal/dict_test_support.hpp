// Helpers for the lookup-table tests: a temporary directory, a log capture
// (our msg_* lines, without the "postfix/program[pid]: " prefix), and runs
// of the stock Postfix tools (postmap) whose output the tests compare with
// ours byte for byte.
#pragma once

#include "support/log_capture.hpp"

#include "psm/global/dict.hpp"
#include "psm/util/log.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace psm::test {

inline std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

inline std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

// A fresh directory under /tmp, removed with its content.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/psm-dict-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
        // Stock postmap reads main.cf from its -c directory: an empty one
        // (compatibility_level 0: smtputf8 off), and one at level 3.6.
        std::filesystem::create_directory(path + "/cf");
        write("cf/main.cf", "");
        std::filesystem::create_directory(path + "/cf36");
        write("cf36/main.cf", "compatibility_level = 3.6\n");
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string file(const std::string& name) const { return path + "/" + name; }

    // Writes a file and dates it a minute back (Postfix re-reads a table
    // file modified within the last second until it "cools down").
    std::string write(const std::string& name, const std::string& content) const {
        std::string p = file(name);
        std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
        age(p);
        return p;
    }
    static void age(const std::string& p) {
        struct timeval times[2];
        ::gettimeofday(&times[0], nullptr);
        times[0].tv_sec -= 60;
        times[1] = times[0];
        ::utimes(p.c_str(), times);
    }
};

inline std::string shell_quote(const std::string& arg) {
    std::string out = "'";
    for (char c : arg) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

struct CommandResult {
    int status = -1;                 // exit status
    std::string out;                 // stdout
    std::vector<std::string> errors; // stderr lines, "postmap: " removed
};

// Runs a command line through /bin/sh; stderr is collected separately.
// Stock tools are run under timeout(1) by the callers below, so a test
// never hangs on a lock.
inline CommandResult run_command(const std::string& command, const std::string& scratch_dir) {
    CommandResult result;
    std::string err_file = scratch_dir + "/stderr.txt";
    std::string full = command + " 2>" + shell_quote(err_file);
    FILE* pipe = ::popen(full.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0)
        result.out.append(buf, n);
    int rc = ::pclose(pipe);
    result.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    for (auto& line : split_lines(read_text(err_file))) {
        const std::string prefix = "postmap: ";
        result.errors.push_back(line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : line);
    }
    return result;
}

// Stock postmap with a private configuration directory (never /etc/postfix).
inline CommandResult postmap(const TempDir& dir, const std::vector<std::string>& args, bool utf8 = false) {
    std::string cmd = "timeout 60 /usr/sbin/postmap -c " + shell_quote(dir.file(utf8 ? "cf36" : "cf"));
    for (auto& a : args)
        cmd += " " + shell_quote(a);
    return run_command(cmd, dir.path);
}

// `postmap [extra] -q - MAP`: every key on stdin, one line "key<TAB>value"
// per key found.
inline CommandResult postmap_queries(const TempDir& dir, const std::string& map, const std::vector<std::string>& keys,
                                     const std::vector<std::string>& extra = {}, bool utf8 = false) {
    std::string keys_file = dir.file("keys.txt");
    {
        std::ofstream out(keys_file, std::ios::binary | std::ios::trunc);
        for (auto& k : keys)
            out << k << '\n';
    }
    std::string cmd = "timeout 60 /usr/sbin/postmap -c " + shell_quote(dir.file(utf8 ? "cf36" : "cf"));
    for (auto& a : extra)
        cmd += " " + shell_quote(a);
    cmd += " -q - " + shell_quote(map) + " <" + shell_quote(keys_file);
    CommandResult result = run_command(cmd, dir.path);
    // postmap's own complaint about an empty result is no table behaviour.
    std::vector<std::string> errors;
    for (auto& line : result.errors)
        if (line.find(": empty string result is not allowed") == std::string::npos &&
            line.find(" should return NO RESULT in case of NOT FOUND") == std::string::npos)
            errors.push_back(line);
    result.errors = errors;
    return result;
}

// Our answers in the shape of postmap_queries() output.
inline std::string our_queries(psm::Dict& dict, const std::vector<std::string>& keys) {
    std::string out;
    for (auto& k : keys) {
        auto r = dict.lookup(k);
        if (r.found()) out += k + "\t" + r.value + "\n";
    }
    return out;
}

// The stock tools are part of the test environment (tests/run installs the
// postfix package): their absence is a failure, not a skip.
inline void require_stock_postmap() {
    REQUIRE(::access("/usr/sbin/postmap", X_OK) == 0);
}

} // namespace psm::test
