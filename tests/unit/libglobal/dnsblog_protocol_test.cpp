// Tests for the weighted dnsblog protocol: exact bytes of a request and a
// reply, round trips through the attr0 decoder, and the decoders' errors.
#include "psm/global/attr.hpp"
#include "psm/global/dnsblog_protocol.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace std::string_literals;
namespace dnsblog = psm::dnsblog;

namespace {

psm::AttrList decode(const std::string& bytes) {
    psm::AttrDecoder d;
    REQUIRE(d.feed(bytes) == bytes.size());
    REQUIRE(d.status() == psm::AttrDecoder::Status::complete);
    return d.take();
}

} // namespace

TEST_CASE("dnsblog protocol: request bytes and round trip") {
    dnsblog::ScoreRequest r;
    r.label = "7";
    r.client_address = "192.0.2.1";
    r.sites = "zen.example=127.0.0.[2..11]*3, wl.example*-2";
    r.min_ttl = 60;
    r.max_ttl = 3600;
    r.deadline_ms = 5500;
    std::string bytes = psm::attr_encode(dnsblog::encode_request(r));
    CHECK(bytes == "request\0dnsbl_score\0label\0"
                   "7\0client_address\0"
                   "192.0.2.1\0sites\0zen.example=127.0.0.[2..11]*3, wl.example*-2\0"
                   "min_ttl\0"
                   "60\0max_ttl\0"
                   "3600\0deadline_ms\0"
                   "5500\0\0"s);
    auto list = decode(bytes);
    CHECK(dnsblog::is_score_request(list));
    std::string why;
    auto back = dnsblog::decode_request(list, &why);
    REQUIRE(back);
    CHECK(back->label == "7");
    CHECK(back->client_address == "192.0.2.1");
    CHECK(back->sites == r.sites);
    CHECK(back->min_ttl == 60);
    CHECK(back->max_ttl == 3600);
    CHECK(back->deadline_ms == 5500);

    dnsblog::ScoreRequest minimal;
    minimal.label = "a";
    minimal.client_address = "::1";
    auto m = dnsblog::decode_request(decode(psm::attr_encode(dnsblog::encode_request(minimal))));
    REQUIRE(m);
    CHECK_FALSE(m->sites);
    CHECK_FALSE(m->min_ttl);
    CHECK_FALSE(m->deadline_ms);
}

TEST_CASE("dnsblog protocol: request decoder errors") {
    auto req = [](std::initializer_list<std::pair<const char*, const char*>> attrs) {
        psm::AttrList l;
        for (auto& [n, v] : attrs)
            l.push_back(psm::attr::send_str(n, v));
        return l;
    };
    std::string why;
    CHECK_FALSE(dnsblog::decode_request(req({{"rbl_domain", "x"}}), &why));
    CHECK(why == "not a dnsbl_score request");
    CHECK_FALSE(dnsblog::decode_request(req({{"request", "dnsbl_score"}, {"label", "1"}}), &why));
    CHECK(why == "missing attribute: client_address");
    CHECK_FALSE(dnsblog::decode_request(
        req({{"request", "dnsbl_score"}, {"label", "1"}, {"client_address", "1.2.3.4"}, {"bogus", "1"}}), &why));
    CHECK(why == "unknown attribute: bogus");
    CHECK_FALSE(dnsblog::decode_request(
        req({{"request", "dnsbl_score"}, {"label", "1"}, {"label", "2"}, {"client_address", "1.2.3.4"}}), &why));
    CHECK(why == "duplicate attribute: label");
    CHECK_FALSE(dnsblog::decode_request(
        req({{"request", "dnsbl_score"}, {"label", "1"}, {"client_address", "1.2.3.4"}, {"min_ttl", "x"}}), &why));
    CHECK(why == "bad min_ttl value: x");
    CHECK_FALSE(dnsblog::decode_request(
        req({{"request", "dnsbl_score"}, {"label", "1"}, {"client_address", "1.2.3.4"}, {"deadline_ms", "0"}}), &why));
    CHECK(why == "bad deadline_ms value: 0");
    CHECK_FALSE(dnsblog::decode_request(
        req({{"request", "dnsbl_score"}, {"label", std::string(101, 'x').c_str()}, {"client_address", "1.2.3.4"}}),
        &why));
    CHECK(why == "label longer than 100 bytes");
    CHECK(dnsblog::request_label(req({{"request", "dnsbl_score"}, {"label", "42"}, {"bogus", "1"}})) == "42");
}

