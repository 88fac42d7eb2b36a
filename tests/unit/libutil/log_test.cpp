// Tests for the Postfix-format logger: file line shape, severities,
// sanitising of non-printable bytes, and the syslog tag.
#include "psm/util/log.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

psm::LogConfig file_config(const std::string& syslog_name, const std::string& program, const std::string& file,
                           const std::string& host) {
    psm::LogConfig c;
    c.syslog_name = syslog_name;
    c.program = program;
    c.maillog_file = file;
    c.hostname = host;
    return c;
}

struct TempLog {
    std::string path;
    TempLog() {
        char tmpl[] = "/tmp/psm-log-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
    }
    ~TempLog() { ::unlink(path.c_str()); }
};

} // namespace

TEST_CASE("maillog_file lines have postlogd's shape", "[log]") {
    TempLog file;
    psm::log_configure(file_config("postfix", "postscreen", file.path, "mx.test.example"));
    psm::msg_info("CONNECT from [%s]:%d to [%s]:%d", "127.0.0.7", 51975, "127.0.0.1", 41025);
    psm::msg_warn("cannot connect to service %s: %s", "private/smtpd", "Connection refused");
    psm::msg_error("something %d", 42);

    auto lines = read_lines(file.path);
    REQUIRE(lines.size() == 3);
    std::string pid = std::to_string(::getpid());
    std::regex shape(R"(^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} mx postfix/postscreen\[)" + pid +
                     R"(\]: (.*)$)");
    std::smatch m;
    REQUIRE(std::regex_match(lines[0], m, shape));
    CHECK(m[1] == "CONNECT from [127.0.0.7]:51975 to [127.0.0.1]:41025");
    REQUIRE(std::regex_match(lines[1], m, shape));
    CHECK(m[1] == "warning: cannot connect to service private/smtpd: Connection refused");
    REQUIRE(std::regex_match(lines[2], m, shape));
    CHECK(m[1] == "error: something 42");
    CHECK(psm::log_tag() == "postfix/postscreen");
}

TEST_CASE("syslog_name changes the tag", "[log]") {
    TempLog file;
    psm::log_configure(file_config("postfix-out", "dnsblog", file.path, "host"));
    psm::msg_info("hello");
    auto lines = read_lines(file.path);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find(" host postfix-out/dnsblog[") != std::string::npos);
    CHECK(lines[0].substr(lines[0].size() - 8) == "]: hello");
}

TEST_CASE("very long lines are logged whole", "[log]") {
    TempLog file;
    psm::log_configure(file_config("postfix", "t", file.path, "h"));
    std::string big(5000, 'x');
    psm::msg_info("%s|end", big.c_str());
    auto lines = read_lines(file.path);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].size() > 5000);
    CHECK(lines[0].substr(lines[0].size() - 5) == "x|end");
}

TEST_CASE("logged lines are sanitised, short and long, in the file and batched", "[log]") {
    TempLog file;
    psm::log_configure(file_config("postfix", "t", file.path, "h"));
    const std::string dirty = std::string("a\tb\x01" "c\xff") + "caf\xc3\xa9";
    psm::msg_info("x %s y", dirty.c_str());
    psm::msg_warn("%s", dirty.c_str());
    const std::string long_dirty = std::string(600, 'z') + dirty; // past the stack buffer
    psm::msg_info("%s", long_dirty.c_str());
    int scheduled = 0;
    psm::log_batch_writes([&scheduled] { ++scheduled; });
    psm::msg_info("batched %s", dirty.c_str());
    CHECK(scheduled == 1);
    CHECK(read_lines(file.path).size() == 3);
    psm::log_flush();
    psm::log_batch_writes(nullptr);
    auto lines = read_lines(file.path);
    REQUIRE(lines.size() == 4);
    const std::string clean = "a?b?c?caf\xc3\xa9";
    CHECK(lines[0].ends_with("]: x " + clean + " y"));
    CHECK(lines[1].ends_with("]: warning: " + clean));
    CHECK(lines[2].ends_with("]: " + std::string(600, 'z') + clean));
    CHECK(lines[3].ends_with("]: batched " + clean));
    const std::string pid = "[" + std::to_string(::getpid()) + "]: ";
    for (const auto& line : lines)
        CHECK(line.find(pid) != std::string::npos);
}

TEST_CASE("batched info lines are written together, in order, never twice", "[log]") {
    TempLog file;
    psm::log_configure(file_config("postfix", "postscreen", file.path, "mx"));
    int scheduled = 0;
    psm::log_batch_writes([&scheduled] { ++scheduled; });
    psm::msg_info("one");
    psm::msg_info("two");
    CHECK(scheduled == 1); // once for the first line kept
    CHECK(read_lines(file.path).empty());
    psm::log_flush();
    REQUIRE(read_lines(file.path).size() == 2);

    // A warning writes what was kept first, then itself.
    psm::msg_info("three");
    CHECK(scheduled == 2);
    psm::msg_warn("four");
    auto lines = read_lines(file.path);
    REQUIRE(lines.size() == 4);
    CHECK(lines[2].substr(lines[2].size() - 8) == "]: three");
    CHECK(lines[3].substr(lines[3].size() - 16) == "]: warning: four");

    // A forked child does not write its parent's kept lines again.
    psm::msg_info("five");
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        psm::log_flush();
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(read_lines(file.path).size() == 5); // written by the fork, once

    // 32 KiB of kept lines go out without waiting for the flush.
    const std::string chunk(1000, 'y');
    for (int i = 0; i < 40; ++i)
        psm::msg_info("%s", chunk.c_str());
    CHECK(read_lines(file.path).size() > 5);

    // Ending the batching writes what is kept.
    psm::log_batch_writes({});
    CHECK(read_lines(file.path).size() == 45);
    psm::msg_info("six");
    CHECK(read_lines(file.path).size() == 46);
}

TEST_CASE("fatal can be turned into an exception for tests", "[log]") {
    psm::log_throw_on_fatal(true);
    try {
        psm::msg_fatal("bad %s value: %s", "postscreen_greet_action", "sometimes");
        FAIL("msg_fatal returned");
    } catch (const psm::FatalError& e) {
        CHECK(e.text == "bad postscreen_greet_action value: sometimes");
    }
    psm::log_throw_on_fatal(false);
}

TEST_CASE("unknown facility is refused", "[log]") {
    psm::LogConfig bad;
    bad.program = "t";
    bad.facility = "mial";
    CHECK_THROWS_AS(psm::log_configure(bad), std::invalid_argument);
}

TEST_CASE("printable replaces control bytes and bad UTF-8 with '?'", "[log]") {
    CHECK(psm::log_printable("plain text") == "plain text");
    CHECK(psm::log_printable("tab\there") == "tab?here");
    CHECK(psm::log_printable(std::string("nul\0x", 5)) == "nul?x");
    CHECK(psm::log_printable("caf\xc3\xa9") == "caf\xc3\xa9");           // valid 2-byte
    CHECK(psm::log_printable("\xe2\x82\xac!") == "\xe2\x82\xac!");       // valid 3-byte
    CHECK(psm::log_printable("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80"); // valid 4-byte
    CHECK(psm::log_printable("bad\xff") == "bad?");
    CHECK(psm::log_printable("\xc3(") == "?(");                 // truncated sequence
    CHECK(psm::log_printable("\xc0\xaf") == "??");              // overlong
    CHECK(psm::log_printable("\xed\xa0\x80") == "???");         // surrogate
    CHECK(psm::log_printable("\x7f\x1b[31m") == "??[31m");       // DEL, ESC
}
