// DNS query building by hand, answer digesting with ldns (see dns_message.hpp).
#include "dns_message.hpp"

#include <ldns/ldns.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <memory>

namespace psm::dnsblog {

namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr std::uint16_t kClassIn = 1;

struct PktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct RdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct RrFree {
    void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;

std::uint16_t get16(std::span<const std::uint8_t> m, std::size_t at) {
    return static_cast<std::uint16_t>((m[at] << 8) | m[at + 1]);
}

// A dname in canonical text without the final dot, lower case.
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

// "\DDD" (three digits, at most 255) or "\X" for a non-digit X, at text[i]
// just after the backslash; advances i past it.
bool unescape(std::string_view text, std::size_t& i, std::uint8_t& byte) {
    auto digit = [&](std::size_t at) { return at < text.size() && text[at] >= '0' && text[at] <= '9'; };
    if (digit(i) && digit(i + 1) && digit(i + 2)) {
        const int value = (text[i] - '0') * 100 + (text[i + 1] - '0') * 10 + (text[i + 2] - '0');
        if (value > 255) return false;
        byte = static_cast<std::uint8_t>(value);
        i += 3;
        return true;
    }
    if (i >= text.size() || digit(i)) return false;
    byte = static_cast<std::uint8_t>(text[i++]);
    return true;
}


} // namespace

bool valid_query_name(std::string_view name) {
    if (name.empty() || name.size() > 255) return false;
    std::size_t label = 0;
    bool non_numeric = false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const unsigned char ch = static_cast<unsigned char>(name[i]);
        const bool last = i + 1 == name.size();
        if (std::isalnum(ch) || ch == '_') {
            if (++label > 63) return false;
            if (!std::isdigit(ch)) non_numeric = true;
        } else if (ch == '.') {
            if (label == 0 || last) return false;
            label = 0;
        } else if (ch == '-') {
            non_numeric = true;
            if (++label == 1 || last || name[i + 1] == '.') return false;
        } else {
            return false;
        }
    }
    return non_numeric;
}

bool append_wire_name(std::vector<std::uint8_t>& out, std::string_view name) {
    constexpr std::size_t kMaxName = 255, kMaxLabel = 63;
    if (name == ".") {
        out.push_back(0);
        return true;
    }
    const std::size_t start = out.size();
    auto fail = [&] {
        out.resize(start);
        return false;
    };
    if (name.empty()) return fail();
    std::size_t label_at = out.size(); // where the length of the current label goes
    out.push_back(0);
    for (std::size_t i = 0; i < name.size();) {
        const char ch = name[i];
        const std::size_t length = out.size() - label_at - 1;
        if (ch == '.') {
            if (length == 0) return fail(); // empty label
            out[label_at] = static_cast<std::uint8_t>(length);
            label_at = out.size();
            out.push_back(0);
            ++i;
            continue;
        }
        std::uint8_t byte = 0;
        if (ch == '\\') {
            ++i;
            if (!unescape(name, i, byte)) return fail();
        } else if (ch == '\0') {
            return fail();
        } else {
            byte = static_cast<std::uint8_t>(ch);
            ++i;
        }
        if (length == kMaxLabel) return fail();
        out.push_back(byte);
        if (out.size() - start > kMaxName) return fail();
    }
    const std::size_t length = out.size() - label_at - 1;
    if (length > 0) {
        out[label_at] = static_cast<std::uint8_t>(length);
        out.push_back(0); // the root
    }
    // (A final dot leaves an empty label: it is the root.)
    if (out.size() - start > kMaxName) return fail();
    return true;
}

std::vector<std::uint8_t> build_query(std::uint16_t id, std::string_view name, std::uint16_t type) {
    // Written out by hand: ldns_pkt2wire allocates a 64 KiB buffer and a
    // compression tree per packet, a quarter of dnsblog's CPU per lookup.
    std::vector<std::uint8_t> out;
    out.reserve(kHeaderSize + name.size() + 2 + 4);
    const std::uint8_t header[kHeaderSize] = {static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id & 0xff),
                                              0x01, 0x00, // RD
                                              0, 1,       // one question
                                              0, 0, 0, 0, 0, 0};
    out.insert(out.end(), header, header + kHeaderSize);
    if (!append_wire_name(out, name)) return {};
    for (std::uint16_t v : {type, kClassIn}) {
        out.push_back(static_cast<std::uint8_t>(v >> 8));
        out.push_back(static_cast<std::uint8_t>(v & 0xff));
    }
    return out;
}

std::uint16_t message_id(std::span<const std::uint8_t> message) {
    return message.size() < kHeaderSize ? 0 : get16(message, 0);
}

AnswerCheck parse_answer(std::span<const std::uint8_t> message, std::uint16_t id, std::string_view name,
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

std::vector<std::uint8_t> build_answer(std::span<const std::uint8_t> query, int rcode,
                                       const std::vector<std::string>& answers,
                                       const std::vector<std::string>& authority, bool truncated) {
    ldns_pkt* raw = nullptr;
    if (ldns_wire2pkt(&raw, query.data(), query.size()) != LDNS_STATUS_OK || raw == nullptr) return {};
    PktPtr pkt(raw);
    ldns_pkt_set_qr(pkt.get(), true);
    ldns_pkt_set_ra(pkt.get(), true);
    ldns_pkt_set_tc(pkt.get(), truncated);
    ldns_pkt_set_rcode(pkt.get(), static_cast<std::uint8_t>(rcode));
    auto add = [&](const std::vector<std::string>& texts, ldns_pkt_section section) {
        for (const auto& text : texts) {
            ldns_rr* rr = nullptr;
            if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) return false;
            ldns_pkt_push_rr(pkt.get(), section, rr);
        }
        return true;
    };
    if (!add(answers, LDNS_SECTION_ANSWER) || !add(authority, LDNS_SECTION_AUTHORITY)) return {};
    std::uint8_t* wire = nullptr;
    std::size_t size = 0;
    if (ldns_pkt2wire(&wire, pkt.get(), &size) != LDNS_STATUS_OK || wire == nullptr) return {};
    std::vector<std::uint8_t> out(wire, wire + size);
    std::free(wire);
    return out;
}

} // namespace psm::dnsblog
