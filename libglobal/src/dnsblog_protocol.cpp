// Encoders and decoders of the weighted dnsblog protocol
// (proto/dnsblog-protocol.md). Integers travel as Postfix's SEND_ATTR_INT
// does: the unsigned 32-bit text of the value, so -1 is "4294967295".
#include "psm/global/dnsblog_protocol.hpp"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace psm::dnsblog {

namespace {

// Request attributes.
constexpr std::string_view kLabel = "label";
constexpr std::string_view kClientAddress = "client_address";
constexpr std::string_view kSites = "sites";
constexpr std::string_view kMinTtl = "min_ttl";
constexpr std::string_view kMaxTtl = "max_ttl";
constexpr std::string_view kDeadline = "deadline_ms";
// Reply attributes.
constexpr std::string_view kStatus = "status";
constexpr std::string_view kReason = "reason";
constexpr std::string_view kScore = "score";
constexpr std::string_view kTtl = "ttl";
constexpr std::string_view kDnsblName = "dnsbl_name";
// Per-site group attributes.
constexpr std::string_view kSite = "site";
constexpr std::string_view kAddresses = "addresses";
constexpr std::string_view kWeight = "weight";

// Postfix's RECV_ATTR_INT: decimal 0..4294967295, no junk, read as int32.
std::optional<int> parse_int(std::string_view text) {
    std::uint32_t value = 0;
    if (text.empty()) return std::nullopt;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return static_cast<int>(value);
}

// The names one list has used so far, to refuse duplicates: a dozen or
// so, kept inline and scanned (a std::set cost an allocation per name, on
// every request and reply).
class SeenNames {
public:
    bool insert(std::string_view name) {
        if (contains(name)) return false;
        names_.push_back(name);
        return true;
    }
    bool contains(std::string_view name) const { return std::find(names_.begin(), names_.end(), name) != names_.end(); }

private:
    boost::container::small_vector<std::string_view, 16> names_;
};

bool fail(std::string* why, std::string text) {
    if (why) *why = std::move(text);
    return false;
}

std::string concat(std::string_view a, std::string_view b, std::string_view c = {}, std::string_view d = {}) {
    std::string out;
    out.reserve(a.size() + b.size() + c.size() + d.size());
    out.append(a).append(b).append(c).append(d);
    return out;
}

// One site group's attributes, from just after "{" to just before "}".
// List: an AttrList, or the views of Attr0Reader.
template <class List>
bool decode_site(const List& list, std::size_t begin, std::size_t end, SiteResult& site, std::string* why) {
    SeenNames seen;
    for (std::size_t i = begin; i < end; ++i) {
        const auto& a = list[i];
        if (a.kind != Attr::Kind::text) return fail(why, "malformed site group");
        if (!seen.insert(a.name)) return fail(why, concat("duplicate site attribute: ", a.name));
        if (a.name == kSite) {
            site.domain = a.value;
        } else if (a.name == kStatus) {
            auto s = parse_site_status(a.value);
            if (!s) return fail(why, concat("bad site status value: ", a.value));
            site.status = *s;
        } else if (a.name == kAddresses) {
            site.addresses = a.value;
        } else if (a.name == kTtl || a.name == kWeight) {
            auto v = parse_int(a.value);
            if (!v) return fail(why, concat("bad site ", a.name, " value: ", a.value));
            (a.name == kTtl ? site.ttl : site.weight) = *v;
        } else if (a.name == kReason) {
            site.reason = a.value;
        } // unknown site attributes are ignored, as unknown top-level ones
    }
    if (!seen.contains(kSite)) return fail(why, "missing site attribute: site");
    if (!seen.contains(kStatus)) return fail(why, "missing site attribute: status");
    return true;
}

} // namespace

std::vector<const SiteResult*> ScoreReply::failed() const {
    std::vector<const SiteResult*> out;
    for (const auto& s : sites)
        if (s.status == SiteStatus::failed || s.status == SiteStatus::disabled) out.push_back(&s);
    return out;
}

std::string_view to_string(ReplyStatus status) {
    switch (status) {
    case ReplyStatus::ok:
        return "ok";
    case ReplyStatus::error:
        return "error";
    case ReplyStatus::overload:
        return "overload";
    }
    return "error";
}

