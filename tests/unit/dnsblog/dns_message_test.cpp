// Tests for DNS query building and answer validation/digesting.
// Standard headers first: ldns's headers (through fake_dns.hpp too) define
// `bool`, `true` and `false` as macros, which <optional> cannot follow.
#include <algorithm>
#include <cctype>
#include <climits>
#include <memory>
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

// dnsblog's former answer parser, built on ldns_wire2pkt: the reference the
// hand-written parse_answer() is compared with on mutated answers.
namespace reference {

struct PktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
constexpr std::size_t kHeaderSize = 12;
constexpr std::uint16_t kClassIn = 1;

std::uint16_t get16(std::span<const std::uint8_t> m, std::size_t at) {
    return static_cast<std::uint16_t>((m[at] << 8) | m[at + 1]);
}

std::string dname_text(const ldns_rdf* rdf) {
    std::string out;
    const std::uint8_t* data = ldns_rdf_data(rdf);
    std::size_t size = ldns_rdf_size(rdf);
    std::size_t pos = 0;
    while (pos < size && data[pos] != 0) {
        std::size_t len = data[pos++];
        if (pos + len > size) break;
        if (!out.empty()) out += '.';
        for (std::size_t i = 0; i < len; ++i)
            out += static_cast<char>(std::tolower(data[pos + i]));
        pos += len;
    }
    return out;
}

std::string lower_name(std::string_view name) {
    std::string out(name);
    if (!out.empty() && out.back() == '.') out.pop_back();
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

int ttl_of(const ldns_rr* rr) {
    std::uint32_t ttl = ldns_rr_ttl(rr);
    return ttl > static_cast<std::uint32_t>(INT_MAX) ? INT_MAX : static_cast<int>(ttl);
}

void lower(int& slot, int ttl) {
    if (slot < 0 || slot > ttl) slot = ttl;
}

AnswerCheck ldns_parse_answer(std::span<const std::uint8_t> message, std::uint16_t id, std::string_view name,
                              std::uint16_t type, DnsAnswer& out) {
    // Header and question by hand: a datagram that is not the answer to our
    // question is ignored (as the stub resolver does), whatever else it holds.
    if (message.size() < kHeaderSize || (message[2] & 0x80) == 0 || get16(message, 4) != 1)
        return AnswerCheck::not_a_response;
    if (get16(message, 0) != id) return AnswerCheck::wrong_id;
    ldns_rdf* qname_raw = nullptr;
    std::size_t pos = kHeaderSize;
    if (ldns_wire2dname(&qname_raw, message.data(), message.size(), &pos) != LDNS_STATUS_OK)
        return AnswerCheck::not_a_response;
    RdfPtr qname(qname_raw);
    if (pos + 4 > message.size()) return AnswerCheck::not_a_response;
    if (get16(message, pos) != type || get16(message, pos + 2) != kClassIn ||
        dname_text(qname.get()) != lower_name(name))
        return AnswerCheck::wrong_question;

    out = DnsAnswer();
    out.rcode = message[3] & 0x0f;
    out.truncated = (message[2] & 0x02) != 0;
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, message.data(), message.size()) != LDNS_STATUS_OK || raw == nullptr) {
        // A truncated answer may be cut anywhere; only its TC bit matters.
        out.malformed = !out.truncated;
        return AnswerCheck::ok;
    }
    PktPtr pkt(raw);

    const ldns_rr_list* answers = ldns_pkt_answer(pkt.get());
    const std::size_t count = answers ? ldns_rr_list_rr_count(answers) : 0;
    out.has_answers = count > 0;
    // The CNAME chain from the query name, within this answer.
    std::vector<std::string> chain{lower_name(name)};
    for (int hops = 0; hops < 10; ++hops) {
        bool extended = false;
        for (std::size_t i = 0; i < count && !extended; ++i) {
            const ldns_rr* rr = ldns_rr_list_rr(answers, i);
            if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME || ldns_rr_rd_count(rr) < 1) continue;
            if (dname_text(ldns_rr_owner(rr)) != chain.back()) continue;
            std::string target = dname_text(ldns_rr_rdf(rr, 0));
            if (std::find(chain.begin(), chain.end(), target) != chain.end()) break; // loop
            chain.push_back(std::move(target));
            extended = true;
        }
        if (!extended) break;
    }
    for (std::size_t i = 0; i < count; ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(answers, i);
        if (ldns_rr_get_type(rr) != static_cast<ldns_rr_type>(type) || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
            continue;
        if (std::find(chain.begin(), chain.end(), dname_text(ldns_rr_owner(rr))) == chain.end()) continue;
        if (type == kTypeA) {
            const ldns_rdf* rdf = ldns_rr_rd_count(rr) == 1 ? ldns_rr_rdf(rr, 0) : nullptr;
            if (!rdf || ldns_rdf_size(rdf) != 4) {
                out.malformed = true;
                continue;
            }
            std::array<std::uint8_t, 4> addr;
            std::copy_n(ldns_rdf_data(rdf), 4, addr.begin());
            out.a.push_back(addr);
        } else if (type == kTypeTxt) {
            std::string text;
            for (std::size_t f = 0; f < ldns_rr_rd_count(rr); ++f) {
                const ldns_rdf* rdf = ldns_rr_rdf(rr, f);
                const std::uint8_t* data = ldns_rdf_data(rdf);
                if (ldns_rdf_size(rdf) >= 1)
                    text.append(reinterpret_cast<const char*>(data + 1), ldns_rdf_size(rdf) - 1);
            }
            out.txt.push_back(std::move(text));
        }
        lower(out.ttl, ttl_of(rr));
    }
    if (out.a.empty() && out.txt.empty() && chain.size() > 1) out.cname_target = chain.back();

    const ldns_rr_list* authority = ldns_pkt_authority(pkt.get());
    const std::size_t auth_count = authority ? ldns_rr_list_rr_count(authority) : 0;
    for (std::size_t i = 0; i < auth_count; ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(authority, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) lower(out.soa_ttl, ttl_of(rr));
    }
    return AnswerCheck::ok;
}

} // namespace reference

