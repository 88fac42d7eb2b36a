// DNS messages for dnsblog, on the wire by hand: a standard query
// (recursion desired, no EDNS, as Postfix's resolver sends), and the
// validation and digest of an answer: it must answer our id and question,
// then the A (or TXT) records of the query name and its CNAME chain, their
// smallest TTL, and the smallest SOA TTL of the authority section. (ldns
// builds the answers of tests and of the benchmark's fake server.)
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace psm::dnsblog {

inline constexpr std::uint16_t kTypeA = 1;
inline constexpr std::uint16_t kTypeCname = 5;
inline constexpr std::uint16_t kTypeSoa = 6;
inline constexpr std::uint16_t kTypeTxt = 16;

inline constexpr int kRcodeNoError = 0;
inline constexpr int kRcodeFormErr = 1;
inline constexpr int kRcodeServFail = 2;
inline constexpr int kRcodeNxDomain = 3;
inline constexpr int kRcodeNotImp = 4;
inline constexpr int kRcodeRefused = 5;

// Postfix's valid_hostname() rules for a name dnsblog may ask for: at most
// 255 bytes, labels of 1..63 letters, digits, '-' or '_' not starting or
// ending with '-', and not all-numeric with dots only (an address).
bool valid_query_name(std::string_view name);

// Appends the wire form of a name in presentation format (RFC 1035: labels
// separated by dots, "\X" and "\DDD" escapes, the final dot optional, "."
// the root); false, with `out` unchanged, for an empty label, a label over 63
// octets, a name over 255, or a bad escape.
bool append_wire_name(std::vector<std::uint8_t>& out, std::string_view name);

// The wire form of a query; empty when the name is not valid.
std::vector<std::uint8_t> build_query(std::uint16_t id, std::string_view name, std::uint16_t type);

// The query id of a wire message (0 when shorter than a header).
std::uint16_t message_id(std::span<const std::uint8_t> message);

struct DnsAnswer {
    int rcode = 0;
    bool truncated = false;
    bool malformed = false;                     // header and question fine, records unparsable
    bool has_answers = false;                   // the answer section is not empty
    std::vector<std::array<std::uint8_t, 4>> a; // A records of the name (chain), answer order
    std::vector<std::string> txt;               // TXT records, each record's strings joined
    int ttl = -1;                               // smallest TTL of those records
    int soa_ttl = -1;                           // smallest TTL of SOA records in the authority section
    std::string cname_target;                   // end of a CNAME chain without records of the type
};

enum class AnswerCheck {
    ok,             // an answer to the question (out is filled)
    not_a_response, // too short, QR bit clear, or not one question
    wrong_id,
    wrong_question, // name, type or class differ
};

// Checks a received datagram/TCP message against the outstanding query
// (id, name, type; class IN) and digests it into *out when it matches.
AnswerCheck parse_answer(std::span<const std::uint8_t> message, std::uint16_t id, std::string_view name,
                         std::uint16_t type, DnsAnswer& out);

// Builds an answer (for tests and the benchmark's fake server): the
// question of `query`, rcode, flags (QR, RD/RA copied), records given as
// zone-file text ("1.0.0.127.bl.test. 60 IN A 127.0.0.2"). Empty on error.
std::vector<std::uint8_t> build_answer(std::span<const std::uint8_t> query, int rcode,
                                       const std::vector<std::string>& answers,
                                       const std::vector<std::string>& authority = {}, bool truncated = false);

} // namespace psm::dnsblog
