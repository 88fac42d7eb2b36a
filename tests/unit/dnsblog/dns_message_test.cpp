// Tests for DNS query building and answer validation/digesting.
#include "dns_message.hpp"

#include "fake_dns.hpp"

#include <catch2/catch.hpp>

using namespace psm::dnsblog;
using psm::test::DnsQuery;

namespace {

DnsQuery query_for(std::uint16_t id, const std::string& name, std::uint16_t type = kTypeA) {
    DnsQuery q;
    auto wire = build_query(id, name, type);
    REQUIRE(psm::test::FakeDns::parse(wire.data(), wire.size(), q));
    return q;
}

} // namespace

TEST_CASE("dns message: the query is a plain recursive question without EDNS") {
    auto wire = build_query(0x1234, "2.0.0.127.Bl.Example", kTypeA);
    REQUIRE(wire.size() == 12 + 22 + 4);
    CHECK(wire[0] == 0x12);
    CHECK(wire[1] == 0x34);
    CHECK(wire[2] == 0x01); // RD only
    CHECK(wire[3] == 0x00);
    CHECK(wire[5] == 1);                  // one question
    CHECK((wire[10] | wire[11]) == 0);    // no additional records (no OPT)
    CHECK(message_id(wire) == 0x1234);
    CHECK(build_query(1, "a..b", kTypeA).empty());
}

TEST_CASE("dns message: answers must match id and question") {
    auto q = query_for(77, "2.0.0.127.bl.example");
    auto good = answer_a(q, {"127.0.0.2", "127.0.0.4"}, 300);
    DnsAnswer a;
    REQUIRE(parse_answer(good, 77, "2.0.0.127.BL.example.", kTypeA, a) == AnswerCheck::ok);
    CHECK(a.rcode == 0);
    REQUIRE(a.a.size() == 2);
    CHECK(a.a[0] == std::array<std::uint8_t, 4>{127, 0, 0, 2});
    CHECK(a.a[1] == std::array<std::uint8_t, 4>{127, 0, 0, 4});
    CHECK(a.ttl == 300);
    CHECK(parse_answer(good, 78, "2.0.0.127.bl.example", kTypeA, a) == AnswerCheck::wrong_id);
    CHECK(parse_answer(good, 77, "3.0.0.127.bl.example", kTypeA, a) == AnswerCheck::wrong_question);
    CHECK(parse_answer(good, 77, "2.0.0.127.bl.example", kTypeTxt, a) == AnswerCheck::wrong_question);
    // The query itself (QR clear) is no answer; nor is garbage or a stub.
    CHECK(parse_answer(q.wire, 77, "2.0.0.127.bl.example", kTypeA, a) == AnswerCheck::not_a_response);
    std::vector<std::uint8_t> garbage(40, 0xff);
    CHECK(parse_answer(garbage, 0xffff, "2.0.0.127.bl.example", kTypeA, a) == AnswerCheck::not_a_response);
    CHECK(parse_answer(std::vector<std::uint8_t>(good.begin(), good.begin() + 5), 77, "x", kTypeA, a) ==
          AnswerCheck::not_a_response);
}

TEST_CASE("dns message: records of other names, CNAME chains, SOA TTL") {
    auto q = query_for(1, "2.0.0.127.bl.example");
    auto chained = build_answer(q.wire, 0,
                                {"2.0.0.127.bl.example. 60 IN CNAME x.other.example.",
                                 "x.other.example. 30 IN A 127.0.0.3", "unrelated.example. 10 IN A 127.0.0.9"});
    DnsAnswer a;
    REQUIRE(parse_answer(chained, 1, "2.0.0.127.bl.example", kTypeA, a) == AnswerCheck::ok);
    REQUIRE(a.a.size() == 1);
    CHECK(a.a[0] == std::array<std::uint8_t, 4>{127, 0, 0, 3});
    CHECK(a.ttl == 30);
    CHECK(a.cname_target.empty());

    auto dangling = build_answer(q.wire, 0, {"2.0.0.127.bl.example. 60 IN CNAME x.other.example."});
    REQUIRE(parse_answer(dangling, 1, "2.0.0.127.bl.example", kTypeA, a) == AnswerCheck::ok);
    CHECK(a.a.empty());
    CHECK(a.cname_target == "x.other.example");

    auto nx = answer_rcode(q, kRcodeNxDomain, {psm::test::soa_record("bl.example", 40, 900)});
    REQUIRE(parse_answer(nx, 1, "2.0.0.127.bl.example", kTypeA, a) == AnswerCheck::ok);
    CHECK(a.rcode == kRcodeNxDomain);
    CHECK(a.soa_ttl == 40); // the SOA record's own TTL, as stock 3.7 reports it
    CHECK_FALSE(a.has_answers);

    auto txt = query_for(2, "2.0.0.127.bl.example", kTypeTxt);
    auto t = build_answer(txt.wire, 0, {"2.0.0.127.bl.example. 60 IN TXT \"listed\" \" see url\""});
    REQUIRE(parse_answer(t, 2, "2.0.0.127.bl.example", kTypeTxt, a) == AnswerCheck::ok);
    REQUIRE(a.txt.size() == 1);
    CHECK(a.txt[0] == "listed see url");
}

TEST_CASE("dns message: a truncated or corrupt answer to our question") {
    auto q = query_for(9, "2.0.0.127.bl.example");
    auto tc = build_answer(q.wire, 0, {}, {}, true);
    DnsAnswer a;
    REQUIRE(parse_answer(tc, 9, "2.0.0.127.bl.example", kTypeA, a) == AnswerCheck::ok);
    CHECK(a.truncated);
    auto good = answer_a(q, {"127.0.0.2"});
    auto cut = std::vector<std::uint8_t>(good.begin(), good.end() - 3); // record data cut short
    REQUIRE(parse_answer(cut, 9, "2.0.0.127.bl.example", kTypeA, a) == AnswerCheck::ok);
    CHECK(a.malformed);
}

TEST_CASE("dns message: valid_query_name follows Postfix's valid_hostname") {
    CHECK(valid_query_name("2.0.0.127.zen.spamhaus.org"));
    CHECK(valid_query_name("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl_x.example"));
    CHECK_FALSE(valid_query_name(""));
    CHECK_FALSE(valid_query_name("1.2.3.4"));
    CHECK_FALSE(valid_query_name("a..b"));
    CHECK_FALSE(valid_query_name("a.b."));
    CHECK_FALSE(valid_query_name("a.-b"));
    CHECK_FALSE(valid_query_name("a.b-"));
    CHECK_FALSE(valid_query_name("a b.c"));
    CHECK_FALSE(valid_query_name(std::string(64, 'a') + ".b"));
    std::string long_name;
    for (int i = 0; i < 5; ++i)
        long_name += std::string(60, 'a') + ".";
    CHECK_FALSE(valid_query_name(long_name + "bb")); // more than 255 bytes
}
