// DNS queries and answers on the wire, by hand; ldns builds the answers of
// tests and the benchmark's fake server (see dns_message.hpp).
#include "dns_message.hpp"

#include "psm/util/text.hpp"

#include <ldns/ldns.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>

namespace psm::dnsblog {

namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr std::uint16_t kClassIn = 1;
constexpr std::uint16_t kTypeNs = 2;
constexpr std::uint16_t kTypePtr = 12;

struct PktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;

std::uint16_t get16(std::span<const std::uint8_t> m, std::size_t at) {
    return static_cast<std::uint16_t>((m[at] << 8) | m[at + 1]);
}

// Whether a name as WireReader::name gives it (lower case, no final dot)
// is the question's name, which may have a final dot and any case.
bool is_question_name(std::string_view lower_text, std::string_view question) {
    if (!question.empty() && question.back() == '.') question.remove_suffix(1);
    return std::equal(lower_text.begin(), lower_text.end(), question.begin(), question.end(),
                      [](char a, char q) { return a == ascii_lower(q); });
}

void lower(int& slot, int ttl) {
    if (slot < 0 || slot > ttl) slot = ttl;
}

// One resource record of a message: its owner name (lower case, as
// WireReader::name gives it), fields, and where its data lies.
struct Record {
    std::string owner;
    std::uint16_t type = 0;
    std::uint16_t klass = 0;
    int ttl = 0;
    std::size_t rdata = 0; // offset in the message
    std::size_t rdlength = 0;
};

// Reads a DNS message (RFC 1035 4.1): names with compression pointers, and
// records. Every read checks the message's bounds.
class WireReader {
public:
    explicit WireReader(std::span<const std::uint8_t> message) : m_(message) {}

    // The name at pos as lower-case text without the final dot, its labels
    // joined by '.' as they are (so that it compares with the question's
    // text), or only checked when text is null; moves pos past it. False for
    // a name that runs off the message, a label type other than a length or
    // a pointer, a pointer into the header, more than 255 octets, or more
    // pointers than a name of 255 octets can need (which ends any loop).
    bool name(std::size_t& pos, std::string* text) const {
        constexpr std::size_t kMaxName = 255, kMaxPointers = 128;
        if (text) text->clear();
        std::size_t at = pos;
        std::size_t octets = 0;
        std::size_t pointers = 0;
        for (;;) {
            if (at >= m_.size()) return false;
            const std::uint8_t length = m_[at];
            if ((length & 0xc0) == 0xc0) {
                if (at + 1 >= m_.size()) return false;
                if (pointers == 0) pos = at + 2;
                if (++pointers > kMaxPointers) return false;
                at = static_cast<std::size_t>(((length & 0x3f) << 8) | m_[at + 1]);
                if (at < kHeaderSize) return false; // no name lies in the header
                continue;
            }
            if (length & 0xc0) return false;
            octets += length + 1u;
            if (octets > kMaxName) return false;
            if (length == 0) {
                if (pointers == 0) pos = at + 1;
                return true;
            }
            if (at + 1 + length > m_.size()) return false;
            if (text) {
                if (!text->empty()) text->push_back('.');
                const std::size_t from = text->size();
                text->append(reinterpret_cast<const char*>(m_.data() + at + 1), length);
                for (auto c = text->begin() + static_cast<std::ptrdiff_t>(from); c != text->end(); ++c)
                    *c = ascii_lower(*c);
            }
            at += 1 + length;
        }
    }

    // The record at pos (its owner's text only when wanted); moves pos past it.
    bool record(std::size_t& pos, Record& r, bool want_owner) const {
        if (!name(pos, want_owner ? &r.owner : nullptr) || pos + 10 > m_.size()) return false;
        r.type = get16(m_, pos);
        r.klass = get16(m_, pos + 2);
        const std::uint32_t ttl = (static_cast<std::uint32_t>(get16(m_, pos + 4)) << 16) | get16(m_, pos + 6);
        r.ttl = ttl > static_cast<std::uint32_t>(INT_MAX) ? INT_MAX : static_cast<int>(ttl);
        r.rdlength = get16(m_, pos + 8);
        r.rdata = pos + 10;
        if (r.rdata + r.rdlength > m_.size() || !rdata_fits(r)) return false;
        pos = r.rdata + r.rdlength;
        return true;
    }

