// Tests for the attribute protocol: encodings, the byte sequences observed with stock Postfix, scanning.
#include "psm/global/attr.hpp"
#include "psm/global/attr_io.hpp"
#include "psm/util/unique_fd.hpp"

#include <boost/asio/error.hpp>

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace std::string_literals;
using psm::Attr;
using psm::AttrDecoder;
using psm::AttrEncoding;
using psm::AttrList;
namespace attr = psm::attr;

namespace {

// Decodes exactly one list from bytes, feeding one byte at a time to exercise
// the incremental path; returns the list and checks nothing is left over.
AttrList decode_all(std::string_view bytes, AttrEncoding enc = AttrEncoding::attr0) {
    AttrDecoder d(enc);
    std::size_t used = 0;
    while (used < bytes.size() && d.status() == AttrDecoder::Status::need_more)
        used += d.feed(bytes.substr(used, 1));
    REQUIRE(d.status() == AttrDecoder::Status::complete);
    CHECK(used == bytes.size());
    return d.take();
}

AttrDecoder decode_error(std::string_view bytes, AttrEncoding enc = AttrEncoding::attr0, psm::AttrLimits limits = {}) {
    AttrDecoder d(enc, limits);
    d.feed(bytes);
    if (d.status() == AttrDecoder::Status::need_more) d.finish();
    return d;
}

// The dnsblog request/reply and pass hand-off lists as stock sends them.
const std::string kDnsblogRequest = "rbl_domain\0zen.spamhaus.org\0client_address\000127.0.0.1\0label\0000\0\0"s;
const std::string kDnsblogReply = "rbl_domain\0zen.spamhaus.org\0client_address\000127.0.0.1\0label\0000\0"
                                  "rbl_addr\0\0ttl\0004294967295\0\0"s;
const std::string kPassAttrs =
    "client_address\000127.0.0.1\0client_port\00043104\0server_address\000127.0.0.1\0server_port\00041025\0\0"s;
const std::string kTlsproxyRequest =
    "remote_endpoint\0[127.0.0.1]:38174\0flags\0001\0timeout\000300\0timeout\000300\0serverid\0smtpd\0\0"s;
const std::string kTlsproxyAnnouncement = "protocol\0tlsproxy_protocol\0\0"s;

} // namespace

TEST_CASE("status=1 in the three encodings (protocols.md 1.4)", "[attr]") {
    AttrList list{attr::send_int("status", 1)};
    CHECK(psm::attr_encode(list, AttrEncoding::attr0) == "status\0001\0\0"s);
    CHECK(psm::attr_encode(list, AttrEncoding::attr64) == "c3RhdHVz:MQ==\n\n");
    CHECK(psm::attr_encode(list, AttrEncoding::plain) == "status=1\n\n");
    for (auto enc : {AttrEncoding::attr0, AttrEncoding::attr64, AttrEncoding::plain})
        CHECK(decode_all(psm::attr_encode(list, enc), enc) == list);
}

TEST_CASE("the tlsproxy announcement is 28 bytes", "[attr]") {
    std::string bytes = psm::attr_encode({attr::send_str("protocol", "tlsproxy_protocol")});
    CHECK(bytes.size() == 28);
    CHECK(bytes == kTlsproxyAnnouncement);
    auto list = decode_all(bytes);
    auto r = psm::attr_scan(list, "private/tlsproxy", psm::kAttrFlagStrict,
                            {attr::recv_streq("protocol", "tlsproxy_protocol")});
    CHECK(r.conversions == 1);
    CHECK(r.warning.empty());
}

TEST_CASE("dnsblog request (62 bytes) and reply (87 bytes)", "[attr]") {
    std::string request = psm::attr_encode({attr::send_str("rbl_domain", "zen.spamhaus.org"),
                                            attr::send_str("client_address", "127.0.0.1"), attr::send_int("label", 0)});
    CHECK(request.size() == 62);
    CHECK(request == kDnsblogRequest);

    std::string reply = psm::attr_encode({attr::send_str("rbl_domain", "zen.spamhaus.org"),
                                          attr::send_str("client_address", "127.0.0.1"), attr::send_int("label", 0),
                                          attr::send_str("rbl_addr", ""), attr::send_int("ttl", -1)});
    CHECK(reply.size() == 87);
    CHECK(reply == kDnsblogReply);

    std::string domain, addr, rbl_addr;
    int label = 99, ttl = 0;
    auto r = psm::attr_scan(decode_all(reply), "private/dnsblog", psm::kAttrFlagStrict,
                            {attr::recv_str("rbl_domain", domain), attr::recv_str("client_address", addr),
                             attr::recv_int("label", label), attr::recv_str("rbl_addr", rbl_addr),
                             attr::recv_int("ttl", ttl)});
    CHECK(r.conversions == 5);
    CHECK(domain == "zen.spamhaus.org");
    CHECK(addr == "127.0.0.1");
    CHECK(label == 0);
    CHECK(rbl_addr.empty());
    CHECK(ttl == -1); // 4294967295 reads back as int32 -1
}

