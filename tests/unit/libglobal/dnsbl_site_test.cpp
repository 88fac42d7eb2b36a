// Tests for postscreen_dnsbl_sites parsing (stock wordings), ip_match filters and the DNSBL scorer.
#include "psm/global/dnsbl_site.hpp"
#include "psm/util/error.hpp"

#include "support/log_capture.hpp"

#include <catch2/catch.hpp>

using psm::DnsblFilter;
using psm::DnsblScorer;
using psm::DnsblSites;

namespace {

std::string filter_error(std::string_view pattern) {
    std::string why;
    auto f = DnsblFilter::parse(pattern, &why);
    return f ? "ok" : why;
}

std::string parse_error(std::string_view value) {
    try {
        DnsblSites::parse(value);
    } catch (const psm::ConfigError& e) {
        return e.what();
    }
    return "ok";
}

} // namespace

TEST_CASE("DNSBL sites keep distinct domains in order with all their entries", "[dnsbl_site]") {
    auto sites = DnsblSites::parse("zen.spamhaus.org=127.0.0.[2..11;15]*3, b.example*-2\n"
                                   " zen.spamhaus.org*+1,list.dnswl.org=127.0.[0..255].[1..3]*-2");
    REQUIRE(sites.domains().size() == 3);
    CHECK(sites.domains()[0].domain == "zen.spamhaus.org");
    CHECK(sites.domains()[1].domain == "b.example");
    CHECK(sites.domains()[2].domain == "list.dnswl.org");
    const auto* zen = sites.find("zen.spamhaus.org");
    REQUIRE(zen);
    REQUIRE(zen->entries.size() == 2);
    CHECK(zen->entries[0].filter_text == "127.0.0.[2..11;15]");
    CHECK(zen->entries[0].weight == 3);
    CHECK(zen->entries[1].filter_text.empty());
    CHECK_FALSE(zen->entries[1].filter);
    CHECK(zen->entries[1].weight == 1);
    CHECK(sites.find("b.example")->entries[0].weight == -2);
    CHECK(sites.find("ZEN.spamhaus.org") == nullptr);
    CHECK(DnsblSites::parse("").empty());
    CHECK(DnsblSites::parse(" , ").empty());
}

TEST_CASE("DNSBL filters match as ip_match does", "[dnsbl_site]") {
    auto f = *DnsblFilter::parse("127.0.0.[2..11;15]");
    CHECK(f.matches("127.0.0.2"));
    CHECK(f.matches("127.0.0.11"));
    CHECK(f.matches("127.0.0.15"));
    CHECK_FALSE(f.matches("127.0.0.12"));
    CHECK_FALSE(f.matches("127.0.0.1"));
    CHECK_FALSE(f.matches("127.0.1.2"));
    CHECK_FALSE(f.matches("127.0.0.2x"));
    CHECK_FALSE(f.matches("::1"));
    CHECK(f.matches(std::array<std::uint8_t, 4>{127, 0, 0, 3}));
    auto g = *DnsblFilter::parse("127.[0..255].[0;1].[1..3;7..8]");
    CHECK(g.matches("127.200.1.8"));
    CHECK_FALSE(g.matches("127.200.2.8"));
    CHECK_FALSE(g.matches("127.200.1.4"));
}

