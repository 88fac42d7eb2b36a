// Tests for DNSBL lookups (cache, shared queries, queue and overload,
// classification with stock's error texts, CNAME chains) and the list
// health check (disabling and re-enabling lists).
#include "dnsbl_lookups.hpp"

#include "fake_dns.hpp"
#include "support/log_capture.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace psm::dnsblog;
using namespace std::chrono_literals;
using psm::InetAddr;
using psm::test::DnsQuery;
using psm::test::DnsResponse;
using psm::test::FakeDns;

namespace {

ResolverConfig config_for(const FakeDns& dns, int attempts = 1) {
    ResolverConfig c;
    c.servers = {dns.endpoint()};
    c.timeout = 1;
    c.attempts = attempts;
    return c;
}

// A zone: names listed with their A records; everything else NXDOMAIN
// with an SOA of TTL 40.
struct Zone {
    std::map<std::string, std::vector<std::string>> listed;
    int ttl = 300;
    std::vector<DnsResponse> operator()(const DnsQuery& q) const {
        auto it = listed.find(q.name);
        if (it != listed.end()) return {{psm::test::answer_a(q, it->second, ttl)}};
        return {{psm::test::answer_rcode(q, kRcodeNxDomain, {psm::test::soa_record("bl.test", 40)})}};
    }
};

InetAddr addr(const char* text) {
    return *InetAddr::parse(text);
}

struct Collected {
    std::vector<LookupResult> results;
    DnsblLookups::Callback add() {
        return [this](const LookupResult& r) { results.push_back(r); };
    }
};

} // namespace

TEST_CASE("lookups: listed, not listed, cache hits without new queries") {
    boost::asio::io_context io;
    FakeDns dns(io);
    Zone zone;
    zone.listed["1.2.0.192.bl.test"] = {"127.0.0.2", "127.0.0.4"};
    dns.on_query(zone);
    DnsClient client(io, config_for(dns));
    DnsblLookups lookups(io, client, nullptr, LookupOptions());
    Collected c;
    lookups.lookup("bl.test", addr("192.0.2.1"), c.add());
    lookups.lookup("bl.test", addr("192.0.2.2"), c.add());
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 2; }));
    CHECK(c.results[0].status == LookupResult::Status::listed);
    CHECK(c.results[0].listing_text() == "127.0.0.2 127.0.0.4");
    CHECK(c.results[0].ttl == 300);
    CHECK(c.results[0].query == "1.2.0.192.bl.test");
    CHECK(c.results[1].status == LookupResult::Status::not_listed);
    CHECK(c.results[1].ttl == 40);
    CHECK(dns.queries() == 2);

    lookups.lookup("bl.test", addr("192.0.2.1"), c.add());
    lookups.lookup("bl.test", addr("192.0.2.2"), c.add());
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 4; }));
    CHECK(dns.queries() == 2); // both from the cache
    CHECK(c.results[2].cached);
    CHECK(c.results[2].listing_text() == "127.0.0.2 127.0.0.4");
    CHECK(c.results[3].status == LookupResult::Status::not_listed);
    CHECK(lookups.cache().hits() == 2);
}

TEST_CASE("lookups: identical lookups in flight share one query - IPv6 nibbles") {
    boost::asio::io_context io;
    FakeDns dns(io);
    dns.on_query([](const DnsQuery& q) {
        return std::vector<DnsResponse>{{psm::test::answer_a(q, {"127.0.0.2"}), 100ms}};
    });
    DnsClient client(io, config_for(dns));
    DnsblLookups lookups(io, client, nullptr, LookupOptions());
    Collected c;
    for (int i = 0; i < 5; ++i)
        lookups.lookup("bl.test", addr("2001:db8::1"), c.add());
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 5; }));
    CHECK(dns.queries() == 1);
    CHECK(dns.log().at(0).name == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test");
    for (const auto& r : c.results)
        CHECK(r.status == LookupResult::Status::listed);
}

