// Tests for the Boost.Asio attribute-list helpers (async read with deadline, async write).
#include "psm/global/attr_asio.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>

#include <optional>

using namespace std::chrono_literals;
using namespace std::string_literals;
namespace asio = boost::asio;
using Socket = asio::local::stream_protocol::socket;
namespace attr = psm::attr;

TEST_CASE("async write then async read of one list, rest preserved", "[attr_asio]") {
    asio::io_context io;
    Socket a(io), b(io);
    asio::local::connect_pair(a, b);
    psm::AttrList list{attr::send_str("protocol", "tlsproxy_protocol")};

    std::optional<boost::system::error_code> wrote;
    psm::async_attr_write(a, list, 5s, [&](boost::system::error_code ec) {
        wrote = ec;
        asio::write(a, asio::buffer("status\0"s + "1\0\0"s + "tail"));
    });
    std::optional<psm::AttrReadResult> first, second;
    psm::async_attr_read(b, "private/tlsproxy", 5s, [&](psm::AttrReadResult r) {
        first = std::move(r);
        psm::AttrReadOptions more;
        more.pending = first->rest;
        psm::async_attr_read(
            b, "private/tlsproxy", 5s, [&](psm::AttrReadResult r2) { second = std::move(r2); }, more);
    });
    io.run_for(5s);
    REQUIRE(wrote);
    CHECK_FALSE(*wrote);
    REQUIRE(first);
    REQUIRE(*first);
    CHECK(first->attrs == list);
    REQUIRE(second);
    REQUIRE(*second);
    CHECK(second->attrs == psm::AttrList{attr::send_str("status", "1")});
    CHECK(second->rest.find("tail") != std::string::npos);
}

TEST_CASE("async read: the deadline gives timed_out with Postfix's wording", "[attr_asio]") {
    asio::io_context io;
    Socket a(io), b(io);
    asio::local::connect_pair(a, b);
    asio::write(a, asio::buffer("rbl_domain\0"s));
    std::optional<psm::AttrReadResult> got;
    auto start = std::chrono::steady_clock::now();
    psm::async_attr_read(b, "private/dnsblog", 100ms, [&](psm::AttrReadResult r) { got = std::move(r); });
    io.run_for(5s);
    REQUIRE(got);
    CHECK(got->error == asio::error::timed_out);
    CHECK(got->warning == "timeout on private/dnsblog while reading input attribute value");
    CHECK(std::chrono::steady_clock::now() - start < 2s);
    CHECK(b.is_open()); // the socket stays usable for the caller to close
}

TEST_CASE("async read: EOF, limits, nothing at all", "[attr_asio]") {
    asio::io_context io;
    SECTION("EOF mid-list") {
        Socket a(io), b(io);
        asio::local::connect_pair(a, b);
        asio::write(a, asio::buffer("label\0"s + "0"));
        a.close();
        std::optional<psm::AttrReadResult> got;
        psm::async_attr_read(b, "private/dnsblog", 5s, [&](psm::AttrReadResult r) { got = std::move(r); });
        io.run_for(5s);
        REQUIRE(got);
        CHECK(got->error == asio::error::eof);
        CHECK(got->warning == "unexpected end-of-input from private/dnsblog while reading input attribute value");
    }
    SECTION("EOF before any byte") {
        Socket a(io), b(io);
        asio::local::connect_pair(a, b);
        a.close();
        std::optional<psm::AttrReadResult> got;
        psm::async_attr_read(b, "private/dnsblog", 5s, [&](psm::AttrReadResult r) { got = std::move(r); });
        io.run_for(5s);
        REQUIRE(got);
        CHECK(got->error == asio::error::eof);
        CHECK_FALSE(got->started);
    }
    SECTION("oversize string from a hostile peer") {
        Socket a(io), b(io);
        asio::local::connect_pair(a, b);
        psm::AttrReadOptions options;
        options.limits.max_string = 100;
        std::optional<psm::AttrReadResult> got;
        psm::async_attr_read(
            b, "S", 5s, [&](psm::AttrReadResult r) { got = std::move(r); }, options);
        std::string junk(1000, 'x');
        asio::write(a, asio::buffer(junk));
        io.run_for(5s);
        REQUIRE(got);
        CHECK(got->error == asio::error::message_size);
        CHECK(got->warning == "string length > 100 characters from S while reading input attribute name");
    }
}
