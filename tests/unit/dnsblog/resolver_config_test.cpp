// Tests for resolv.conf and dnsblog_nameservers parsing and glibc's
// per-server timeouts.
#include "resolver_config.hpp"

#include "psm/util/error.hpp"

#include <catch2/catch.hpp>

using psm::dnsblog::endpoint_text;
using psm::dnsblog::parse_nameservers;
using psm::dnsblog::parse_resolv_conf;

TEST_CASE("resolv.conf: servers, options, limits and defaults") {
    auto c = parse_resolv_conf("# comment\n"
                               "search example.com\n"
                               "nameserver 192.0.2.53\n"
                               "nameserver  ::1\n"
                               "nameserver bogus\n"
                               "nameserver fe80::1%eth0\n"
                               "nameserver 192.0.2.54\n"
                               "options ndots:2 timeout:3 attempts:4 rotate\n");
    REQUIRE(c.servers.size() == 3); // glibc's MAXNS; the bogus line does not count
    CHECK(endpoint_text(c.servers[0]) == "192.0.2.53:53");
    CHECK(endpoint_text(c.servers[1]) == "[::1]:53");
    CHECK(endpoint_text(c.servers[2]) == "[fe80::1]:53");
    CHECK(c.timeout == 3);
    CHECK(c.attempts == 4);
    CHECK(c.rotate);

    auto d = parse_resolv_conf("");
    REQUIRE(d.servers.size() == 1);
    CHECK(endpoint_text(d.servers[0]) == "127.0.0.1:53");
    CHECK(d.timeout == 5);
    CHECK(d.attempts == 2);
    CHECK_FALSE(d.rotate);

    auto capped = parse_resolv_conf("options timeout:99 attempts:9\noptions timeout:0\n");
    CHECK(capped.timeout == 1);
    CHECK(capped.attempts == 5);

    auto missing = psm::dnsblog::read_resolv_conf("/nonexistent/resolv.conf");
    CHECK(endpoint_text(missing.servers.at(0)) == "127.0.0.1:53");
}

TEST_CASE("resolv.conf: glibc's per-server timeout") {
    auto one = parse_resolv_conf("nameserver 192.0.2.1\noptions timeout:2\n");
    CHECK(one.server_timeout(0) == std::chrono::seconds(2));
    auto three = parse_resolv_conf("nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\n"
                                   "options timeout:3\n");
    CHECK(three.server_timeout(0) == std::chrono::seconds(3));
    CHECK(three.server_timeout(1) == std::chrono::seconds(2)); // (3 << 1) / 3
    CHECK(three.server_timeout(2) == std::chrono::seconds(4)); // (3 << 2) / 3
    auto short_ = parse_resolv_conf("nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\n"
                                    "options timeout:1\n");
    CHECK(short_.server_timeout(1) == std::chrono::seconds(1)); // at least one second
}

TEST_CASE("dnsblog_nameservers: syntax and errors") {
    auto s = parse_nameservers("127.0.0.1:5353, [::1]:53 192.0.2.1 [2001:db8::1] ::2");
    REQUIRE(s.size() == 5);
    CHECK(endpoint_text(s[0]) == "127.0.0.1:5353");
    CHECK(endpoint_text(s[1]) == "[::1]:53");
    CHECK(endpoint_text(s[2]) == "192.0.2.1:53");
    CHECK(endpoint_text(s[3]) == "[2001:db8::1]:53");
    CHECK(endpoint_text(s[4]) == "[::2]:53");
    CHECK(parse_nameservers("").empty());
    for (const char* bad : {"localhost", "127.0.0.1:0", "127.0.0.1:65536", "[::1", "[::1]x", "1.2.3.4:x"}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH(parse_nameservers(bad), std::string("bad dnsblog_nameservers item: ") + bad);
    }
    CHECK_THROWS_WITH(parse_nameservers("1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 1.1.1.8 1.1.1.9"),
                      "too many dnsblog_nameservers (at most 8)");
}
