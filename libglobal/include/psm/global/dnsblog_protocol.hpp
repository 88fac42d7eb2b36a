// The weighted dnsblog protocol (psmaster's own; proto/dnsblog-protocol.md):
// one "dnsbl_score" request per client address, answered with the total
// weighted score over every DNSBL site, per-site results and the failed
// sites. Requests may be pipelined on one connection and are answered in any
// order, matched by their label. This header holds the message types and the
// encoders/decoders for both ends (postscreen and dnsblog); the transport is
// the ordinary attr0 attribute protocol (attr.hpp).
#pragma once

#include "psm/global/attr.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace psm::dnsblog {

// The first attribute of a weighted request; a stock per-site request starts
// with "rbl_domain" instead.
inline constexpr std::string_view kRequestAttr = "request";
inline constexpr std::string_view kScoreRequest = "dnsbl_score";

// Bounds both ends enforce.
inline constexpr std::size_t kMaxLabel = 100;      // bytes of a label
inline constexpr std::size_t kMaxSites = 64;       // distinct DNSBL domains per request
inline constexpr int kMaxDeadlineMs = 3'600'000;   // one hour
inline constexpr int kMaxTtlValue = 7 * 24 * 3600; // bound for min_ttl/max_ttl (one week)

struct ScoreRequest {
    std::string label;          // opaque to dnsblog, echoed in the reply
    std::string client_address; // IPv4 or IPv6 text
    // postscreen_dnsbl_sites syntax; nullopt = dnsblog's own main.cf value.
    std::optional<std::string> sites;
    // TTL bounds in seconds (postscreen_dnsbl_min_ttl/max_ttl); nullopt =
    // dnsblog's own main.cf values.
    std::optional<int> min_ttl;
    std::optional<int> max_ttl;
    // Reply by then with whatever has arrived (milliseconds from receipt);
    // nullopt = dnsblog's postscreen_dnsbl_timeout.
    std::optional<int> deadline_ms;
};

enum class ReplyStatus {
    ok,       // the request was processed (individual sites may still have failed)
    error,    // malformed request; reason says why; nothing was looked up
    overload, // dnsblog's queue is full; nothing was looked up; ask again later
};

enum class SiteStatus {
    listed,     // the address is listed (addresses non-empty)
    not_listed, // NXDOMAIN / no A record
    failed,     // no usable answer: reason timeout, servfail, refused, blocked, error
    disabled,   // the list is disabled by dnsblog's health check (reason "disabled")
};

struct SiteResult {
    std::string domain; // as in the sites specification (without filter/weight)
    SiteStatus status = SiteStatus::not_listed;
    std::string addresses; // A records, space-separated as stock's rbl_addr ("" unless listed)
    int ttl = -1;          // DNS TTL of the answer (-1 = unknown)
    int weight = 0;        // what this site added to the score
    std::string reason;    // failed/disabled only
};

struct ScoreReply {
    std::string label;
    ReplyStatus status = ReplyStatus::ok;
    std::string reason; // error/overload only
    std::string client_address;
    int score = 0;                 // psm::DnsblScorer total over the sites that answered
    int ttl = 0;                   // cache TTL, stock rules, clamped to [min_ttl, max_ttl]
    std::string dnsbl_name;        // the reported DNSBL domain ("" when nothing matched)
    std::vector<SiteResult> sites; // in order of first appearance in the sites spec

    // Sites with status failed or disabled.
    std::vector<const SiteResult*> failed() const;
};

std::string_view to_string(ReplyStatus status);
std::string_view to_string(SiteStatus status);
std::optional<ReplyStatus> parse_reply_status(std::string_view text);
std::optional<SiteStatus> parse_site_status(std::string_view text);

// True when the list is a weighted request (first attribute request=dnsbl_score).
bool is_score_request(const AttrList& list);

AttrList encode_request(const ScoreRequest& request);
AttrList encode_reply(const ScoreReply& reply);
// The same lists as attr0 bytes with their end marker, appended to out
// (attr_encode() of the lists above, without building them).
void encode_request(std::string& out, const ScoreRequest& request);
void encode_reply(std::string& out, const ScoreReply& reply);

// Decoders. On error they return nullopt and set *why to a short reason,
// e.g. "missing attribute: label", "unknown attribute: foo",
// "bad min_ttl value: x". The request decoder rejects unknown and duplicate
// attributes; it does not check the address or the sites syntax (dnsblog
// does, with stock's wording). The reply decoder ignores unknown top-level
// attributes (so dnsblog may add some) and is strict about the rest.
std::optional<ScoreRequest> decode_request(const AttrList& list, std::string* why = nullptr);
std::optional<ScoreReply> decode_reply(const AttrList& list, std::string* why = nullptr);
// The same from Attr0Reader's views.
std::optional<ScoreReply> decode_reply(std::span<const AttrView> list, std::string* why = nullptr);

// The label of a request list, if it has one (for error replies to requests
// that failed to decode).
std::string request_label(const AttrList& list);

} // namespace psm::dnsblog
