// Tests for dnsblog's stub resolver against an in-process fake server:
// answers, spoofed and wrong answers ignored, retries and timeouts as glibc,
// SERVFAIL moving on, TCP after truncation, random ids and ports.
#include "dns_client.hpp"

#include "fake_dns.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace psm::dnsblog;
using namespace std::chrono_literals;
using psm::test::DnsQuery;
using psm::test::DnsResponse;
using psm::test::FakeDns;

namespace {

ResolverConfig config_for(std::vector<boost::asio::ip::udp::endpoint> servers, int timeout = 1, int attempts = 2) {
    ResolverConfig c;
    c.servers = std::move(servers);
    c.timeout = timeout;
    c.attempts = attempts;
    return c;
}

struct Outcome {
    bool done = false;
    DnsResult result;
};

DnsClient::Callback capture(Outcome& o) {
    return [&o](DnsResult&& r) {
        o.result = std::move(r);
        o.done = true;
    };
}

} // namespace

TEST_CASE("dns client: an answer comes back") {
    boost::asio::io_context io;
    FakeDns dns(io);
    dns.on_query(
        [](const DnsQuery& q) { return std::vector<DnsResponse>{{psm::test::answer_a(q, {"127.0.0.2"}, 77)}}; });
    DnsClient client(io, config_for({dns.endpoint()}));
    Outcome o;
    client.query("2.0.0.127.bl.test", kTypeA, capture(o));
    CHECK_FALSE(o.done); // never inside query()
    REQUIRE(psm::test::run_until(io, [&] { return o.done; }));
    CHECK(o.result.status == DnsResult::Status::answer);
    REQUIRE(o.result.answer.a.size() == 1);
    CHECK(o.result.answer.ttl == 77);
    CHECK(dns.queries() == 1);
    CHECK(client.in_flight() == 0);
}

TEST_CASE("dns client: spoofed, mismatched and garbage datagrams are ignored") {
    boost::asio::io_context io;
    FakeDns dns(io);
    dns.on_query([](const DnsQuery& q) {
        std::vector<DnsResponse> out;
        DnsQuery other = q;
        other.wire[0] ^= 0x55; // another id
        out.push_back({psm::test::answer_a(other, {"127.0.0.66"})});
        out.push_back({psm::test::answer_a(q, {"127.0.0.77"}), 0ms, true}); // right id, wrong source port
        DnsQuery renamed;
        auto wire = build_query(q.id, "9.9.9.9.bl.test", kTypeA);
        FakeDns::parse(wire.data(), wire.size(), renamed);
        out.push_back({psm::test::answer_a(renamed, {"127.0.0.88"})});                  // right id, other question
        out.push_back({std::vector<std::uint8_t>(q.wire.begin(), q.wire.begin() + 2)}); // a stub with the id
        out.push_back({std::vector<std::uint8_t>(100, 0xab)});
        out.push_back({psm::test::answer_a(q, {"127.0.0.2"}), 50ms}); // the real one, later
        return out;
    });
    DnsClient client(io, config_for({dns.endpoint()}));
    Outcome o;
    client.query("2.0.0.127.bl.test", kTypeA, capture(o));
    REQUIRE(psm::test::run_until(io, [&] { return o.done; }));
    REQUIRE(o.result.answer.a.size() == 1);
    CHECK(o.result.answer.a[0] == std::array<std::uint8_t, 4>{127, 0, 0, 2});
    CHECK(client.stats().ignored >= 4);
}

TEST_CASE("dns client: retries per attempts, then a timeout") {
    boost::asio::io_context io;
    FakeDns dns(io); // never answers
    DnsClient client(io, config_for({dns.endpoint()}, 1, 2));
    Outcome o;
    auto start = std::chrono::steady_clock::now();
    client.query("2.0.0.127.bl.test", kTypeA, capture(o));
    REQUIRE(psm::test::run_until(
        io, [&] { return o.done; }, 10s));
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(o.result.status == DnsResult::Status::timeout);
    CHECK(dns.queries() == 2); // attempts:2, one server
    CHECK(took >= 1900ms);
    CHECK(took < 4s);
    // The same id on each try, as res_send resends the same packet.
    REQUIRE(dns.log().size() == 2);
    CHECK(dns.log()[0].id == dns.log()[1].id);
}

TEST_CASE("dns client: SERVFAIL moves on to the next server - all SERVFAIL is reported") {
    boost::asio::io_context io;
    FakeDns bad(io), good(io);
    bad.on_query(
        [](const DnsQuery& q) { return std::vector<DnsResponse>{{psm::test::answer_rcode(q, kRcodeServFail)}}; });
    good.on_query([](const DnsQuery& q) { return std::vector<DnsResponse>{{psm::test::answer_a(q, {"127.0.0.2"})}}; });
    {
        DnsClient client(io, config_for({bad.endpoint(), good.endpoint()}, 5, 2));
        Outcome o;
        auto start = std::chrono::steady_clock::now();
        client.query("2.0.0.127.bl.test", kTypeA, capture(o));
        REQUIRE(psm::test::run_until(io, [&] { return o.done; }));
        CHECK(std::chrono::steady_clock::now() - start < 2s); // no waiting for a timeout
        CHECK(o.result.answer.rcode == kRcodeNoError);
        CHECK(o.result.answer.a.size() == 1);
        CHECK(bad.queries() == 1);
        CHECK(good.queries() == 1);
    }
    {
        DnsClient client(io, config_for({bad.endpoint()}, 5, 3));
        Outcome o;
        client.query("3.0.0.127.bl.test", kTypeA, capture(o));
        REQUIRE(psm::test::run_until(io, [&] { return o.done; }));
        CHECK(o.result.status == DnsResult::Status::answer);
        CHECK(o.result.answer.rcode == kRcodeServFail);
        CHECK(bad.queries() == 1 + 3); // one per attempt
    }
}