TEST_CASE("lookups: failures carry stock's resolver texts and are not cached") {
    psm::test::LogCapture log;
    boost::asio::io_context io;
    FakeDns dns(io);
    dns.on_query([](const DnsQuery& q) {
        if (q.name.starts_with("1.")) return std::vector<DnsResponse>{{psm::test::answer_rcode(q, kRcodeServFail)}};
        if (q.name.starts_with("2.")) return std::vector<DnsResponse>{{psm::test::answer_rcode(q, kRcodeRefused)}};
        if (q.name.starts_with("3.")) return std::vector<DnsResponse>{{psm::test::answer_rcode(q, kRcodeFormErr)}};
        if (q.name.starts_with("4.")) return std::vector<DnsResponse>{{psm::test::answer_a(q, {"127.255.255.254"})}};
        return std::vector<DnsResponse>{};
    });
    DnsClient client(io, config_for(dns));
    DnsblLookups lookups(io, client, nullptr, LookupOptions());
    Collected c;
    for (const char* a : {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"})
        lookups.lookup("bl.test", addr(a), c.add());
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 5; }, 10s));
    std::map<std::string, const LookupResult*> by;
    for (const auto& r : c.results)
        by[r.query] = &r;
    CHECK(by["1.0.0.10.bl.test"]->reason == "servfail");
    CHECK(by["1.0.0.10.bl.test"]->why == "Host or domain name not found. Name service error for "
                                         "name=1.0.0.10.bl.test type=A: Host not found, try again");
    CHECK(by["2.0.0.10.bl.test"]->reason == "refused");
    CHECK(by["3.0.0.10.bl.test"]->reason == "error");
    CHECK(by["3.0.0.10.bl.test"]->why == "Host or domain name not found. Name service error for "
                                         "name=3.0.0.10.bl.test type=A: Non-recoverable error");
    CHECK(by["4.0.0.10.bl.test"]->status == LookupResult::Status::failed);
    CHECK(by["4.0.0.10.bl.test"]->reason == "blocked");
    CHECK(by["4.0.0.10.bl.test"]->listing_text().empty());
    CHECK(by["4.0.0.10.bl.test"]->addresses_text() == "127.255.255.254");
    CHECK(by["5.0.0.10.bl.test"]->reason == "timeout");
    for (const auto& r : c.results)
        CHECK(r.status == LookupResult::Status::failed);
    CHECK(lookups.cache().size() == 0);
}

TEST_CASE("lookups: CNAME chains are followed - other records are no listing") {
    boost::asio::io_context io;
    FakeDns dns(io);
    dns.on_query([](const DnsQuery& q) {
        if (q.name == "1.0.0.10.bl.test")
            return std::vector<DnsResponse>{{build_answer(q.wire, 0, {q.name + ". 60 IN CNAME target.other.test."})}};
        if (q.name == "target.other.test") return std::vector<DnsResponse>{{psm::test::answer_a(q, {"127.0.0.5"}, 20)}};
        if (q.name == "3.0.0.10.bl.test")
            return std::vector<DnsResponse>{{build_answer(q.wire, 0, {q.name + ". 60 IN CNAME hop.other.test."})}};
        if (q.name == "hop.other.test")
            return std::vector<DnsResponse>{{build_answer(q.wire, 0, {q.name + ". 60 IN CNAME dead.other.test."})}};
        if (q.name == "dead.other.test") return std::vector<DnsResponse>{{psm::test::answer_rcode(q, kRcodeServFail)}};
        return std::vector<DnsResponse>{{build_answer(q.wire, 0, {q.name + ". 60 IN TXT \"x\""})}};
    });
    DnsClient client(io, config_for(dns));
    DnsblLookups lookups(io, client, nullptr, LookupOptions());
    Collected c;
    lookups.lookup("bl.test", addr("10.0.0.1"), c.add());
    lookups.lookup("bl.test", addr("10.0.0.2"), c.add());
    lookups.lookup("bl.test", addr("10.0.0.3"), c.add());
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 3; }));
    std::map<std::string, const LookupResult*> by;
    for (const auto& r : c.results)
        by[r.query] = &r;
    CHECK(by["1.0.0.10.bl.test"]->listing_text() == "127.0.0.5");
    CHECK(by["1.0.0.10.bl.test"]->ttl == 20);
    CHECK(by["2.0.0.10.bl.test"]->status == LookupResult::Status::not_listed);
    CHECK(by["2.0.0.10.bl.test"]->ttl == -1); // stock: records, but none usable: no TTL
    // A failure along the chain: the result has the name first asked, the
    // resolver's text the name that failed.
    REQUIRE(by.contains("3.0.0.10.bl.test"));
    CHECK(by["3.0.0.10.bl.test"]->status == LookupResult::Status::failed);
    CHECK(by["3.0.0.10.bl.test"]->reason == "servfail");
    CHECK(by["3.0.0.10.bl.test"]->why == psm::dnsblog::try_again_text("dead.other.test"));
    CHECK(lookups.active() == 0);
}