TEST_CASE("dnsblog protocol: reply bytes, negative numbers and site groups") {
    dnsblog::ScoreReply r;
    r.label = "7";
    r.client_address = "192.0.2.1";
    r.score = -2;
    r.ttl = 60;
    r.dnsbl_name = "";
    dnsblog::SiteResult a;
    a.domain = "bl.example";
    a.status = dnsblog::SiteStatus::listed;
    a.addresses = "127.0.0.2 127.0.0.4";
    a.ttl = 300;
    a.weight = 0;
    dnsblog::SiteResult b;
    b.domain = "wl.example";
    b.status = dnsblog::SiteStatus::listed;
    b.addresses = "127.0.10.2";
    b.ttl = 30;
    b.weight = -2;
    dnsblog::SiteResult c;
    c.domain = "dead.example";
    c.status = dnsblog::SiteStatus::failed;
    c.reason = "timeout";
    r.sites = {a, b, c};
    std::string bytes = psm::attr_encode(dnsblog::encode_reply(r));
    CHECK(bytes.starts_with("label\0"
                            "7\0status\0ok\0reason\0\0client_address\0"
                            "192.0.2.1\0score\0"
                            "4294967294\0ttl\0"
                            "60\0dnsbl_name\0\0{\0site\0bl.example\0status\0listed\0"s));
    CHECK(bytes.ends_with("{\0site\0dead.example\0status\0failed\0addresses\0\0ttl\0"
                          "4294967295\0weight\0"
                          "0\0reason\0timeout\0}\0\0"s));
    std::string why;
    auto back = dnsblog::decode_reply(decode(bytes), &why);
    REQUIRE(back);
    CHECK(back->label == "7");
    CHECK(back->status == dnsblog::ReplyStatus::ok);
    CHECK(back->score == -2);
    CHECK(back->ttl == 60);
    REQUIRE(back->sites.size() == 3);
    CHECK(back->sites[0].addresses == "127.0.0.2 127.0.0.4");
    CHECK(back->sites[1].weight == -2);
    CHECK(back->sites[2].ttl == -1);
    auto failed = back->failed();
    REQUIRE(failed.size() == 1);
    CHECK(failed[0]->domain == "dead.example");
    CHECK(failed[0]->reason == "timeout");
}

TEST_CASE("dnsblog protocol: reply decoder tolerates new attributes, rejects bad ones") {
    dnsblog::ScoreReply r;
    r.label = "x";
    r.status = dnsblog::ReplyStatus::overload;
    r.reason = "queue full";
    r.client_address = "10.0.0.1";
    auto list = dnsblog::encode_reply(r);
    list.insert(list.begin() + 2, psm::attr::send_str("future", "1"));
    std::string why;
    auto back = dnsblog::decode_reply(list, &why);
    REQUIRE(back);
    CHECK(back->status == dnsblog::ReplyStatus::overload);
    CHECK(back->reason == "queue full");

    auto bad = dnsblog::encode_reply(r);
    bad[1].value = "maybe";
    CHECK_FALSE(dnsblog::decode_reply(bad, &why));
    CHECK(why == "bad status value: maybe");
    bad = dnsblog::encode_reply(r);
    bad.erase(bad.begin() + 4); // score
    CHECK_FALSE(dnsblog::decode_reply(bad, &why));
    CHECK(why == "missing attribute: score");
    bad = dnsblog::encode_reply(r);
    bad.push_back(psm::attr::group_open());
    bad.push_back(psm::attr::send_str("site", "x"));
    CHECK_FALSE(dnsblog::decode_reply(bad, &why));
    CHECK(why == "unterminated site group");
}

