// Tests for DNS query building and answer validation/digesting.
// Standard headers first: ldns's headers (through fake_dns.hpp too) define
// `bool`, `true` and `false` as macros, which <optional> cannot follow.
#include <optional>
#include <random>

#include "dns_message.hpp"

#include "fake_dns.hpp"

#include <catch2/catch.hpp>
#include <ldns/ldns.h> // the reference for names on the wire

using namespace psm::dnsblog;
using psm::test::DnsQuery;

namespace {

DnsQuery query_for(std::uint16_t id, const std::string& name, std::uint16_t type = kTypeA) {
    DnsQuery q;
    auto wire = build_query(id, name, type);
    REQUIRE(psm::test::FakeDns::parse(wire.data(), wire.size(), q));
    return q;
}

// The wire form ldns makes of a presentation-format name, the reference
// that the hand-written encoder must match.
std::optional<std::vector<std::uint8_t>> ldns_wire_name(const std::string& name) {
    ldns_rdf* rdf = ldns_dname_new_frm_str(name.c_str());
    if (!rdf) return std::nullopt;
    std::vector<std::uint8_t> out(ldns_rdf_data(rdf), ldns_rdf_data(rdf) + ldns_rdf_size(rdf));
    ldns_rdf_deep_free(rdf);
    return out;
}

std::optional<std::vector<std::uint8_t>> our_wire_name(const std::string& name) {
    std::vector<std::uint8_t> out{0xaa}; // something before: it must stay as it is
    const bool ok = append_wire_name(out, name);
    REQUIRE(out.front() == 0xaa);
    if (!ok) {
        CHECK(out.size() == 1);
        return std::nullopt;
    }
    return std::vector<std::uint8_t>(out.begin() + 1, out.end());
}

} // namespace

TEST_CASE("dns message: names are written to the wire as ldns writes them") {
    const std::string label63(63, 'x');
    const std::string label64(64, 'x');
    // 4 labels of 63 octets and one of 1 is 4*64 + 2 + 1 = 259 octets: too long;
    // three of 63 and one of 61 is exactly 255.
    const std::string at_limit = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'y');
    const std::string over_limit = label63 + "." + label63 + "." + label63 + "." + std::string(62, 'y');
    const std::vector<std::string> names = {
        "2.0.0.127.bl.example", "2.0.0.127.Bl.Example.", ".", "a", "a.", "A.b.C", "xn--bcher-kva.example",
        "a\\.b.c", "a\\065b.c", "a\\000.c", "a\\255.c", "a\\256.c", "a\\1", "a\\12", "a\\12x.c", "a\\",
        "a\\\\.b", "a..b", ".a", "..", "", "a...", label63 + ".x", label64 + ".x", label63, label64,
        at_limit, at_limit + ".", over_limit, over_limit + ".", std::string(254, 'z'), "a b.c", "a\\ b.c",
        "under_score.example", "-.example", "\\..", "\\.",
    };
    for (const auto& name : names) {
        INFO("name: " << name);
        CHECK(our_wire_name(name) == ldns_wire_name(name));
    }
    CHECK(our_wire_name(at_limit).value().size() == 255);
    CHECK_FALSE(our_wire_name(over_limit));
    CHECK_FALSE(our_wire_name(label64));
    CHECK_FALSE(our_wire_name(std::string("a\0b", 3))); // an embedded NUL ends no name

    // Random names from an alphabet rich in dots, escapes and digits.
    std::mt19937 random(20261206);
    const std::string alphabet = "ab.\\\\0129.-";
    for (int n = 0; n < 20000; ++n) {
        std::string name;
        const int length = static_cast<int>(random() % 24) + (n % 50 == 0 ? 240 : 0);
        for (int i = 0; i < length; ++i)
            name += alphabet[random() % alphabet.size()];
        INFO("name: " << name);
        REQUIRE(our_wire_name(name) == ldns_wire_name(name));
    }
    // Long labels near both limits, some with escapes inside.
    for (int n = 0; n < 2000; ++n) {
        std::string name;
        const int labels = static_cast<int>(random() % 6) + 1;
        for (int l = 0; l < labels; ++l) {
            if (l > 0) name += '.';
            const int length = static_cast<int>(random() % 70);
            for (int i = 0; i < length; ++i)
                name += random() % 16 == 0 ? std::string("\\046") : std::string(1, 'q');
        }
        if (random() % 2) name += '.';
        INFO("name: " << name);
        REQUIRE(our_wire_name(name) == ldns_wire_name(name));
    }
}

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