TEST_CASE("DNSBL filter syntax errors use ip_match's wording and context", "[dnsbl_site]") {
    CHECK(filter_error("127.0.0.2") == "ok");
    CHECK(filter_error("127.0.0") == "need \".\" at \"127.0.0><\"");
    CHECK(filter_error("127.0.0.1.2") == "garbage after pattern at \"127.0.0.1>.<2\"");
    CHECK(filter_error("127.0.0.256") == "need decimal number 0..255 or \"[\" at \"127.0.0.>256<\"");
    CHECK(filter_error("127.0.0.[3..2]") == "numeric range error at \"127.0.0.[3..>2<]\"");
    CHECK(filter_error("127.0.0.[3.2]") == "numeric range error at \"127.0.0.[3.>2<]\"");
    CHECK(filter_error("127.0.0.[1,2]") == "need \";\" or \"]\" at \"127.0.0.[1>,<2]\"");
    CHECK(filter_error("127.0.0.[x]") == "need decimal number 0..255 at \"127.0.0.[>x<]\"");
    CHECK(filter_error("127.0.0.[]") == "need decimal number 0..255 at \"127.0.0.[>]<\"");
    CHECK(filter_error("127.0.0.-1") == "need decimal number 0..255 or \"[\" at \"127.0.0.>-<1\"");
    CHECK(filter_error("") == "empty address pattern");
    // Brackets around the whole pattern (checked with stock postscreen).
    CHECK(filter_error("[127.0.0.2]") == "ok");
    CHECK(DnsblFilter::parse("[127.0.0.[2;4]]")->matches("127.0.0.4"));
    CHECK(filter_error("[127.0.0.2") == "missing \"]\" character");
    CHECK(filter_error("[127.0.0.2]]") == "numeric range error at \"[127.>0<.0.2]]\"");
}

TEST_CASE("bad DNSBL sites are fatal with stock's wording", "[dnsbl_site]") {
    CHECK(parse_error("zen.spamhaus.org*x") == "bad DNSBL weight factor \"x\" in \"zen.spamhaus.org*x\"");
    CHECK(parse_error("zen.spamhaus.org*") == "bad DNSBL weight factor \"\" in \"zen.spamhaus.org*\"");
    CHECK(parse_error("x.example*1x") == "bad DNSBL weight factor \"1x\" in \"x.example*1x\"");
    CHECK(parse_error("zen.spamhaus.org=127.0.0.2*1x") ==
          "bad DNSBL weight factor \"1x\" in \"zen.spamhaus.org=127.0.0.2*1x\"");
    CHECK(parse_error("zen.spamhaus.org*2*3") == "bad DNSBL weight factor \"2*3\" in \"zen.spamhaus.org*2*3\"");
    // ',' separates list items, so the filter ends after "[1".
    CHECK(parse_error("zen.spamhaus.org=127.0.0.[1,2]") ==
          "bad DNSBL filter syntax: need \";\" or \"]\" at \"127.0.0.[1><\"");
    CHECK(parse_error("zen.spamhaus.org=") == "bad DNSBL filter syntax: empty address pattern");
    psm::test::LogCapture log;
    CHECK(parse_error("ok.example bad..example=127.0.0.2") ==
          "bad DNSBL domain name \"bad..example\" in \"bad..example=127.0.0.2\"");
    CHECK(parse_error("123.45") == "bad DNSBL domain name \"123.45\" in \"123.45\"");
    CHECK(parse_error("-a.example*2") == "bad DNSBL domain name \"-a.example\" in \"-a.example*2\"");
    CHECK(parse_error("a_b.example!") == "bad DNSBL domain name \"a_b.example!\" in \"a_b.example!\"");
    CHECK(parse_error("=127.0.0.2") == "bad DNSBL domain name \"\" in \"=127.0.0.2\"");
    CHECK(log.lines() == std::vector<std::string>{
                             "warning: valid_hostname: misplaced delimiter: bad..example",
                             "warning: valid_hostname: numeric hostname: 123.45",
                             "warning: valid_hostname: misplaced hyphen: -a.example",
                             "warning: valid_hostname: invalid character 33(decimal): a_b.example!",
                             "warning: valid_hostname: empty hostname",
                         });
}