std::string hex(const std::vector<std::uint8_t>& bytes) {
    std::string out;
    for (std::uint8_t b : bytes) {
        out += "0123456789abcdef"[b >> 4];
        out += "0123456789abcdef"[b & 15];
    }
    return out;
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
    // The name compares without case and without a final dot, and whole.
    auto upper = answer_a(query_for(77, "2.0.0.127.BL.EXAMPLE"), {"127.0.0.2"}, 300);
    CHECK(parse_answer(upper, 77, "2.0.0.127.bl.Example", kTypeA, a) == AnswerCheck::ok);
    CHECK(parse_answer(upper, 77, "2.0.0.127.bl.example.", kTypeA, a) == AnswerCheck::ok);
    CHECK(parse_answer(upper, 77, "2.0.0.127.bl.exampl", kTypeA, a) == AnswerCheck::wrong_question);
    CHECK(parse_answer(upper, 77, "2.0.0.127.bl.example.x", kTypeA, a) == AnswerCheck::wrong_question);
    CHECK(parse_answer(upper, 77, "2.0.0.127.bl.example..", kTypeA, a) == AnswerCheck::wrong_question);
    CHECK(parse_answer(upper, 77, "", kTypeA, a) == AnswerCheck::wrong_question);
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
    CHECK(valid_query_name("2.0.0.127.ZEN.Spamhaus.ORG"));
    CHECK(valid_query_name("a.b-c.d_e.z9"));
    CHECK_FALSE(valid_query_name("a.\xc4" "b.example")); // letters are ASCII letters only
    CHECK_FALSE(valid_query_name("a.b@c.example"));
    CHECK_FALSE(valid_query_name("a.b[c.example"));
    CHECK_FALSE(valid_query_name("a.b`c.example"));
    CHECK_FALSE(valid_query_name("a.b{c.example"));
    CHECK_FALSE(valid_query_name("a.b/c.example"));
    CHECK_FALSE(valid_query_name("a.b:c.example"));
    std::string long_name;
    for (int i = 0; i < 5; ++i)
        long_name += std::string(60, 'a') + ".";
    CHECK_FALSE(valid_query_name(long_name + "bb")); // more than 255 bytes
}