std::string_view to_string(SiteStatus status) {
    switch (status) {
    case SiteStatus::listed:
        return "listed";
    case SiteStatus::not_listed:
        return "not_listed";
    case SiteStatus::failed:
        return "failed";
    case SiteStatus::disabled:
        return "disabled";
    }
    return "failed";
}

std::optional<ReplyStatus> parse_reply_status(std::string_view text) {
    for (auto s : {ReplyStatus::ok, ReplyStatus::error, ReplyStatus::overload})
        if (to_string(s) == text) return s;
    return std::nullopt;
}

std::optional<SiteStatus> parse_site_status(std::string_view text) {
    for (auto s : {SiteStatus::listed, SiteStatus::not_listed, SiteStatus::failed, SiteStatus::disabled})
        if (to_string(s) == text) return s;
    return std::nullopt;
}

bool is_score_request(const AttrList& list) {
    return !list.empty() && list.front().kind == Attr::Kind::text && list.front().name == kRequestAttr &&
           list.front().value == kScoreRequest;
}

namespace {

// The encoders write through one of two sinks: an AttrList (ListSink), or
// attr0 bytes (Attr0Writer, which has the same four calls). One definition
// of each message's order serves both.
struct ListSink {
    AttrList& out;
    void str(std::string_view name, std::string_view value) { out.push_back(attr::send_str(name, value)); }
    void num(std::string_view name, int value) { out.push_back(attr::send_int(name, value)); }
    void group_open() { out.push_back(attr::group_open()); }
    void group_close() { out.push_back(attr::group_close()); }
};

template <class Sink>
void write_request(Sink& sink, const ScoreRequest& request) {
    sink.str(kRequestAttr, kScoreRequest);
    sink.str(kLabel, request.label);
    sink.str(kClientAddress, request.client_address);
    if (request.sites) sink.str(kSites, *request.sites);
    if (request.min_ttl) sink.num(kMinTtl, *request.min_ttl);
    if (request.max_ttl) sink.num(kMaxTtl, *request.max_ttl);
    if (request.deadline_ms) sink.num(kDeadline, *request.deadline_ms);
}

template <class Sink>
void write_reply(Sink& sink, const ScoreReply& reply) {
    sink.str(kLabel, reply.label);
    sink.str(kStatus, to_string(reply.status));
    sink.str(kReason, reply.reason);
    sink.str(kClientAddress, reply.client_address);
    sink.num(kScore, reply.score);
    sink.num(kTtl, reply.ttl);
    sink.str(kDnsblName, reply.dnsbl_name);
    for (const auto& site : reply.sites) {
        sink.group_open();
        sink.str(kSite, site.domain);
        sink.str(kStatus, to_string(site.status));
        sink.str(kAddresses, site.addresses);
        sink.num(kTtl, site.ttl);
        sink.num(kWeight, site.weight);
        sink.str(kReason, site.reason);
        sink.group_close();
    }
}

} // namespace

AttrList encode_request(const ScoreRequest& request) {
    AttrList out;
    ListSink sink{out};
    write_request(sink, request);
    return out;
}

void encode_request(std::string& out, const ScoreRequest& request) {
    Attr0Writer sink(out);
    write_request(sink, request);
    sink.end();
}

AttrList encode_reply(const ScoreReply& reply) {
    AttrList out;
    out.reserve(7 + reply.sites.size() * 8);
    ListSink sink{out};
    write_reply(sink, reply);
    return out;
}

void encode_reply(std::string& out, const ScoreReply& reply) {
    // Room for the names, the numbers and the terminators, plus the texts.
    std::size_t size = 128 + reply.label.size() + reply.reason.size() + reply.client_address.size() +
                       reply.dnsbl_name.size();
    for (const auto& site : reply.sites)
        size += 96 + site.domain.size() + site.addresses.size() + site.reason.size();
    out.reserve(out.size() + size);
    Attr0Writer sink(out);
    write_reply(sink, reply);
    sink.end();
}