TEST_CASE("the scorer adds weights, reports the largest contributor and tracks TTLs", "[dnsbl_site]") {
    auto sites = DnsblSites::parse("zen.example=127.0.0.[2..11]*3 zen.example "
                                   "dnswl.example=127.0.[0..255].[1..3]*-2 other.example");
    DnsblScorer score(sites);
    CHECK(score.reported_domain().empty());
    CHECK(score.ttl(60, 3600) == 60);
    REQUIRE(score.add_reply("zen.example", "127.0.0.4", 300));
    CHECK(score.total() == 4);
    CHECK(score.reported_domain() == "zen.example");
    CHECK(score.reported_weight() == 3);
    CHECK(score.fail_ttl() == 300);
    CHECK(score.pass_ttl() == -1);
    REQUIRE(score.add_reply("dnswl.example", "127.0.10.2", 100));
    CHECK(score.total() == 2);
    CHECK(score.reported_weight() == 3);
    CHECK(score.pass_ttl() == 100);
    REQUIRE(score.add_reply("other.example", "", 50));
    CHECK(score.total() == 2);
    CHECK(score.pass_ttl() == 50);
    CHECK(score.ttl(60, 3600) == 300);
    CHECK(score.ttl(60, 200) == 200);
    CHECK(score.ttl(400, 3600) == 400);
    CHECK_FALSE(score.add_reply("unknown.example", "127.0.0.2", 10));
    CHECK(score.total() == 2);
}

TEST_CASE("scorer details: filters, ties, negative first match, TTL quirk", "[dnsbl_site]") {
    auto sites = DnsblSites::parse("a.example b.example c.example=127.0.0.2 wl.example*-5");
    SECTION("filter must match some address; non-IPv4 replies are skipped") {
        DnsblScorer score(sites);
        score.add_reply("c.example", "127.0.0.3 bogus", 10);
        CHECK(score.total() == 0);
        CHECK(score.fail_ttl() == 10); // TTL bookkeeping regardless of the filter
        score.add_reply("c.example", "bogus 127.0.0.2", 20);
        CHECK(score.total() == 1);
        CHECK(score.fail_ttl() == 10);
    }
    SECTION("equal weights: the first reply to arrive is reported") {
        DnsblScorer score(sites);
        score.add_reply("b.example", "127.0.0.2", 10);
        score.add_reply("a.example", "127.0.0.2", 10);
        CHECK(score.reported_domain() == "b.example");
        CHECK(score.total() == 2);
    }
    SECTION("a negative weight is reported when it matches first") {
        DnsblScorer score(sites);
        score.add_reply("wl.example", "127.0.0.2", 900);
        CHECK(score.reported_domain() == "wl.example");
        CHECK(score.reported_weight() == -5);
        CHECK(score.total() == -5);
        CHECK(score.pass_ttl() == 900);
        score.add_reply("a.example", "127.0.0.2", 10);
        CHECK(score.reported_domain() == "a.example");
        CHECK(score.total() == -4);
        CHECK(score.ttl(60, 3600) == 900); // total <= 0: pass_ttl
    }
    SECTION("an unknown TTL resets a known one (3.7)") {
        DnsblScorer score(sites);
        score.add_reply("a.example", "", 300);
        CHECK(score.pass_ttl() == 300);
        score.add_reply("b.example", "", -1);
        CHECK(score.pass_ttl() == -1);
        CHECK(score.ttl(60, 3600) == 60);
        score.add_reply("wl.example", "", 100); // not listed, weight <= 0: fail_ttl
        CHECK(score.fail_ttl() == 100);
    }
}

TEST_CASE("127.255.255.0/24 replies count as not listed only when asked", "[dnsbl_site]") {
    auto sites = DnsblSites::parse("a.example");
    DnsblScorer stock(sites);
    stock.add_reply("a.example", "127.255.255.254", 30);
    CHECK(stock.total() == 1);
    CHECK(stock.fail_ttl() == 30);
    DnsblScorer::Options options;
    options.ignore_127_255_255 = true;
    DnsblScorer ours(sites, options);
    ours.add_reply("a.example", "127.255.255.254", 30);
    CHECK(ours.total() == 0);
    CHECK(ours.pass_ttl() == 30);
    CHECK(ours.fail_ttl() == -1);
    ours.add_reply("a.example", "127.255.255.1 127.0.0.2", 40);
    CHECK(ours.total() == 1);
    CHECK(ours.fail_ttl() == 40);
}