TEST_CASE("dns message: the parser digests answers as the ldns-based one did, mutated ones too") {
    using psm::test::soa_record;
    const std::string qname = "2.0.0.127.bl.example";
    struct Base {
        std::uint16_t type;
        int rcode;
        std::vector<std::string> answers, authority;
    };
    const std::vector<Base> bases = {
        {kTypeA, 0, {qname + ". 300 IN A 127.0.0.2", qname + ". 200 IN A 127.0.0.4"}, {}},
        {kTypeA, 0,
         {qname + ". 60 IN CNAME x.other.example.", "x.other.example. 30 IN A 127.0.0.3",
          "unrelated.example. 10 IN A 127.0.0.9"},
         {"bl.example. 3600 IN NS ns1.bl.example."}},
        {kTypeA, 0, {qname + ". 60 IN CNAME x.other.example."}, {}},
        {kTypeA, kRcodeNxDomain, {}, {soa_record("bl.example", 40, 900)}},
        {kTypeA, 0, {}, {soa_record("bl.example", 50, 900)}},
        {kTypeTxt, 0, {qname + ". 60 IN TXT \"listed\" \" see url\"", qname + ". 30 IN TXT \"\""}, {}},
        {kTypeA, 0, {qname + ". 60 IN MX 10 mx.Bl.Example.", qname + ". 70 IN A 127.0.0.10"}, {}},
    };
    std::mt19937 random(6122026);
    std::size_t compared = 0, ok_both = 0, clean_both = 0, opaque = 0, stricter = 0;
    for (const Base& base : bases) {
        const std::uint16_t id = 4242;
        const auto query = build_query(id, qname, base.type);
        const auto answer = build_answer(query, base.rcode, base.answers, base.authority);
        REQUIRE_FALSE(answer.empty());
        for (int n = 0; n < 3000; ++n) {
            std::vector<std::uint8_t> m = answer;
            switch (n % 4) {
            case 0: // a few bytes changed, past the header's id
                for (int k = 0; k < 1 + n % 3; ++k)
                    m[2 + random() % (m.size() - 2)] = static_cast<std::uint8_t>(random());
                break;
            case 1: // cut short
                m.resize(random() % m.size());
                break;
            case 2: // one byte set to a compression pointer's first octet or a label length
                m[12 + random() % (m.size() - 12)] = static_cast<std::uint8_t>(random() % 2 ? 0xc0 : random() % 64);
                break;
            default: // bytes appended
                for (int k = 0; k < 1 + n % 7; ++k)
                    m.push_back(static_cast<std::uint8_t>(random()));
                break;
            }
            if (n < 4) m = answer; // and the answer itself
            DnsAnswer ours, theirs;
            const AnswerCheck our_check = parse_answer(m, id, qname, base.type, ours);
            const AnswerCheck their_check = reference::ldns_parse_answer(m, id, qname, base.type, theirs);
            INFO("base " << (&base - bases.data()) << ", mutation " << n << ": " << hex(m));
            ++compared;
            REQUIRE(our_check == their_check);
            if (our_check != AnswerCheck::ok) continue;
            ++ok_both;
            REQUIRE(ours.rcode == theirs.rcode);
            REQUIRE(ours.truncated == theirs.truncated);
            // Where a changed byte makes them differ: only the data of the
            // types dnsblog reads (and of those with names in them) is
            // checked, as Postfix's resolver code skips other records, where
            // ldns parses the data of every type it knows ("opaque"). And
            // this parser holds a record's data to its length field and
            // refuses a pointer into the header, where ldns reads fixed-size
            // data (an A record's 4 octets, a TXT string) past or short of
            // the length field and follows such pointers ("stricter").
            // Cutting the message short or appending to it must agree.
            if (n % 4 == 1 || n % 4 == 3) REQUIRE(ours.malformed == theirs.malformed);
            if (ours.malformed != theirs.malformed) ++(ours.malformed ? stricter : opaque);
            if (ours.malformed || theirs.malformed) continue;
            ++clean_both;
            CHECK(ours.has_answers == theirs.has_answers);
            CHECK(ours.a == theirs.a);
            CHECK(ours.txt == theirs.txt);
            CHECK(ours.ttl == theirs.ttl);
            CHECK(ours.soa_ttl == theirs.soa_ttl);
            CHECK(ours.cname_target == theirs.cname_target);
        }
    }
    // The mutations reach every outcome, not only the early rejections.
    CHECK(ok_both > compared / 4);
    CHECK(clean_both > compared / 10);
    CHECK(opaque < compared / 20);
    CHECK(stricter < compared / 20);
}

TEST_CASE("dns message: record data is held to its length, and names cannot loop") {
    const std::string qname = "2.0.0.127.bl.example";
    const auto query = build_query(7, qname, kTypeA);
    const auto answer = build_answer(query, 0, {qname + ". 300 IN A 127.0.0.2"});
    REQUIRE(answer.size() == query.size() + 16);
    DnsAnswer a;
    REQUIRE(parse_answer(answer, 7, qname, kTypeA, a) == AnswerCheck::ok);
    REQUIRE_FALSE(a.malformed);
    // The record: name pointer (2), type, class, ttl (8), length (2), data (4).
    const std::size_t record = query.size();
    REQUIRE(answer[record] == 0xc0);

    auto longer = answer; // an A record of 5 octets
    longer[record + 11] = 5;
    longer.push_back(0);
    REQUIRE(parse_answer(longer, 7, qname, kTypeA, a) == AnswerCheck::ok);
    CHECK(a.malformed);
    CHECK(a.a.empty());

    auto looping = answer; // the owner points at itself
    looping[record + 1] = static_cast<std::uint8_t>(record);
    REQUIRE(parse_answer(looping, 7, qname, kTypeA, a) == AnswerCheck::ok);
    CHECK(a.malformed);

    auto into_header = answer; // the owner points into the header
    into_header[record + 1] = 4;
    REQUIRE(parse_answer(into_header, 7, qname, kTypeA, a) == AnswerCheck::ok);
    CHECK(a.malformed);

    auto question_loop = answer; // the question's name ends in a pointer to itself
    question_loop[12 + 21] = 0xc0;
    question_loop.insert(question_loop.begin() + 12 + 22, 12);
    CHECK(parse_answer(question_loop, 7, qname, kTypeA, a) == AnswerCheck::not_a_response);

    const auto txt_query = build_query(8, qname, kTypeTxt);
    auto txt = build_answer(txt_query, 0, {qname + ". 60 IN TXT \"listed\""});
    REQUIRE(parse_answer(txt, 8, qname, kTypeTxt, a) == AnswerCheck::ok);
    REQUIRE(a.txt == std::vector<std::string>{"listed"});
    txt[txt_query.size() + 12] = 9; // the string claims more than the record holds
    REQUIRE(parse_answer(txt, 8, qname, kTypeTxt, a) == AnswerCheck::ok);
    CHECK(a.malformed);
    CHECK(a.txt.empty());
}
