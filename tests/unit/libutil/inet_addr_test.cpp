// Tests for InetAddr / CidrBlock: parsing, formatting, conversions, DNSBL names, Postfix's CIDR rules.
#include "psm/util/inet_addr.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <array>
#include <cstdint>

#include <netinet/in.h>

#include <cstring>

using psm::CidrBlock;
using psm::InetAddr;

namespace {

std::string fmt(std::string_view text) {
    auto a = InetAddr::parse(text);
    return a ? a->to_string() : "(bad)";
}

std::string why_of(std::string_view pattern) {
    std::string why;
    auto block = CidrBlock::parse(pattern, &why);
    return block ? "ok " + block->to_string() : why;
}

} // namespace

TEST_CASE("InetAddr::parse accepts only inet_pton forms", "[inet_addr]") {
    CHECK(fmt("192.0.2.1") == "192.0.2.1");
    CHECK(fmt("2001:DB8:0:0::1") == "2001:db8::1");
    CHECK(fmt("::ffff:192.0.2.1") == "::ffff:192.0.2.1");
    CHECK(fmt("::1") == "::1");
    CHECK(fmt("01.2.3.4") == "(bad)");
    CHECK(fmt("1.2.3") == "(bad)");
    CHECK(fmt("256.1.1.1") == "(bad)");
    CHECK(fmt("1.2.3.4 ") == "(bad)");
    CHECK(fmt("fe80::1%eth0") == "(bad)");
    CHECK(fmt("") == "(bad)");
    CHECK(fmt("foo") == "(bad)");
    CHECK(fmt(std::string_view("1.2.3.4\0x", 9)) == "(bad)");
    CHECK(fmt(std::string(100, '1')) == "(bad)");
    auto a = InetAddr::parse("10.0.0.1");
    REQUIRE(a);
    CHECK(a->is_v4());
    CHECK(a->size() == 4);
    CHECK(a->af() == AF_INET);
    CHECK(InetAddr::parse("::")->is_v6());
    CHECK(InetAddr().empty());
    CHECK(InetAddr().to_string().empty());
}

TEST_CASE("InetAddr::parse_lenient accepts getaddrinfo's numeric forms", "[inet_addr]") {
    CHECK(InetAddr::parse_lenient("01.02.03.04")->to_string() == "1.2.3.4");
    CHECK(InetAddr::parse_lenient("127.1")->to_string() == "127.0.0.1");
    CHECK(InetAddr::parse_lenient("0x7f.0.0.1")->to_string() == "127.0.0.1");
    CHECK(InetAddr::parse_lenient("2001:DB8::0:1")->to_string() == "2001:db8::1");
    CHECK_FALSE(InetAddr::parse_lenient("08.1.1.1"));
    CHECK_FALSE(InetAddr::parse_lenient("1.2.3.4 x"));
    CHECK_FALSE(InetAddr::parse_lenient("example.com"));
    CHECK_FALSE(InetAddr::parse_lenient(""));
}

TEST_CASE("IPv4-mapped IPv6 addresses reduce to IPv4 on request", "[inet_addr]") {
    auto mapped = InetAddr::parse("::FFFF:192.0.2.7");
    REQUIRE(mapped);
    CHECK(mapped->is_v4_mapped());
    CHECK(mapped->unmapped().to_string() == "192.0.2.7");
    CHECK(mapped->unmapped().is_v4());
    auto plain = InetAddr::parse("2001:db8::ffff:1.2.3.4");
    CHECK_FALSE(plain->is_v4_mapped());
    CHECK(plain->unmapped() == *plain);
    CHECK_FALSE(InetAddr::parse("1.2.3.4")->is_v4_mapped());
}

TEST_CASE("InetAddr converts to and from sockaddr and asio", "[inet_addr]") {
    auto a = *InetAddr::parse("192.0.2.10");
    sockaddr_storage ss;
    socklen_t len = a.to_sockaddr(ss, 2525);
    REQUIRE(len == sizeof(sockaddr_in));
    sockaddr_in sin;
    std::memcpy(&sin, &ss, sizeof(sin));
    CHECK(ntohs(sin.sin_port) == 2525);
    CHECK(*InetAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len) == a);
    CHECK_FALSE(InetAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), 4));

    auto b = *InetAddr::parse("2001:db8::25");
    len = b.to_sockaddr(ss, 25);
    REQUIRE(len == sizeof(sockaddr_in6));
    CHECK(InetAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len)->to_string() == "2001:db8::25");
    CHECK(InetAddr().to_sockaddr(ss) == 0);

    CHECK(a.to_asio().to_string() == "192.0.2.10");
    CHECK(b.to_asio().to_string() == "2001:db8::25");
    CHECK(InetAddr::from_asio(boost::asio::ip::make_address("::ffff:10.1.2.3")).to_string() == "::ffff:10.1.2.3");
    CHECK(InetAddr::from_asio(boost::asio::ip::make_address("10.1.2.3")) == *InetAddr::parse("10.1.2.3"));
}

