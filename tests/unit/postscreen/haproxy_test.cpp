// Tests for the HAProxy PROXY v1/v2 header parser: good headers of both
// versions, address normalisation, inet_protocols gating, and every error
// reason with stock 3.7's text.
#include "haproxy.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

using psm::postscreen::kProxyPeekLimit;
using psm::postscreen::parse_proxy_header;
using psm::postscreen::proxy_warning;
using psm::postscreen::ProxyResult;
using Status = ProxyResult::Status;

namespace {

std::string error_of(std::string_view data, bool v4 = true, bool v6 = true) {
    ProxyResult r = parse_proxy_header(data, v4, v6);
    CHECK(r.status == Status::error);
    return r.error_text;
}

std::string v2_header(unsigned char ver_cmd, unsigned char family, const std::vector<unsigned char>& body) {
    std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
    h += static_cast<char>(ver_cmd);
    h += static_cast<char>(family);
    h += static_cast<char>(body.size() >> 8);
    h += static_cast<char>(body.size() & 0xff);
    h.append(body.begin(), body.end());
    return h;
}

std::vector<unsigned char> v4_body(const std::vector<unsigned char>& extra = {}) {
    // Appended one by one: GCC 12 at -O2 warns wrongly (-Warray-bounds) about
    // vector::insert here, which breaks an optimised build of the tests.
    static constexpr unsigned char kAddresses[] = {198, 51, 100, 7, 192, 0, 2, 1, 0x30, 0x39, 0, 25};
    std::vector<unsigned char> b(std::begin(kAddresses), std::end(kAddresses));
    b.reserve(b.size() + extra.size());
    for (unsigned char c : extra)
        b.push_back(c);
    return b;
}

std::vector<unsigned char> v6_body(bool mapped = false) {
    std::vector<unsigned char> b(36, 0);
    if (mapped) {
        b[10] = b[11] = 0xff;
        b[12] = 10, b[13] = 1, b[14] = 2, b[15] = 3;
    } else {
        b[0] = 0x20, b[1] = 0x01, b[2] = 0x0d, b[3] = 0xb8, b[15] = 7;
    }
    b[16] = 0x20, b[17] = 0x01, b[18] = 0x0d, b[19] = 0xb8, b[31] = 1;
    b[32] = 0xff, b[33] = 0xff, b[34] = 0, b[35] = 25;
    return b;
}

} // namespace

TEST_CASE("haproxy: v1 headers", "[haproxy]") {
    std::string data = "PROXY TCP4 198.51.100.7 127.0.0.1 12345 25\r\nEHLO x\r\n";
    ProxyResult r = parse_proxy_header(data, true, true);
    REQUIRE(r.status == Status::ok);
    CHECK(r.consumed == data.find("EHLO"));
    CHECK(r.ep.client_addr == "198.51.100.7");
    CHECK(r.ep.client_port == "12345");
    CHECK(r.ep.server_addr == "127.0.0.1");
    CHECK(r.ep.server_port == "25");

    // Bare LF, case-insensitive protocol, extra fields ignored, CR separates.
    r = parse_proxy_header("PROXY tcp4 1.2.3.4\r4.3.2.1 0 65535 junk\n", true, false);
    REQUIRE(r.ok());
    CHECK(r.ep.server_addr == "4.3.2.1");
    CHECK(r.ep.client_port == "0");
    CHECK(r.consumed == 40);

    // Normalisation: leading zeros (inet_aton: octal), IPv6 forms.
    r = parse_proxy_header("PROXY TCP4 01.02.03.04 010.0.0.1 1 2\n", true, true);
    REQUIRE(r.ok());
    CHECK(r.ep.client_addr == "1.2.3.4");
    CHECK(r.ep.server_addr == "8.0.0.1");
    r = parse_proxy_header("PROXY TCP6 FC:00:00:00:1:2:3:4 ::FFFF:1.2.3.4 123 321\r\n", true, true);
    REQUIRE(r.ok());
    CHECK(r.ep.client_addr == "fc::1:2:3:4");
    CHECK(r.ep.server_addr == "1.2.3.4");
    r = parse_proxy_header("PROXY TCP6 ::ffff:1.2.3.4 2001:db8::1 123 321\r\n", false, true);
    REQUIRE(r.ok());
    CHECK(r.ep.client_addr == "::ffff:1.2.3.4"); // IPv4 disabled: kept
}

