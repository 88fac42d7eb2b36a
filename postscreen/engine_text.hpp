// Text checks and renderings the SMTP engine shares with stock postscreen:
// the header-label test of the non-SMTP command test (global/is_header.c),
// UTF-8 validity (util/valid_utf8_string.c), the "cut then escape" and
// "make printable then cut" renderings of its log lines, and the EHLO
// keyword mask (global/ehlo_mask.c as in 3.7).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace psm::postscreen {

// "name:" or "name :" - one or more ASCII non-control characters other than
// SP, TAB and ':', optional SP/TAB, then ':'.
bool is_header_label(std::string_view token);

// Well-formed UTF-8 (no overlong forms, surrogates or code points above
// U+10FFFF). NUL and other ASCII bytes are valid.
bool valid_utf8(std::string_view text);

// C-style escape of the first `max` bytes (PIPELINING, NON-SMTP, BARE
// NEWLINE: the raw text is cut first, so the result may be longer).
std::string escape_prefix(std::string_view raw, std::size_t max);

// Postfix's printable(text, '?') then "%.*s" (at most `max` bytes).
std::string printable_prefix(std::string_view text, std::size_t max);

// EHLO keywords (bits as Postfix's ehlo_mask.h).
namespace ehlo {
inline constexpr unsigned k8bitmime = 1u << 0;
inline constexpr unsigned kPipelining = 1u << 1;
inline constexpr unsigned kSize = 1u << 2;
inline constexpr unsigned kVrfy = 1u << 3;
inline constexpr unsigned kEtrn = 1u << 4;
inline constexpr unsigned kAuth = 1u << 5;
inline constexpr unsigned kVerp = 1u << 6;
inline constexpr unsigned kStarttls = 1u << 7;
inline constexpr unsigned kXclient = 1u << 8;
inline constexpr unsigned kXforward = 1u << 9;
inline constexpr unsigned kEnhancedStatusCodes = 1u << 10;
inline constexpr unsigned kDsn = 1u << 11;
inline constexpr unsigned kSmtputf8 = 1u << 12;
inline constexpr unsigned kChunking = 1u << 13;
inline constexpr unsigned kSilent = 1u << 15;
} // namespace ehlo

// Keywords separated by comma/white space, any case; unknown words are
// ignored. SMTPUTF8 is accepted as "smtputf8" and as stock 3.7's table
// name "EHLO_MASK_SMTPUTF8"; "silent-discard" sets kSilent.
unsigned ehlo_mask(std::string_view keywords);

// Names of the bits in stock's table order, space separated, e.g.
// "DSN EHLO_MASK_SMTPUTF8 CHUNKING" (3.7 prints SMTPUTF8 that way).
std::string ehlo_mask_names(unsigned mask);

} // namespace psm::postscreen
