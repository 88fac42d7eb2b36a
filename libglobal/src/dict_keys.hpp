// Private (libglobal/src): how lookup tables see keys and values, shared by
// the table types: C-string truncation, case folding (ASCII, or UTF-8 when
// smtputf8_enable is in effect) and UTF-8 validation, as Postfix's dict
// layer does them.
#pragma once

#include <string>
#include <string_view>

namespace psm::dict_keys {

// The text a C function would see: everything before the first NUL byte.
std::string_view c_string(std::string_view text);

// Postfix's casefold(): ASCII lower-casing, or with utf8 a Unicode
// lower-casing of every code point (simple case mapping: the rare
// characters whose full case folding differs, like U+00DF, stay as they
// are). `text` must be valid UTF-8 when utf8 is set.
std::string fold(std::string_view text, bool utf8);

// Postfix's allascii() || valid_utf8_string(): well-formed UTF-8 (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view text);

} // namespace psm::dict_keys