TEST_CASE("DNSBL query names follow dnsblog", "[inet_addr]") {
    CHECK(InetAddr::parse("192.0.2.1")->dnsbl_query("zen.spamhaus.org") == "1.2.0.192.zen.spamhaus.org");
    CHECK(InetAddr::parse("2001:db8::1")->dnsbl_query("bl.example") ==
          "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
    CHECK(InetAddr::parse("::ffff:10.0.0.255")->dnsbl_query("x") ==
          "f.f.0.0.0.0.a.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.x");
}

TEST_CASE("CidrBlock::parse matches cidr_match's rules and stock wording", "[inet_addr]") {
    CHECK(why_of("192.168.1.0/24") == "ok 192.168.1.0/24");
    CHECK(why_of("1.2.3.4") == "ok 1.2.3.4/32");
    CHECK(why_of("[1.2.3.5]") == "ok 1.2.3.5/32");
    CHECK(why_of("[1.2.3.0]/24") == "ok 1.2.3.0/24");
    CHECK(why_of("[1.2.3.0/24]") == "ok 1.2.3.0/24");
    CHECK(why_of("[2001:db8::]/48") == "ok 2001:db8::/48");
    CHECK(why_of("::/0") == "ok ::/0");
    CHECK(why_of("1.2.3.4/024") ==
          "non-null host address bits in \"1.2.3.4/024\", perhaps you should use \"1.2.3.0/24\" instead");
    CHECK(why_of("192.168.1.1/24") ==
          "non-null host address bits in \"192.168.1.1/24\", perhaps you should use \"192.168.1.0/24\" instead");
    CHECK(why_of("2001:db8:1::1/48") ==
          "non-null host address bits in \"2001:db8:1::1/48\", perhaps you should use \"2001:db8:1::/48\" instead");
    // Stock stores the length in 8 bits.
    CHECK(why_of("1.2.3.4/288") == "ok 1.2.3.4/32");
    CHECK(why_of("1.2.3.4/256") ==
          "non-null host address bits in \"1.2.3.4/256\", perhaps you should use \"0.0.0.0/0\" instead");
    CHECK(why_of("1.2.3.4/99999999999999999999") == "bad mask length in \"1.2.3.4/99999999999999999999\"");
    CHECK(why_of("1.2.3.4/33") == "bad mask length in \"1.2.3.4/33\"");
    CHECK(why_of("2001:db8::/129") == "bad mask length in \"2001:db8::/129\"");
    CHECK(why_of("1.2.3.0/") == "bad mask value in \"1.2.3.0/\"");
    CHECK(why_of("1.2.3.0/+1") == "bad mask value in \"1.2.3.0/+1\"");
    CHECK(why_of("1.2.3.0/0x1") == "bad mask value in \"1.2.3.0/0x1\"");
    CHECK(why_of("[1.2.3.4]/") == "bad mask value in \"1.2.3.4/\"");
    CHECK(why_of("1.2.3.x/24") == "bad network value in \"1.2.3.x/24\"");
    CHECK(why_of("foo") == "bad address pattern: \"foo\"");
    CHECK(why_of("01.2.3.4") == "bad address pattern: \"01.2.3.4\"");
    CHECK(why_of("1.2.3.4:") == "bad address pattern: \"1.2.3.4:\"");
    CHECK(why_of("fe80::1%eth0") == "bad address pattern: \"fe80::1%eth0\"");
    CHECK(why_of("[1.2.3.6") == "missing ']' character after \"[1.2.3.6\"");
    CHECK(why_of("[1.2.3.7]x") == "garbage after \"[1.2.3.7]\"");
    CHECK(why_of("[1.2.3.4]]/32") == "garbage after \"[1.2.3.4]\"");
}

TEST_CASE("CidrBlock::contains never crosses address families", "[inet_addr]") {
    auto net = *CidrBlock::parse("192.0.2.0/25");
    CHECK(net.contains(*InetAddr::parse("192.0.2.0")));
    CHECK(net.contains(*InetAddr::parse("192.0.2.127")));
    CHECK_FALSE(net.contains(*InetAddr::parse("192.0.2.128")));
    CHECK_FALSE(net.contains(*InetAddr::parse("::ffff:192.0.2.1")));
    CHECK_FALSE(net.contains(InetAddr()));
    auto all4 = *CidrBlock::parse("0.0.0.0/0");
    CHECK(all4.contains(*InetAddr::parse("255.255.255.255")));
    CHECK_FALSE(all4.contains(*InetAddr::parse("::1")));
    auto v6 = *CidrBlock::parse("[2001:db8::]/33");
    CHECK(v6.contains(*InetAddr::parse("2001:DB8:7fff::5")));
    CHECK_FALSE(v6.contains(*InetAddr::parse("2001:db8:8000::")));
    CHECK(CidrBlock(*InetAddr::parse("10.1.2.3"), 8).to_string() == "10.0.0.0/8");
    CHECK(CidrBlock(*InetAddr::parse("10.1.2.3"), 99).prefix() == 32);
}

TEST_CASE("IPv4 text is inet_ntop's dotted quad, for every octet value in every position", "[inet_addr]") {
    for (int v = 0; v < 256; ++v) {
        const auto b = static_cast<std::uint8_t>(v);
        for (const std::array<std::uint8_t, 4>& bytes : {std::array<std::uint8_t, 4>{b, 0, 0, 0}, {1, b, 2, 3},
                                                        {255, 255, b, 9}, {10, 0, 100, b}, {b, b, b, b}}) {
            char expected[INET_ADDRSTRLEN];
            REQUIRE(::inet_ntop(AF_INET, bytes.data(), expected, sizeof(expected)) != nullptr);
            const psm::InetAddr a = psm::InetAddr::v4(bytes);
            CHECK(a.text().view() == expected);
            CHECK(a.to_string() == expected);
        }
    }
    CHECK(psm::InetAddr().text().view().empty());
}
