// Tests for cidr: tables through dict_open (rules, if/endif, negation, inline form, stock warnings and errors).
#include "psm/global/dict.hpp"
#include "psm/util/error.hpp"

#include "support/log_capture.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>

namespace {

struct TempFile {
    std::string path;
    explicit TempFile(const std::string& text) {
        char tmpl[] = "/tmp/psm-cidr-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
        std::ofstream(path) << text;
    }
    ~TempFile() { ::unlink(path.c_str()); }
};

std::string query(psm::Dict& dict, std::string_view key) {
    auto r = dict.lookup(key);
    return r.found() ? r.value : r.failed() ? "(error)" : "(not found)";
}

std::string open_error(const std::string& name, psm::DictOpenOptions options = {}) {
    try {
        psm::dict_open(name, options);
    } catch (const psm::ConfigError& e) {
        return e.what();
    }
    return "opened";
}

} // namespace

TEST_CASE("cidr tables: first match wins, families never mix", "[dict_cidr]") {
    TempFile file("# comment\n"
                  "192.0.2.1 exact\n"
                  "192.0.2.0/24   net  value  \n"
                  "  continued\n"
                  "[2001:db8::]/48 v6\n"
                  "0.0.0.0/0 any-v4\n");
    auto dict = psm::dict_open("cidr:" + file.path);
    CHECK(dict->name() == "cidr:" + file.path);
    CHECK(query(*dict, "192.0.2.1") == "exact");
    CHECK(query(*dict, "192.0.2.77") == "net  value    continued");
    CHECK(query(*dict, "2001:DB8:0::5") == "v6");
    CHECK(query(*dict, "2001:db9::5") == "(not found)");
    CHECK(query(*dict, "::ffff:192.0.2.1") == "(not found)");
    CHECK(query(*dict, "10.1.2.3") == "any-v4");
    CHECK(query(*dict, "foo") == "(not found)");
    CHECK(query(*dict, "01.2.3.4") == "(not found)");
    CHECK(query(*dict, std::string_view("10.1.2.3\0junk", 13)) == "any-v4");
}

TEST_CASE("cidr tables: negation and nested if/endif", "[dict_cidr]") {
    TempFile file("if 10.0.0.0/8\n"
                  "IF !10.1.2.0/24\n"
                  "10.1.0.0/16 ten-one-not-two\n"
                  "endif\n"
                  "10.1.2.0/24 ten-one-two\n"
                  "EndIf\n"
                  "! 192.0.2.0/24 not-test-net\n"
                  "!!192.0.2.1 double\n"
                  "if 198.51.100.0/24\n"
                  "198.51.100.7 in-unterminated-if\n");
    psm::test::LogCapture log;
    auto dict = psm::dict_open("cidr:" + file.path);
    CHECK(query(*dict, "10.1.3.3") == "ten-one-not-two");
    CHECK(query(*dict, "10.1.2.3") == "ten-one-two");
    CHECK(query(*dict, "10.2.0.1") == "not-test-net"); // falls out of the IF block
    CHECK(query(*dict, "8.8.8.8") == "not-test-net");
    CHECK(query(*dict, "192.0.2.1") == "double");
    CHECK(query(*dict, "192.0.2.2") == "(not found)"); // the unterminated IF ends the table
    CHECK(query(*dict, "::1") == "(not found)");
    CHECK(log.lines() ==
          std::vector<std::string>{"warning: cidr map " + file.path + ", line 9: IF has no matching ENDIF"});
}