TEST_CASE("pass hand-off attributes (87 bytes) into a hash", "[attr]") {
    std::string bytes =
        psm::attr_encode({attr::send_str("client_address", "127.0.0.1"), attr::send_str("client_port", "43104"),
                          attr::send_str("server_address", "127.0.0.1"), attr::send_str("server_port", "41025")});
    CHECK(bytes.size() == 87);
    CHECK(bytes == kPassAttrs);
    psm::AttrHash table;
    auto r = psm::attr_scan(decode_all(bytes), "private/smtpd", 0, {attr::recv_hash(table)});
    CHECK(r.conversions == 4);
    CHECK(table == psm::AttrHash{{"client_address", "127.0.0.1"},
                                 {"client_port", "43104"},
                                 {"server_address", "127.0.0.1"},
                                 {"server_port", "41025"}});
}

TEST_CASE("tlsproxy request (82 bytes) with a repeated attribute name", "[attr]") {
    std::string bytes = psm::attr_encode({attr::send_str("remote_endpoint", "[127.0.0.1]:38174"),
                                          attr::send_int("flags", 1), attr::send_int("timeout", 300),
                                          attr::send_int("timeout", 300), attr::send_str("serverid", "smtpd")});
    CHECK(bytes.size() == 82);
    CHECK(bytes == kTlsproxyRequest);
    std::string endpoint, serverid;
    int flags = 0, handshake = 0, session = 0;
    auto r = psm::attr_scan(decode_all(bytes), "private/tlsproxy", psm::kAttrFlagStrict,
                            {attr::recv_str("remote_endpoint", endpoint), attr::recv_int("flags", flags),
                             attr::recv_int("timeout", handshake), attr::recv_int("timeout", session),
                             attr::recv_str("serverid", serverid)});
    CHECK(r.conversions == 5);
    CHECK(endpoint == "[127.0.0.1]:38174");
    CHECK(flags == 1);
    CHECK(handshake == 300);
    CHECK(session == 300);
    CHECK(serverid == "smtpd");
}

TEST_CASE("round trips: groups, empty values, binary data, long values", "[attr]") {
    std::string binary("\0\x01\xff\n=:{}"s);
    AttrList list{attr::send_str("empty", ""), attr::group_open(),
                  attr::send_str("k1", "v 1"), attr::send_str("k2", ""),
                  attr::group_close(),         attr::send_long("big", -1L),
                  attr::send_int("neg", -2),   attr::send_data("blob", binary)};
    for (auto enc : {AttrEncoding::attr0, AttrEncoding::attr64, AttrEncoding::plain}) {
        INFO("encoding " << static_cast<int>(enc));
        AttrList got = decode_all(psm::attr_encode(list, enc), enc);
        REQUIRE(got.size() == list.size());
        CHECK(got[1].kind == Attr::Kind::group_open);
        CHECK(got[4].kind == Attr::Kind::group_close);
        CHECK(got[5].value == "18446744073709551615");
        CHECK(got[6].value == "4294967294");

        std::string empty, blob;
        psm::AttrHash group;
        long big = 0;
        int neg = 0;
        auto r = psm::attr_scan(got, "test", psm::kAttrFlagStrict,
                                {attr::recv_str("empty", empty), attr::recv_hash(group), attr::recv_long("big", big),
                                 attr::recv_int("neg", neg), attr::recv_data("blob", blob)},
                                enc);
        CHECK(r.warning == "");
        CHECK(r.conversions == 6); // 1 + 2 hash entries + 3
        CHECK(group == psm::AttrHash{{"k1", "v 1"}, {"k2", ""}});
        CHECK(big == -1L);
        CHECK(neg == -2);
        CHECK(blob == binary);
    }
    // Binary data is base64 in attr0 and plain; attr64 has only one base64 layer.
    CHECK(psm::attr_encode({attr::send_data("d", "ab")}) == "d\0YWI=\0\0"s);
    CHECK(psm::attr_encode({attr::send_data("d", "ab")}, AttrEncoding::plain) == "d=YWI=\n\n");
    CHECK(psm::attr_encode({attr::send_data("d", "ab")}, AttrEncoding::attr64) == "ZA==:YWI=\n\n");
    CHECK(psm::attr_encode({attr::group_open(), attr::group_close()}) == "{\0}\0\0"s);
    CHECK(psm::attr_encode({attr::group_open(), attr::group_close()}, AttrEncoding::attr64) == "ew==\nfQ==\n\n");
    CHECK(psm::attr_encode({}) == "\0"s);
}