TEST_CASE("dnsblog protocol: the byte encoders give attr_encode()'s bytes of the lists") {
    // Requests with and without the optional attributes; extreme integers.
    for (int variant = 0; variant < 4; ++variant) {
        dnsblog::ScoreRequest r;
        r.label = variant == 0 ? "" : std::to_string(variant * 1000003);
        r.client_address = variant % 2 ? "2001:db8::1" : "192.0.2.1";
        if (variant >= 1) r.sites = "a.example*2, b.example=127.0.0.3";
        if (variant >= 2) r.min_ttl = variant == 2 ? 0 : 2147483647;
        if (variant >= 3) r.max_ttl = -1, r.deadline_ms = -2147483647 - 1;
        std::string bytes = "prefix";
        dnsblog::encode_request(bytes, r);
        CHECK(bytes == "prefix" + psm::attr_encode(dnsblog::encode_request(r)));
    }
    // Replies: every status, no sites, and sites of every status.
    for (int variant = 0; variant < 6; ++variant) {
        dnsblog::ScoreReply r;
        r.label = std::to_string(variant);
        r.status = variant == 1 ? dnsblog::ReplyStatus::error
                   : variant == 2 ? dnsblog::ReplyStatus::overload
                                  : dnsblog::ReplyStatus::ok;
        r.reason = variant == 1 ? "bad client address: x" : "";
        r.client_address = "192.0.2.77";
        r.score = variant * 7 - 20;
        r.ttl = variant == 5 ? -1 : 60 * variant;
        r.dnsbl_name = variant >= 3 ? "bl.example" : "";
        for (int i = 0; i < variant - 2; ++i) {
            dnsblog::SiteResult s;
            s.domain = "site" + std::to_string(i) + ".example";
            s.status = static_cast<dnsblog::SiteStatus>(i % 4);
            s.addresses = i % 4 == 0 ? "127.0.0.2 127.0.0.4" : "";
            s.ttl = i % 2 ? -1 : 300;
            s.weight = i - 1;
            s.reason = i % 4 >= 2 ? "timeout" : "";
            r.sites.push_back(s);
        }
        std::string bytes;
        dnsblog::encode_reply(bytes, r);
        CHECK(bytes == psm::attr_encode(dnsblog::encode_reply(r)));
        std::string why;
        auto back = dnsblog::decode_reply(decode(bytes), &why);
        REQUIRE(back);
        CHECK(back->sites.size() == r.sites.size());
        CHECK(back->score == r.score);
    }
}

TEST_CASE("attr0 writer: the bytes of the list of the same items") {
    std::string bytes;
    psm::Attr0Writer w(bytes);
    w.str("a", "x");
    w.num("n", -1);
    w.num("m", 0);
    w.group_open();
    w.str("", "");
    w.num("big", 2147483647);
    w.group_close();
    w.end();
    CHECK(bytes == psm::attr_encode({psm::attr::send_str("a", "x"), psm::attr::send_int("n", -1),
                                     psm::attr::send_int("m", 0), psm::attr::group_open(),
                                     psm::attr::send_str("", ""), psm::attr::send_int("big", 2147483647),
                                     psm::attr::group_close()}));
    CHECK(bytes == "a\0x\0n\0004294967295\0m\0000\0{\0\0\0big\0002147483647\0}\0\0"s);
}

TEST_CASE("dnsblog protocol: the reply decoder reads Attr0Reader's views as it reads lists") {
    dnsblog::ScoreReply r;
    r.label = "12";
    r.client_address = "192.0.2.9";
    r.score = 3;
    r.ttl = 60;
    r.dnsbl_name = "bl.example";
    for (int i = 0; i < 3; ++i) {
        dnsblog::SiteResult s;
        s.domain = "s" + std::to_string(i) + ".example";
        s.status = static_cast<dnsblog::SiteStatus>(i);
        s.addresses = i == 0 ? "127.0.0.2" : "";
        s.ttl = 300;
        s.weight = i == 0 ? 3 : 0;
        s.reason = i == 2 ? "timeout" : "";
        r.sites.push_back(s);
    }
    const psm::AttrList good = dnsblog::encode_reply(r);
    // The reply, and variants of it: each item dropped, each value spoilt,
    // each item doubled, an unknown attribute in each place.
    std::vector<psm::AttrList> lists{good};
    for (std::size_t i = 0; i < good.size(); ++i) {
        auto dropped = good;
        dropped.erase(dropped.begin() + static_cast<long>(i));
        lists.push_back(dropped);
        auto spoilt = good;
        spoilt[i].value = "x";
        lists.push_back(spoilt);
        auto doubled = good;
        doubled.insert(doubled.begin() + static_cast<long>(i), good[i]);
        lists.push_back(doubled);
        auto extra = good;
        extra.insert(extra.begin() + static_cast<long>(i), psm::attr::send_str("future", "1"));
        lists.push_back(extra);
    }
    int compared = 0;
    for (const auto& list : lists) {
        psm::Attr0Reader reader;
        reader.append(psm::attr_encode(list));
        if (reader.status() != psm::AttrDecoder::Status::complete) continue; // unbalanced groups: no list
        std::string why_list = "unset", why_views = "unset";
        auto from_list = dnsblog::decode_reply(list, &why_list);
        auto from_views = dnsblog::decode_reply(reader.items(), &why_views);
        REQUIRE(from_list.has_value() == from_views.has_value());
        if (from_list) {
            std::string a, b;
            dnsblog::encode_reply(a, *from_list);
            dnsblog::encode_reply(b, *from_views);
            CHECK(a == b);
        } else {
            CHECK(why_list == why_views);
        }
        ++compared;
    }
    CHECK(compared > 3 * static_cast<int>(good.size()));
}