TEST_CASE("lookups: bounded concurrency, a bounded queue, then overload") {
    psm::test::LogCapture log;
    boost::asio::io_context io;
    FakeDns dns(io);
    int max_seen = 0;
    dns.on_query([&](const DnsQuery& q) {
        max_seen = std::max(max_seen, dns.queries());
        return std::vector<DnsResponse>{{psm::test::answer_rcode(q, kRcodeNxDomain), 50ms}};
    });
    DnsClient client(io, config_for(dns));
    LookupOptions options;
    options.concurrency = 3;
    options.queue_limit = 4;
    DnsblLookups lookups(io, client, nullptr, options);
    Collected c;
    CHECK(lookups.can_accept(7));
    for (int i = 1; i <= 8; ++i)
        lookups.lookup("bl.test", addr(("10.0.0." + std::to_string(i)).c_str()), c.add());
    CHECK(lookups.active() == 3);
    CHECK(lookups.waiting() == 4);
    CHECK_FALSE(lookups.can_accept(1));
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 8; }));
    int overloads = 0;
    for (const auto& r : c.results)
        overloads += r.status == LookupResult::Status::overload;
    CHECK(overloads == 1);
    CHECK(dns.queries() == 7);
    CHECK(lookups.overloads() == 1);
    auto lines = log.lines();
    bool queued = false, full = false;
    for (const auto& l : lines) {
        queued = queued || l.find("warning: dnsblog: 3 DNS queries in flight (dnsblog_query_concurrency): "
                                  "lookups are queued (1 waiting)") != std::string::npos;
        full = full || l.find("warning: dnsblog: lookup queue full (dnsblog_queue_limit = 4, 3 DNS queries in "
                              "flight): reporting overload for 8.0.0.10.bl.test") != std::string::npos;
    }
    CHECK(queued);
    CHECK(full);
}

TEST_CASE("lookups: queued lookups nobody waits for are dropped") {
    boost::asio::io_context io;
    FakeDns dns(io);
    dns.on_query([](const DnsQuery& q) {
        return std::vector<DnsResponse>{{psm::test::answer_rcode(q, kRcodeNxDomain), 30ms}};
    });
    DnsClient client(io, config_for(dns));
    LookupOptions options;
    options.concurrency = 1;
    DnsblLookups lookups(io, client, nullptr, options);
    Collected c;
    auto owner = std::make_shared<int>(0);
    lookups.lookup("bl.test", addr("10.0.0.1"), c.add(), owner);
    lookups.lookup("bl.test", addr("10.0.0.2"), c.add(), owner);
    lookups.lookup("bl.test", addr("10.0.0.3"), c.add());
    owner.reset();
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 1; }));
    psm::test::run_for(io, 100ms);
    CHECK(c.results.size() == 1);
    CHECK(c.results[0].query == "3.0.0.10.bl.test");
    CHECK(dns.queries() == 2); // the first was already running; the second was dropped
}