TEST_CASE("haproxy: v1 errors in stock's order", "[haproxy]") {
    CHECK(error_of("PROXY TCP4 1.2.3.4 4.3.2.1 1 2") == "missing protocol header terminator");
    CHECK(error_of(std::string("PROXY TCP4 1.2.3.4 4.3.2.1 1 2\0\n", 33)) == "missing protocol header terminator");
    CHECK(error_of("PROXY UNKNOWN\r\n") == "bad or missing protocol type");
    CHECK(error_of("PROXY \r\n") == "bad or missing protocol type");
    CHECK(error_of("PROXY TCP6 ::1 ::1 1 2\r\n", true, false) == "bad or missing protocol type");
    CHECK(error_of("PROXY TCP4 1.2.3.4 4.3.2.1 1 2\r\n", false, true) == "bad or missing protocol type");
    CHECK(error_of("PROXY TCP4\r\n") == "bad or missing client address");
    CHECK(error_of("PROXY TCP4 ::ffff:1.2.3.4 4.3.2.1 1 2\r\n") == "bad or missing client address");
    CHECK(error_of("PROXY TCP4 1.2.3 4.3.2.1 1 2\r\n") == "bad or missing client address");
    CHECK(error_of("PROXY TCP4 256.1.1.1 4.3.2.1 1 2\r\n") == "bad or missing client address");
    CHECK(error_of("PROXY TCP4 0.1.2.3 4.3.2.1 1 2\r\n") == "bad or missing client address");
    CHECK(error_of("PROXY TCP4 09.1.2.3 4.3.2.1 1 2\r\n") == "bad or missing client address"); // not octal
    CHECK(error_of("PROXY TCP6 1.2.3.4 ::1 1 2\r\n") == "bad or missing client address");
    CHECK(error_of("PROXY TCP6 12345::1 ::1 1 2\r\n") == "bad or missing client address");
    CHECK(error_of("PROXY TCP6 1::2::3 ::1 1 2\r\n") == "bad or missing client address");
    CHECK(error_of("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n") == "bad or missing client address");
    CHECK(error_of("PROXY TCP4 1.2.3.4\r\n") == "bad or missing server address");
    CHECK(error_of("PROXY TCP4 1.2.3.4 4.3.2.1.0 1 2\r\n") == "bad or missing server address");
    CHECK(error_of("PROXY TCP6 fc:00:00:00:1:2:3:4 4.3.2.1 123 321\r\n") == "bad or missing server address");
    CHECK(error_of("PROXY TCP4 1.2.3.4 4.3.2.1\r\n") == "bad or missing client port");
    CHECK(error_of("PROXY TCP4 1.2.3.4 4.3.2.1 0123 321\r\n") == "bad or missing client port");
    CHECK(error_of("PROXY TCP4 1.2.3.4 4.3.2.1 65536 321\r\n") == "bad or missing client port");
    CHECK(error_of("PROXY TCP4 1.2.3.4 4.3.2.1 123456 321\r\n") == "bad or missing client port");
    CHECK(error_of("PROXY TCP4 1.2.3.4 4.3.2.1 -1 321\r\n") == "bad or missing client port");
    CHECK(error_of("PROXY TCP4 1.2.3.4 4.3.2.1 123\r\n") == "bad or missing server port");
    CHECK(error_of("PROXY TCP4 1.2.3.4 4.3.2.1 123 0321\r\n") == "bad or missing server port");
    // The line must end within one peek.
    std::string longer = "PROXY TCP4 1.2.3.4 4.3.2.1 1 2" + std::string(kProxyPeekLimit, ' ') + "\r\n";
    CHECK(error_of(longer) == "missing protocol header terminator");
}