TEST_CASE("plain: stock's group markers with a NUL are accepted - '=' in values kept", "[attr]") {
    AttrList got = decode_all("{\0\na=b=c\n}\0\n\n"s, AttrEncoding::plain);
    REQUIRE(got.size() == 3);
    CHECK(got[0].kind == Attr::Kind::group_open);
    CHECK(got[1].value == "b=c");
    CHECK(got[2].kind == Attr::Kind::group_close);
}

TEST_CASE("the decoder stops at the end of one list and leaves the rest", "[attr]") {
    std::string two = kTlsproxyAnnouncement + "status\0001\0\0"s + "raw";
    AttrDecoder d;
    std::size_t used = d.feed(two);
    CHECK(used == 28);
    REQUIRE(d.status() == AttrDecoder::Status::complete);
    CHECK(d.take() == AttrList{attr::send_str("protocol", "tlsproxy_protocol")});
    CHECK_FALSE(d.started());
    used += d.feed(std::string_view(two).substr(used));
    REQUIRE(d.status() == AttrDecoder::Status::complete);
    CHECK(d.take() == AttrList{attr::send_str("status", "1")});
    CHECK(std::string_view(two).substr(used) == "raw");
}

TEST_CASE("malformed input: truncation, size limits, bad base64, unbalanced groups", "[attr]") {
    using E = AttrDecoder::Error;
    // EOF before anything, where a name starts, in a value, mid-string.
    auto d = decode_error("");
    CHECK(d.error() == E::premature_eof);
    CHECK_FALSE(d.started());
    CHECK(d.message("private/dnsblog") ==
          "premature end-of-input on private/dnsblog while reading input attribute name");
    d = decode_error("a\0b\0"s);
    CHECK(d.error() == E::premature_eof);
    CHECK(d.message("S") == "premature end-of-input on S while reading input attribute name");
    d = decode_error("a\0"s);
    CHECK(d.message("S") == "premature end-of-input on S while reading input attribute value");
    d = decode_error("a\0bc"s); // a value without its NUL
    CHECK(d.error() == E::truncated);
    CHECK(d.message("S") == "unexpected end-of-input from S while reading input attribute value");
    d = decode_error("status=1\n", AttrEncoding::plain);
    CHECK(d.error() == E::premature_eof);

    psm::AttrLimits small;
    small.max_string = 8;
    CHECK(decode_error("12345678\0x\0\0"s, AttrEncoding::attr0, small).error() == E::none);
    d = decode_error("123456789\0x\0\0"s, AttrEncoding::attr0, small);
    CHECK(d.error() == E::too_long);
    CHECK(d.message("S") == "string length > 8 characters from S while reading input attribute name");
    // The default cap is 4 x line_length_limit = 8192 bytes.
    CHECK(decode_error(std::string(8192, 'x') + "\0v\0\0"s).error() == E::none);
    CHECK(decode_error("n\0"s + std::string(8193, 'x')).error() == E::too_long);

    std::string many;
    for (int i = 0; i < 1025; ++i)
        many += "a\0b\0"s;
    d = decode_error(many + "\0"s);
    CHECK(d.error() == E::too_many);
    CHECK(d.message("S") == "attribute count exceeds limit 1024 in input from S");

    d = decode_error("c3RhdHVz:M!==\n\n", AttrEncoding::attr64);
    CHECK(d.error() == E::malformed);
    CHECK(d.message("S") == "malformed base64 data from S: M!==");
    d = decode_error("YQ==:Yg==:Yw==\n\n", AttrEncoding::attr64);
    CHECK(d.message("S") == "multiple values for attribute a from S");
    d = decode_error("}\0\0"s);
    CHECK(d.error() == E::malformed);
    CHECK(decode_error("{\0a\0b\0\0"s).error() == E::malformed);

    auto t = AttrDecoder();
    t.feed("proto"s);
    t.finish(true);
    CHECK(t.error() == E::timeout);
    CHECK(t.message("private/tlsproxy") == "timeout on private/tlsproxy while reading input attribute name");
}