std::optional<ScoreRequest> decode_request(const AttrList& list, std::string* why) {
    if (!is_score_request(list)) {
        fail(why, "not a dnsbl_score request");
        return std::nullopt;
    }
    ScoreRequest request;
    SeenNames seen;
    for (std::size_t i = 1; i < list.size(); ++i) {
        const Attr& a = list[i];
        if (a.kind != Attr::Kind::text) {
            fail(why, "unexpected attribute group");
            return std::nullopt;
        }
        if (!seen.insert(a.name)) {
            fail(why, "duplicate attribute: " + a.name);
            return std::nullopt;
        }
        if (a.name == kLabel) {
            if (a.value.size() > kMaxLabel) {
                fail(why, "label longer than " + std::to_string(kMaxLabel) + " bytes");
                return std::nullopt;
            }
            request.label = a.value;
        } else if (a.name == kClientAddress) {
            request.client_address = a.value;
        } else if (a.name == kSites) {
            request.sites = a.value;
        } else if (a.name == kMinTtl || a.name == kMaxTtl || a.name == kDeadline) {
            auto v = parse_int(a.value);
            const int max = a.name == kDeadline ? kMaxDeadlineMs : kMaxTtlValue;
            if (!v || *v < (a.name == kDeadline ? 1 : 0) || *v > max) {
                fail(why, "bad " + a.name + " value: " + a.value);
                return std::nullopt;
            }
            (a.name == kMinTtl ? request.min_ttl : a.name == kMaxTtl ? request.max_ttl : request.deadline_ms) = *v;
        } else {
            fail(why, "unknown attribute: " + a.name);
            return std::nullopt;
        }
    }
    for (auto name : {kLabel, kClientAddress}) {
        if (!seen.contains(name)) {
            fail(why, "missing attribute: " + std::string(name));
            return std::nullopt;
        }
    }
    return request;
}

namespace {

template <class List>
std::optional<ScoreReply> decode_reply_items(const List& list, std::string* why) {
    ScoreReply reply;
    SeenNames seen;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& a = list[i];
        if (a.kind == Attr::Kind::group_open) {
            std::size_t end = i + 1;
            while (end < list.size() && list[end].kind != Attr::Kind::group_close)
                ++end;
            if (end == list.size()) {
                fail(why, "unterminated site group");
                return std::nullopt;
            }
            SiteResult site;
            if (!decode_site(list, i + 1, end, site, why)) return std::nullopt;
            if (reply.sites.size() >= kMaxSites) {
                fail(why, "more than " + std::to_string(kMaxSites) + " sites");
                return std::nullopt;
            }
            reply.sites.push_back(std::move(site));
            i = end;
            continue;
        }
        if (a.kind != Attr::Kind::text) {
            fail(why, "malformed reply");
            return std::nullopt;
        }
        if (!seen.insert(a.name)) {
            fail(why, concat("duplicate attribute: ", a.name));
            return std::nullopt;
        }
        if (a.name == kLabel) {
            reply.label = a.value;
        } else if (a.name == kStatus) {
            auto s = parse_reply_status(a.value);
            if (!s) {
                fail(why, concat("bad status value: ", a.value));
                return std::nullopt;
            }
            reply.status = *s;
        } else if (a.name == kReason) {
            reply.reason = a.value;
        } else if (a.name == kClientAddress) {
            reply.client_address = a.value;
        } else if (a.name == kScore || a.name == kTtl) {
            auto v = parse_int(a.value);
            if (!v) {
                fail(why, concat("bad ", a.name, " value: ", a.value));
                return std::nullopt;
            }
            (a.name == kScore ? reply.score : reply.ttl) = *v;
        } else if (a.name == kDnsblName) {
            reply.dnsbl_name = a.value;
        }
    }
    for (auto name : {kLabel, kStatus, kClientAddress, kScore, kTtl}) {
        if (!seen.contains(name)) {
            fail(why, "missing attribute: " + std::string(name));
            return std::nullopt;
        }
    }
    return reply;
}

} // namespace

std::optional<ScoreReply> decode_reply(const AttrList& list, std::string* why) {
    return decode_reply_items(list, why);
}

std::optional<ScoreReply> decode_reply(std::span<const AttrView> list, std::string* why) {
    return decode_reply_items(list, why);
}

std::string request_label(const AttrList& list) {
    for (const auto& a : list)
        if (a.kind == Attr::Kind::text && a.name == kLabel) return a.value.substr(0, kMaxLabel);
    return {};
}

} // namespace psm::dnsblog
