// Tests for address match lists (mynetworks semantics): patterns, negation, files, tables, stock error wording.
#include "psm/global/addr_match_list.hpp"
#include "psm/util/error.hpp"

#include "support/log_capture.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>

using psm::AddrMatch;
using psm::AddrMatchList;

namespace {

struct TempFile {
    std::string path;
    explicit TempFile(const std::string& text) {
        char tmpl[] = "/tmp/psm-aml-XXXXXX";
        int fd = ::mkstemp(tmpl);
        REQUIRE(fd >= 0);
        ::close(fd);
        path = tmpl;
        std::ofstream(path) << text;
    }
    ~TempFile() { ::unlink(path.c_str()); }
};

} // namespace

TEST_CASE("address lists match addresses, networks and bracketed IPv6", "[addr_match_list]") {
    AddrMatchList list("mynetworks", "127.0.0.0/8, 192.0.2.7 [2001:DB8::]/32,[::1] host.example, 10.0.0.0/8");
    CHECK(list.match("127.1.2.3") == AddrMatch::match);
    CHECK(list.match("192.0.2.7") == AddrMatch::match);
    CHECK(list.match("192.0.2.8") == AddrMatch::no_match);
    CHECK(list.match("2001:db8:5::1") == AddrMatch::match);
    CHECK(list.match("2001:DB8:5::1") == AddrMatch::match);
    CHECK(list.match("::1") == AddrMatch::match);
    CHECK(list.match("0:0:0:0:0:0:0:1") == AddrMatch::match); // compared in binary
    CHECK(list.match("10.9.9.9") == AddrMatch::match);        // host names are skipped silently
    CHECK(list.match("::ffff:127.0.0.1") == AddrMatch::no_match);
    CHECK(list.match("host.example") == AddrMatch::no_match);
    CHECK(list.match("fe80::1%eth0") == AddrMatch::no_match);
}

TEST_CASE("address lists: first match wins, negation stops the search", "[addr_match_list]") {
    AddrMatchList list("mynetworks", "!192.0.2.1 192.0.2.0/24 !!198.51.100.1");
    CHECK(list.match("192.0.2.1") == AddrMatch::no_match);
    CHECK(list.match("192.0.2.2") == AddrMatch::match);
    CHECK(list.match("198.51.100.1") == AddrMatch::match);
    CHECK_THROWS_WITH(AddrMatchList("mynetworks", "192.0.2.1 !"), "mynetworks: no pattern after '!'");
}

TEST_CASE("address lists: /file/name items and type:table items", "[addr_match_list]") {
    TempFile file("# comment\n192.0.2.0/28\n!198.51.100.1 198.51.100.0/24\n\n");
    AddrMatchList list("mynetworks", "!" + file.path + " cidr:{ {203.0.113.0/24 x} } 0.0.0.0/0");
    CHECK(list.match("192.0.2.3") == AddrMatch::no_match);    // negated file item
    CHECK(list.match("198.51.100.1") == AddrMatch::match);    // double negation
    CHECK(list.match("198.51.100.2") == AddrMatch::no_match); // negated file item
    CHECK(list.match("203.0.113.9") == AddrMatch::match);     // table value found
    CHECK(list.match("8.8.8.8") == AddrMatch::match);
}

TEST_CASE("address lists: errors are warned about and reported", "[addr_match_list]") {
    psm::test::LogCapture log;
    AddrMatchList bad("postscreen_access_list", "127.0.0.1/32 example.com bad/24 10.0.0.0/33");
    CHECK(bad.match("127.0.0.1") == AddrMatch::match);
    CHECK(bad.match("::1") == AddrMatch::no_match); // other family: patterns never parsed
    CHECK(bad.match("10.1.1.1") == AddrMatch::error);
    psm::DictOpenOptions daemon;
    daemon.allow_surrogate = true;
    AddrMatchList missing("postscreen_access_list", "!/nonexistent/psm-file 10.0.0.0/8", daemon);
    CHECK(missing.match("10.1.1.1") == AddrMatch::error);
    AddrMatchList comment("mynetworks", "10.0.0.0/8 #c trailing words");
    CHECK(comment.match("10.1.1.1") == AddrMatch::match);
    CHECK(log.lines() ==
          std::vector<std::string>{
              "warning: postscreen_access_list: bad network value in \"bad/24\"",
              "error: open file /nonexistent/psm-file: No such file or directory",
              "warning: non-existent:/nonexistent/psm-file is unavailable. open file /nonexistent/psm-file: No "
              "such file or directory",
              "warning: postscreen_access_list: non-existent:/nonexistent/psm-file: table lookup problem",
              "warning: mynetworks: comment at end of line is not supported: #c trailing words",
          });
    CHECK_THROWS_WITH(AddrMatchList("mynetworks", "/nonexistent/psm-file"),
                      "open file /nonexistent/psm-file: No such file or directory");
}