TEST_CASE("the decoder reads whole runs of bytes: every read size gives the same lists and errors", "[attr]") {
    using E = AttrDecoder::Error;
    const AttrList list{attr::send_str("request", "dnsbl_score"), attr::send_str("label", "17"),
                        attr::group_open(),  attr::send_str("site", "bl1.example"),
                        attr::send_str("empty", ""), attr::send_str("odd", "b=c:d {}"),
                        attr::group_close(), attr::send_str("client_address", "127.0.0.2")};
    psm::AttrLimits small;
    small.max_string = 12; // "client_address" (14) is too long, "bl1.example" (11) fits
    for (auto enc : {AttrEncoding::attr0, AttrEncoding::attr64, AttrEncoding::plain}) {
        const std::string two = psm::attr_encode(list, enc) + psm::attr_encode(list, enc);
        for (std::size_t read = 1; read <= two.size(); ++read) {
            AttrDecoder d(enc);
            std::vector<AttrList> got;
            std::size_t used = 0;
            while (used < two.size()) {
                used += d.feed(std::string_view(two).substr(used, read));
                REQUIRE(d.status() != AttrDecoder::Status::error);
                if (d.status() == AttrDecoder::Status::complete) got.push_back(d.take());
            }
            REQUIRE(got.size() == 2);
            CHECK(got[0] == list);
            CHECK(got[1] == list);

            // The limit holds wherever the reads split the long string.
            AttrDecoder limited(enc, small);
            used = 0;
            while (used < two.size() && limited.status() == AttrDecoder::Status::need_more)
                used += limited.feed(std::string_view(two).substr(used, read));
            CHECK(limited.error() == E::too_long);
            if (enc != AttrEncoding::attr64) { // attr64 names are base64, longer on the wire
                const std::size_t at = two.find("client_address");
                CHECK(used == at + small.max_string + 1); // up to the first byte over the limit
            }
        }
    }
}

namespace {

// What an attr0 stream gives, read by read: the lists, then the error
// message that ended it (a stream that just stops ends in one too).
struct Outcome {
    std::vector<AttrList> lists;
    std::string error;
    bool operator==(const Outcome&) const = default;
};

Outcome with_decoder(std::string_view stream, psm::AttrLimits limits, std::size_t read) {
    Outcome out;
    AttrDecoder d(AttrEncoding::attr0, limits);
    for (;;) {
        if (d.status() == AttrDecoder::Status::complete) {
            out.lists.push_back(d.take());
        } else if (d.status() == AttrDecoder::Status::error) {
            out.error = d.message("S");
            return out;
        } else if (stream.empty()) {
            d.finish();
        } else {
            stream.remove_prefix(d.feed(stream.substr(0, read)));
        }
    }
}

Outcome with_reader(std::string_view stream, psm::AttrLimits limits, std::size_t read) {
    Outcome out;
    psm::Attr0Reader r(limits);
    for (;;) {
        if (r.status() == AttrDecoder::Status::complete) {
            AttrList list;
            for (const psm::AttrView& v : r.items())
                list.push_back(Attr{v.kind, std::string(v.name), std::string(v.value)});
            out.lists.push_back(std::move(list));
            r.next();
        } else if (r.status() == AttrDecoder::Status::error) {
            out.error = r.message("S");
            return out;
        } else if (stream.empty()) {
            r.finish();
        } else {
            r.append(stream.substr(0, read));
            stream.remove_prefix(std::min(read, stream.size()));
        }
    }
}

} // namespace

