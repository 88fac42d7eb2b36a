// Text checks and renderings of the SMTP engine (see engine_text.hpp).
#include "engine_text.hpp"

#include "psm/util/log.hpp"
#include "psm/util/text.hpp"

#include <array>

namespace psm::postscreen {

bool is_header_label(std::string_view token) {
    bool seen_name = false;
    bool seen_space = false;
    for (unsigned char c : token) {
        if (c == ':') return seen_name;
        if (c == ' ' || c == '\t') {
            if (!seen_name) return false;
            seen_space = true;
            continue;
        }
        if (c == 0 || c >= 0x80 || c < 0x20 || c == 0x7f || seen_space) return false;
        seen_name = true;
    }
    return false;
}

bool valid_utf8(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    for (std::size_t i = 0; i < n;) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        unsigned char lo = 0x80;
        unsigned char hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0) lo = 0xa0; // overlong
            if (c == 0xed) hi = 0x9f; // surrogates
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0) lo = 0x90; // overlong
            if (c == 0xf4) hi = 0x8f; // above U+10FFFF
        } else {
            return false;
        }
        if (i + len > n || s[i + 1] < lo || s[i + 1] > hi) return false;
        for (std::size_t k = 2; k < len; ++k)
            if ((s[i + k] & 0xc0) != 0x80) return false;
        i += len;
    }
    return true;
}

std::string escape_prefix(std::string_view raw, std::size_t max) {
    return c_escape(raw.substr(0, max));
}

std::string printable_prefix(std::string_view text, std::size_t max) {
    std::string out = log_printable(text);
    if (out.size() > max) out.resize(max);
    return out;
}

namespace {

struct KeywordName {
    std::string_view name;
    unsigned mask;
};

// Stock 3.7's table, in its order (which is also the logging order). The
// SMTPUTF8 row carries its C macro name; "SMTPUTF8" is accepted as well.
constexpr std::array<KeywordName, 16> kKeywords{{
    {"8BITMIME", ehlo::k8bitmime},
    {"AUTH", ehlo::kAuth},
    {"ETRN", ehlo::kEtrn},
    {"PIPELINING", ehlo::kPipelining},
    {"SIZE", ehlo::kSize},
    {"VERP", ehlo::kVerp},
    {"VRFY", ehlo::kVrfy},
    {"XCLIENT", ehlo::kXclient},
    {"XFORWARD", ehlo::kXforward},
    {"STARTTLS", ehlo::kStarttls},
    {"ENHANCEDSTATUSCODES", ehlo::kEnhancedStatusCodes},
    {"DSN", ehlo::kDsn},
    {"EHLO_MASK_SMTPUTF8", ehlo::kSmtputf8},
    {"SMTPUTF8", ehlo::kSmtputf8},
    {"CHUNKING", ehlo::kChunking},
    {"SILENT-DISCARD", ehlo::kSilent},
}};

} // namespace

unsigned ehlo_mask(std::string_view keywords) {
    unsigned mask = 0;
    for (const std::string& word : split_tokens(keywords))
        for (const KeywordName& k : kKeywords)
            if (iequals(word, k.name)) {
                mask |= k.mask;
                break;
            }
    return mask;
}

std::string ehlo_mask_names(unsigned mask) {
    std::string out;
    for (const KeywordName& k : kKeywords) {
        if ((mask & k.mask) == 0) continue;
        mask &= ~k.mask;
        if (!out.empty()) out += ' ';
        out += k.name;
    }
    return out;
}

} // namespace psm::postscreen