TEST_CASE("cidr tables: bad rules are warned about as stock and skipped", "[dict_cidr]") {
    TempFile file("192.168.1.1/24 a\n"
                  "10.0.0.0/33 b\n"
                  "10.0.0.0/x c\n"
                  "10.0.0.x/8 d\n"
                  "foo e\n"
                  "[10.1.1.1 f\n"
                  "[10.1.1.1]x g\n"
                  "10.1.1.2\n"
                  "!\n"
                  "endif\n"
                  "if\n"
                  "if 1.2.3.4 junk\n"
                  "endif junk\n"
                  "  \n"
                  "10.9.9.9 ok\n");
    psm::test::LogCapture log;
    auto dict = psm::dict_open("cidr:" + file.path);
    CHECK(query(*dict, "10.9.9.9") == "ok");
    CHECK(query(*dict, "192.168.1.1") == "(not found)");
    std::string p = "warning: cidr map " + file.path + ", line ";
    CHECK(log.lines() ==
          std::vector<std::string>{
              p + "1: non-null host address bits in \"192.168.1.1/24\", perhaps you should use \"192.168.1.0/24\" "
                  "instead: skipping this rule",
              p + "2: bad mask length in \"10.0.0.0/33\": skipping this rule",
              p + "3: bad mask value in \"10.0.0.0/x\": skipping this rule",
              p + "4: bad network value in \"10.0.0.x/8\": skipping this rule",
              p + "5: bad address pattern: \"foo\": skipping this rule",
              p + "6: missing ']' character after \"[10.1.1.1\": skipping this rule",
              p + "7: garbage after \"[10.1.1.1]\": skipping this rule",
              p + "8: no lookup result: skipping this rule",
              p + "9: no address pattern: skipping this rule",
              p + "10: ENDIF without IF: skipping this rule",
              p + "11: no address pattern: skipping this rule",
              p + "12: bad address pattern: \"1.2.3.4 junk\": skipping this rule",
              p + "13: garbage after ENDIF: skipping this rule",
          });
}

TEST_CASE("cidr tables: inline form", "[dict_cidr]") {
    psm::test::LogCapture log;
    auto dict = psm::dict_open("cidr:{ {192.0.2.0/24 reject x}, {192.0.2.1/24 bad}, { 0.0.0.0/0  permit } }");
    CHECK(query(*dict, "192.0.2.9") == "reject x");
    CHECK(query(*dict, "203.0.113.1") == "permit");
    CHECK(log.lines() ==
          std::vector<std::string>{
              "warning: cidr map { {192.0.2.0/24 reject x}, {192.0.2.1/24 bad}, { 0.0.0.0/0  permit } }, "
              "line 2: non-null host address bits in \"192.0.2.1/24\", perhaps you should use "
              "\"192.0.2.0/24\" instead: skipping this rule"});
    CHECK(query(*psm::dict_open("cidr:{}"), "192.0.2.9") == "(not found)");
}

TEST_CASE("cidr tables: open errors", "[dict_cidr]") {
    CHECK(open_error("cidr:/nonexistent/psm.cidr") == "open /nonexistent/psm.cidr: No such file or directory");
    CHECK(open_error("cidr:{ {192.0.2.1 a}") == "cidr map: missing '}' in \"{ {192.0.2.1 a}\"");
    CHECK(open_error("cidr:{ 192.0.2.1 a }") == "cidr map: no '{' at start of text in \"192.0.2.1\"");
    CHECK(open_error("cidr:{ {192.0.2.1 a}x }") == "cidr map: syntax error after '}' in \"{192.0.2.1 a}x\"");
    psm::DictOpenOptions writable;
    writable.writable = true;
    CHECK(open_error("cidr:/tmp/x.cidr", writable) == "cidr:/tmp/x.cidr map requires O_RDONLY access mode");
    psm::DictOpenOptions daemon;
    daemon.allow_surrogate = true;
    psm::test::LogCapture log;
    auto dict = psm::dict_open("cidr:/nonexistent/psm.cidr", daemon);
    CHECK(query(*dict, "192.0.2.1") == "(error)");
    CHECK(log.lines() ==
          std::vector<std::string>{"error: open /nonexistent/psm.cidr: No such file or directory",
                                   "warning: cidr:/nonexistent/psm.cidr is unavailable. open /nonexistent/psm.cidr: No "
                                   "such file or directory"});
}