TEST_CASE("Attr0Reader reads what AttrDecoder reads: lists, limits, errors, at every read size", "[attr]") {
    // Streams of random tokens: names, values, group markers, end markers,
    // long strings, a NUL-free tail. Deterministic (fixed seed).
    const std::vector<std::string> tokens = {"a"s,        "label"s, "{"s, "}"s, ""s,       "x=y:z"s,
                                             "{}"s,       "7"s,     "site"s, std::string(20, 'L'), "\xff\x01"s};
    std::uint32_t seed = 12345;
    auto next = [&seed] {
        seed = seed * 1103515245u + 12345u;
        return seed >> 8;
    };
    psm::AttrLimits small;
    small.max_string = 16;
    small.max_attrs = 8;
    int checked = 0;
    for (int n = 0; n < 3000; ++n) {
        std::string stream;
        const std::size_t count = next() % 40;
        for (std::size_t i = 0; i < count; ++i) {
            stream += tokens[next() % tokens.size()];
            if (next() % 8 != 0) stream += '\0';
        }
        // Well-formed lists too, most of the time.
        if (n % 3 == 0)
            stream = psm::attr_encode({attr::send_str("label", std::to_string(n)), attr::group_open(),
                                       attr::send_str("site", "bl.example"), attr::group_close()}) +
                     stream;
        for (auto limits : {psm::AttrLimits{}, small}) {
            const Outcome expected = with_decoder(stream, limits, 1);
            for (std::size_t read : {std::size_t{1}, std::size_t{3}, std::size_t{7}, stream.size() + 1}) {
                CHECK(with_reader(stream, limits, read) == expected);
                ++checked;
            }
        }
    }
    CHECK(checked == 3000 * 2 * 4);
}

TEST_CASE("Attr0Reader: views of a complete list survive more input - the rest waits for next()", "[attr]") {
    const AttrList one{attr::send_str("label", "1"), attr::group_open(), attr::send_str("site", "a.example"),
                       attr::group_close()};
    const AttrList two{attr::send_str("label", "2")};
    const std::string bytes = psm::attr_encode(one) + psm::attr_encode(two);
    psm::Attr0Reader r;
    const std::size_t first = psm::attr_encode(one).size();
    r.append(std::string_view(bytes).substr(0, first + 3));
    REQUIRE(r.status() == AttrDecoder::Status::complete);
    r.append(std::string(5000, 'x')); // moves the buffer
    REQUIRE(r.items().size() == 4);
    CHECK(r.items()[0].value == "1");
    CHECK(r.items()[2].value == "a.example");
    CHECK(r.items()[1].kind == Attr::Kind::group_open);
    r.next();
    CHECK(r.status() == AttrDecoder::Status::need_more);
    CHECK(r.started());
}

TEST_CASE("STRICT scan: unexpected, duplicate and missing attributes", "[attr]") {
    std::string a, b;
    int n = 0;
    // Unexpected attribute before the wanted one.
    auto r = psm::attr_scan({attr::send_str("x", "1"), attr::send_str("a", "A")}, "private/dnsblog",
                            psm::kAttrFlagStrict, {attr::recv_str("a", a)});
    CHECK(r.conversions == 0);
    CHECK(r.warning == "unexpected attribute x from private/dnsblog (expecting: a)");
    // Without EXTRA the unrequested attribute is skipped silently.
    r = psm::attr_scan({attr::send_str("x", "1"), attr::send_str("a", "A")}, "S", psm::kAttrFlagMissing,
                       {attr::recv_str("a", a)});
    CHECK(r.conversions == 1);
    CHECK(r.warning.empty());
    CHECK(a == "A");
    // A duplicate is unexpected where the list terminator is wanted.
    r = psm::attr_scan({attr::send_str("a", "1"), attr::send_str("a", "2")}, "S", psm::kAttrFlagStrict,
                       {attr::recv_str("a", a)});
    CHECK(r.conversions == 1);
    CHECK(r.warning == "unexpected attribute a from S (expecting: (list terminator))");
    // Missing.
    r = psm::attr_scan({attr::send_str("a", "1")}, "S", psm::kAttrFlagStrict,
                       {attr::recv_str("a", a), attr::recv_str("b", b)});
    CHECK(r.conversions == 1);
    CHECK(r.warning == "missing attribute b in input from S");
    r = psm::attr_scan({attr::send_str("a", "1")}, "S", 0, {attr::recv_str("a", a), attr::recv_str("b", b)});
    CHECK(r.conversions == 1);
    CHECK(r.warning.empty());
    // Bad numbers.
    r = psm::attr_scan({attr::send_str("n", "12x")}, "S", psm::kAttrFlagStrict, {attr::recv_int("n", n)});
    CHECK(r.conversions == -1);
    CHECK(r.warning == "malformed numerical data from S while reading input attribute value: 12x");
    r = psm::attr_scan({attr::send_str("n", "4294967296")}, "S", psm::kAttrFlagStrict, {attr::recv_int("n", n)});
    CHECK(r.conversions == -1);
    r = psm::attr_scan({attr::send_str("n", "")}, "S", psm::kAttrFlagStrict, {attr::recv_int("n", n)});
    CHECK(r.conversions == -1);
    r = psm::attr_scan({attr::send_str("n", "4294967295")}, "S", psm::kAttrFlagStrict, {attr::recv_int("n", n)});
    CHECK(r.conversions == 1);
    CHECK(n == -1);
    // Bad base64 in a data attribute (attr0).
    r = psm::attr_scan({attr::send_str("d", "abc")}, "S", psm::kAttrFlagStrict, {attr::recv_data("d", a)});
    CHECK(r.conversions == -1);
    CHECK(r.warning == "malformed base64 data from S while reading input attribute value: abc");
    // A bare name (attr64/plain) where a value is needed.
    r = psm::attr_scan(decode_all("a\n\n", AttrEncoding::plain), "S", psm::kAttrFlagStrict, {attr::recv_str("a", a)},
                       AttrEncoding::plain);
    CHECK(r.conversions == -1);
    CHECK(r.warning == "missing value for string attribute a from S");
}

