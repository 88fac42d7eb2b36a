// The request postscreen sends to tlsproxy on STARTTLS (starttls.hpp),
// byte for byte as stock 3.7 (protocols.md §4.1, observed 82 bytes).
#include "starttls.hpp"

#include <catch2/catch.hpp>

#include <string>

using psm::postscreen::tlsproxy_request;

TEST_CASE("starttls: the tlsproxy request as stock 3.7", "[starttls]") {
    // Literal pieces are split after each \0 so that no digit extends an octal escape.
    const std::string expected("remote_endpoint\0"
                               "[127.0.0.1]:38174\0"
                               "flags\0"
                               "1\0"
                               "timeout\0"
                               "300\0"
                               "timeout\0"
                               "300\0"
                               "serverid\0"
                               "smtpd\0"
                               "\0",
                               82);
    CHECK(tlsproxy_request("[127.0.0.1]:38174", 300) == expected);
    CHECK(tlsproxy_request("[::1]:25", 10)
              .find(std::string("timeout\0"
                                "10\0timeout\0"
                                "10\0",
                                22)) != std::string::npos);
}
