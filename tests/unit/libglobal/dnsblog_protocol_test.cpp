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