TEST_CASE("haproxy: v2 headers", "[haproxy]") {
    std::string h = v2_header(0x21, 0x11, v4_body({0x01, 0x00, 0x02, 'h', '2'})) + "EHLO x\r\n";
    ProxyResult r = parse_proxy_header(h, true, true);
    REQUIRE(r.status == Status::ok);
    CHECK(r.consumed == 16 + 17); // TLVs skipped
    CHECK(r.ep.client_addr == "198.51.100.7");
    CHECK(r.ep.client_port == "12345");
    CHECK(r.ep.server_addr == "192.0.2.1");
    CHECK(r.ep.server_port == "25");

    r = parse_proxy_header(v2_header(0x21, 0x21, v6_body()), true, true);
    REQUIRE(r.ok());
    CHECK(r.ep.client_addr == "2001:db8::7");
    CHECK(r.ep.server_addr == "2001:db8::1");
    CHECK(r.ep.client_port == "65535");
    r = parse_proxy_header(v2_header(0x21, 0x21, v6_body(true)), true, true);
    REQUIRE(r.ok());
    CHECK(r.ep.client_addr == "10.1.2.3");
    r = parse_proxy_header(v2_header(0x21, 0x21, v6_body(true)), false, true);
    REQUIRE(r.ok());
    CHECK(r.ep.client_addr == "::ffff:10.1.2.3");

    // LOCAL (health check): the socket's endpoints, whatever the family.
    r = parse_proxy_header(v2_header(0x20, 0x00, {}) + "QUIT\r\n", true, true);
    REQUIRE(r.status == Status::local);
    CHECK(r.consumed == 16);
    CHECK(r.ep.client_addr.empty());
    r = parse_proxy_header(v2_header(0x20, 0x11, v4_body()), false, false);
    CHECK(r.status == Status::local);
    CHECK(r.consumed == 28);
}

TEST_CASE("haproxy: v2 errors", "[haproxy]") {
    CHECK(error_of("EHLO foo\r\n") == "short protocol header");
    CHECK(error_of("") == "short protocol header");
    CHECK(error_of("GET / HTTP/1.0\r\nHost: x\r\n\r\n") == "unrecognized protocol header");
    CHECK(error_of(v2_header(0x11, 0x11, v4_body())) == "unrecognized protocol version");
    std::string cut = v2_header(0x21, 0x11, v4_body());
    cut.pop_back();
    CHECK(error_of(cut) == "short version 2 protocol header");
    CHECK(error_of(v2_header(0x21, 0x11, v4_body()), false, true) == "Postfix IPv4 support is disabled");
    CHECK(error_of(v2_header(0x21, 0x21, v6_body()), true, false) == "Postfix IPv6 support is disabled");
    CHECK(error_of(v2_header(0x21, 0x11, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})) == "short address field");
    CHECK(error_of(v2_header(0x21, 0x21, v4_body())) == "short address field");
    CHECK(error_of(v2_header(0x21, 0x12, v4_body())) == "unsupported network protocol"); // UDP
    CHECK(error_of(v2_header(0x21, 0x31, std::vector<unsigned char>(216))) == "unsupported network protocol");
    CHECK(error_of(v2_header(0x21, 0x00, {})) == "unsupported network protocol");
    CHECK(error_of(v2_header(0x22, 0x11, v4_body())) == "bad command in proxy header");
    // A length beyond the peek limit can never be satisfied.
    std::string big = v2_header(0x21, 0x11, std::vector<unsigned char>(kProxyPeekLimit));
    CHECK(error_of(big) == "short version 2 protocol header");
}

TEST_CASE("haproxy: the warning shows every peeked byte escaped", "[haproxy]") {
    std::string data("EHLO\tx\r\n\001\377", 10);
    ProxyResult r = parse_proxy_header(data, true, true);
    CHECK(proxy_warning(r, data) == "haproxy read: short protocol header: EHLO\\tx\\r\\n\\001\\377");
    std::string v1 = "PROXY TCP5 a b\r\n";
    CHECK(proxy_warning(parse_proxy_header(v1, true, true), v1) ==
          "haproxy read: bad or missing protocol type: PROXY TCP5 a b\\r\\n");
    CHECK(psm::postscreen::kProxyTimeoutWarning == "haproxy read: time limit exceeded");
    CHECK(psm::postscreen::kProxyEofWarning == "haproxy read: EOF");
}