namespace {
// A loopback UDP port with nothing bound to it (bound, noted, closed).
boost::asio::ip::udp::endpoint closed_udp_port() {
    boost::asio::io_context io;
    boost::asio::ip::udp::socket s(io, boost::asio::ip::udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    return s.local_endpoint();
}
} // namespace

TEST_CASE("dns client: a server port nobody listens on fails at once, as the resolver's connected socket sees it") {
    boost::asio::io_context io;
    FakeDns good(io);
    good.on_query([](const DnsQuery& q) { return std::vector<DnsResponse>{{psm::test::answer_a(q, {"127.0.0.2"})}}; });
    const auto nobody = closed_udp_port();
    {
        // The ICMP port unreachable moves the query on to the next server
        // without waiting for the 5 s timeout.
        DnsClient client(io, config_for({nobody, good.endpoint()}, 5, 2));
        Outcome o;
        auto start = std::chrono::steady_clock::now();
        client.query("2.0.0.127.bl.test", kTypeA, capture(o));
        REQUIRE(psm::test::run_until(
            io, [&] { return o.done; }, 10s));
        CHECK(std::chrono::steady_clock::now() - start < 2s);
        CHECK(o.result.status == DnsResult::Status::answer);
        CHECK(o.result.answer.a.size() == 1);
        CHECK(client.stats().unreachable == 1);
        CHECK(client.stats().timeouts == 0);
    }
    {
        // Only that server: every attempt is refused, and the lookup fails
        // as a timeout does (the resolver's "try again"), long before one.
        DnsClient client(io, config_for({nobody}, 5, 3));
        Outcome o;
        auto start = std::chrono::steady_clock::now();
        client.query("3.0.0.127.bl.test", kTypeA, capture(o));
        REQUIRE(psm::test::run_until(
            io, [&] { return o.done; }, 20s));
        CHECK(std::chrono::steady_clock::now() - start < 2s);
        CHECK(o.result.status == DnsResult::Status::timeout);
        CHECK(client.stats().unreachable == 3);
        CHECK(client.in_flight() == 0);
    }
}

TEST_CASE("dns client: a late answer from an earlier server still counts - NXDOMAIN ends the query") {
    boost::asio::io_context io;
    FakeDns slow(io), silent(io);
    slow.on_query([](const DnsQuery& q) {
        return std::vector<DnsResponse>{{psm::test::answer_rcode(q, kRcodeNxDomain), 1300ms}};
    });
    DnsClient client(io, config_for({slow.endpoint(), silent.endpoint()}, 1, 1));
    Outcome o;
    client.query("2.0.0.127.bl.test", kTypeA, capture(o));
    REQUIRE(psm::test::run_until(
        io, [&] { return o.done; }, 10s));
    CHECK(o.result.status == DnsResult::Status::answer);
    CHECK(o.result.answer.rcode == kRcodeNxDomain);
    CHECK(silent.queries() == 1);
}

TEST_CASE("dns client: truncated answers are asked again over TCP") {
    boost::asio::io_context io;
    FakeDns dns(io);
    dns.on_query([](const DnsQuery& q) {
        if (!q.tcp) return std::vector<DnsResponse>{{psm::dnsblog::build_answer(q.wire, 0, {}, {}, true)}};
        return std::vector<DnsResponse>{{psm::test::answer_a(q, {"127.0.0.2", "127.0.0.3", "127.0.0.4"})}};
    });
    DnsClient client(io, config_for({dns.endpoint()}));
    Outcome o;
    client.query("2.0.0.127.bl.test", kTypeA, capture(o));
    REQUIRE(psm::test::run_until(io, [&] { return o.done; }));
    CHECK(o.result.answer.a.size() == 3);
    CHECK(dns.tcp_queries() == 1);
    CHECK(client.stats().tcp == 1);
}

TEST_CASE("dns client: random ids, several source ports, sockets replaced after use") {
    boost::asio::io_context io;
    FakeDns dns(io);
    dns.on_query(
        [](const DnsQuery& q) { return std::vector<DnsResponse>{{psm::test::answer_rcode(q, kRcodeNxDomain)}}; });
    DnsClient::Options options;
    options.sockets = 4;
    options.uses_per_socket = 10;
    DnsClient client(io, config_for({dns.endpoint()}), options);
    int done = 0;
    for (int i = 0; i < 200; ++i)
        client.query(std::to_string(i) + ".0.0.10.bl.test", kTypeA, [&](DnsResult&&) { ++done; });
    REQUIRE(psm::test::run_until(io, [&] { return done == 200; }));
    std::set<std::uint16_t> ids;
    std::set<unsigned short> ports;
    for (const auto& q : dns.log())
        ids.insert(q.id);
    for (const auto& s : dns.sources())
        ports.insert(s.port());
    CHECK(ids.size() > 190);   // random 16-bit ids rarely collide
    CHECK(ports.size() >= 15); // 200 queries / 10 uses per socket
    CHECK(client.stats().sockets >= 15);
}