    // The data of the types this parser reads, and of those with names in
    // them, must be exactly what their type says.
    bool rdata_fits(const Record& r) const {
        const std::size_t end = r.rdata + r.rdlength;
        std::size_t at = r.rdata;
        switch (r.type) {
        case kTypeCname:
        case kTypeNs:
        case kTypePtr:
            return name(at, nullptr) && at == end;
        case kTypeSoa:
            return name(at, nullptr) && name(at, nullptr) && at + 20 == end;
        case kTypeTxt:
            while (at < end)
                at += 1 + m_[at];
            return at == end;
        default:
            return true;
        }
    }

private:
    std::span<const std::uint8_t> m_;
};

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
        const bool digit = ch >= '0' && ch <= '9';
        const char lower = ascii_lower(static_cast<char>(ch));
        const bool letter = lower >= 'a' && lower <= 'z';
        if (digit || letter || ch == '_') {
            if (++label > 63) return false;
            if (!digit) non_numeric = true;
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
    // A datagram that is not the answer to our question is ignored (as the
    // stub resolver does), whatever else it holds.
    if (message.size() < kHeaderSize || (message[2] & 0x80) == 0 || get16(message, 4) != 1)
        return AnswerCheck::not_a_response;
    if (get16(message, 0) != id) return AnswerCheck::wrong_id;
    const WireReader wire(message);
    std::size_t pos = kHeaderSize;
    std::string qname;
    if (!wire.name(pos, &qname) || pos + 4 > message.size()) return AnswerCheck::not_a_response;
    if (get16(message, pos) != type || get16(message, pos + 2) != kClassIn || !is_question_name(qname, name))
        return AnswerCheck::wrong_question;
    pos += 4;

    out = DnsAnswer();
    out.rcode = message[3] & 0x0f;
    out.truncated = (message[2] & 0x02) != 0;
    // Every record of every section must be whole; a truncated answer may be
    // cut anywhere, and only its TC bit matters.
    const std::size_t answer_count = get16(message, 6);
    const std::size_t authority_count = get16(message, 8);
    const std::size_t total = answer_count + authority_count + get16(message, 10);
    std::vector<Record> records;
    records.reserve(std::min<std::size_t>(total, 16));
    for (std::size_t i = 0; i < total; ++i) {
        Record r;
        if (!wire.record(pos, r, i < answer_count + authority_count)) {
            out.malformed = !out.truncated;
            return AnswerCheck::ok;
        }
        if (i < answer_count + authority_count) records.push_back(std::move(r));
    }
    const std::span<const Record> answers(records.data(), answer_count);
    const std::span<const Record> authority(records.data() + answer_count, authority_count);
    out.has_answers = answer_count > 0;

    // The CNAME chain from the query name, within this answer.
    std::vector<std::string> chain{std::move(qname)};
    for (int hops = 0; hops < 10; ++hops) {
        bool extended = false;
        for (const Record& rr : answers) {
            if (rr.type != kTypeCname || rr.owner != chain.back()) continue;
            std::size_t at = rr.rdata;
            std::string target;
            // (The record's check has read this name already.)
            wire.name(at, &target);
            if (std::find(chain.begin(), chain.end(), target) != chain.end()) break; // loop
            chain.push_back(std::move(target));
            extended = true;
            break;
        }
        if (!extended) break;
    }
    for (const Record& rr : answers) {
        if (rr.type != type || rr.klass != kClassIn) continue;
        if (std::find(chain.begin(), chain.end(), rr.owner) == chain.end()) continue;
        if (type == kTypeA) {
            if (rr.rdlength != 4) {
                out.malformed = true;
                continue;
            }
            std::array<std::uint8_t, 4> addr;
            std::copy_n(message.begin() + static_cast<std::ptrdiff_t>(rr.rdata), 4, addr.begin());
            out.a.push_back(addr);
        } else if (type == kTypeTxt) {
            // Character strings, each a length octet and that many octets
            // (checked with the record).
            std::string text;
            for (std::size_t at = rr.rdata, end = rr.rdata + rr.rdlength; at < end; at += 1 + message[at])
                text.append(reinterpret_cast<const char*>(message.data() + at + 1), message[at]);
            out.txt.push_back(std::move(text));
        }
        lower(out.ttl, rr.ttl);
    }
    if (out.a.empty() && out.txt.empty() && chain.size() > 1) out.cname_target = chain.back();

    for (const Record& rr : authority)
        if (rr.type == kTypeSoa) lower(out.soa_ttl, rr.ttl);
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