TEST_CASE("STREQ: protocol announcements", "[attr]") {
    auto r = psm::attr_scan({attr::send_str("protocol", "tlsmgr_protocol")}, "private/tlsproxy", psm::kAttrFlagStrict,
                            {attr::recv_streq("protocol", "tlsproxy_protocol")});
    CHECK(r.conversions == -1);
    CHECK(r.warning == "unexpected protocol tlsmgr_protocol from private/tlsproxy (expected: tlsproxy_protocol)");
    r = psm::attr_scan({}, "private/tlsproxy", psm::kAttrFlagStrict,
                       {attr::recv_streq("protocol", "tlsproxy_protocol")});
    CHECK(r.conversions == 0);
    CHECK(r.warning == "missing attribute protocol in input from private/tlsproxy");
}

TEST_CASE("receive into a hash: first wins, 1024 entries, duplicates with EXTRA", "[attr]") {
    psm::AttrHash table;
    auto r = psm::attr_scan({attr::send_str("a", "1"), attr::send_str("a", "2"), attr::send_str("b", "3")}, "S", 0,
                            {attr::recv_hash(table)});
    CHECK(r.conversions == 2);
    CHECK(table == psm::AttrHash{{"a", "1"}, {"b", "3"}});
    table.clear();
    r = psm::attr_scan({attr::send_str("a", "1"), attr::send_str("a", "2")}, "S", psm::kAttrFlagStrict,
                       {attr::recv_hash(table)});
    CHECK(r.warning == "duplicate attribute a in input from S");
    table.clear();
    AttrList many;
    for (int i = 0; i < 1025; ++i)
        many.push_back(attr::send_str("k" + std::to_string(i), "v"));
    r = psm::attr_scan(many, "S", 0, {attr::recv_hash(table)});
    CHECK(table.size() == 1024);
    CHECK(r.warning == "attribute count exceeds limit 1024 in input from S");
}

TEST_CASE("attr_read_fd and attr_write_fd over a socketpair", "[attr]") {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    psm::UniqueFd end0(sv[0]), end1(sv[1]);
    AttrList list{attr::send_str("rbl_domain", "zen.spamhaus.org"), attr::send_int("label", 7)};
    REQUIRE_FALSE(psm::attr_write_fd(sv[0], list, std::chrono::milliseconds(1000)));
    REQUIRE(::write(sv[0], "extra", 5) == 5);
    auto r = psm::attr_read_fd(sv[1], "private/dnsblog", std::chrono::milliseconds(1000));
    REQUIRE(r);
    CHECK(r.attrs == list);
    CHECK(r.rest == "extra");

    // A deadline with half a list: timeout, worded like Postfix.
    REQUIRE(::write(sv[0], "label\0"s.data(), 6) == 6);
    r = psm::attr_read_fd(sv[1], "private/dnsblog", std::chrono::milliseconds(50));
    CHECK(r.error == boost::asio::error::timed_out);
    CHECK(r.warning == "timeout on private/dnsblog while reading input attribute value");

    // The peer closes mid-list.
    REQUIRE(::write(sv[0], "label\0"s.data(), 6) == 6);
    ::shutdown(sv[0], SHUT_WR);
    r = psm::attr_read_fd(sv[1], "private/dnsblog", std::chrono::milliseconds(1000));
    CHECK(r.error == boost::asio::error::eof);
    CHECK(r.warning == "premature end-of-input on private/dnsblog while reading input attribute value");
}