TEST_CASE("health: a list that lists everything is disabled, and enabled again when healthy") {
    psm::test::LogCapture log;
    boost::asio::io_context io;
    FakeDns dns(io);
    bool everything = true;
    dns.on_query([&](const DnsQuery& q) {
        if (everything || q.name.starts_with("2.0.0.127."))
            return std::vector<DnsResponse>{{psm::test::answer_a(q, {"127.0.0.2"})}};
        return std::vector<DnsResponse>{{psm::test::answer_rcode(q, kRcodeNxDomain)}};
    });
    DnsClient client(io, config_for(dns));
    ListHealth health(io, client, 1);
    DnsblLookups lookups(io, client, &health, LookupOptions());
    Collected c;
    // The first lookup runs beside the first check and waits for its verdict.
    lookups.lookup("all.test", addr("10.0.0.1"), c.add());
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 1; }));
    CHECK(c.results[0].status == LookupResult::Status::disabled);
    CHECK(health.disabled("all.test"));
    auto lines = log.lines();
    REQUIRE_FALSE(lines.empty());
    CHECK(lines.back() == "warning: dnsblog: disabling DNSBL domain all.test: it lists the test address 127.0.0.1 "
                          "(as 127.0.0.2) -- lookups report it as disabled until it is healthy again");
    const int queries = dns.queries();
    lookups.lookup("all.test", addr("10.0.0.2"), c.add());
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 2; }));
    CHECK(c.results[1].status == LookupResult::Status::disabled);
    CHECK(dns.queries() == queries); // no query for a disabled list

    everything = false; // the next check (1 s) finds it healthy
    REQUIRE(psm::test::run_until(io, [&] { return !health.disabled("all.test"); }, 5s));
    CHECK(log.lines().back() == "dnsblog: DNSBL domain all.test is healthy again -- enabled");
    lookups.lookup("all.test", addr("10.0.0.3"), c.add());
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 3; }));
    CHECK(c.results[2].status == LookupResult::Status::not_listed);
}

TEST_CASE("health: 127.255.255.x answers disable a list at once") {
    psm::test::LogCapture log;
    boost::asio::io_context io;
    FakeDns dns(io);
    bool refusing = false;
    dns.on_query([&](const DnsQuery& q) {
        if (refusing) return std::vector<DnsResponse>{{psm::test::answer_a(q, {"127.255.255.254"})}};
        if (q.name.starts_with("2.0.0.127."))
            return std::vector<DnsResponse>{{psm::test::answer_a(q, {"127.0.0.2"})}};
        return std::vector<DnsResponse>{{psm::test::answer_rcode(q, kRcodeNxDomain)}};
    });
    DnsClient client(io, config_for(dns));
    ListHealth health(io, client, 3600);
    DnsblLookups lookups(io, client, &health, LookupOptions());
    Collected c;
    lookups.lookup("spam.test", addr("10.0.0.1"), c.add());
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 1; }));
    CHECK(c.results[0].status == LookupResult::Status::not_listed);
    CHECK_FALSE(health.disabled("spam.test"));
    refusing = true; // e.g. the list now refuses our resolver
    lookups.lookup("spam.test", addr("10.0.0.2"), c.add());
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 2; }));
    CHECK(c.results[1].status == LookupResult::Status::disabled);
    CHECK(health.disabled("spam.test"));
    CHECK(log.lines().back() ==
          "warning: dnsblog: disabling DNSBL domain spam.test: query refused (reply 127.255.255.254 for "
          "2.0.0.10.spam.test) -- lookups report it as disabled until it is healthy again");
}

TEST_CASE("health: a list without the 127.0.0.2 test entry only gets a warning") {
    psm::test::LogCapture log;
    boost::asio::io_context io;
    FakeDns dns(io);
    dns.on_query([](const DnsQuery& q) {
        return std::vector<DnsResponse>{{psm::test::answer_rcode(q, kRcodeNxDomain)}};
    });
    DnsClient client(io, config_for(dns));
    ListHealth health(io, client, 3600);
    DnsblLookups lookups(io, client, &health, LookupOptions());
    Collected c;
    lookups.lookup("quiet.test", addr("10.0.0.1"), c.add());
    REQUIRE(psm::test::run_until(io, [&] { return c.results.size() == 1; }));
    CHECK(c.results[0].status == LookupResult::Status::not_listed);
    CHECK_FALSE(health.disabled("quiet.test"));
    auto lines = log.lines();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "warning: dnsblog: DNSBL domain quiet.test does not list the test address 127.0.0.2");
}
