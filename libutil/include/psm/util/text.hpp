// Small string tools with Postfix's semantics: list splitting (mystrtok),
// brace-aware splitting (mystrtokq), brace stripping (extpar), trimming,
// case folding and C-style escaping for log lines.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace psm {

// Postfix's list separators: comma and whitespace.
inline constexpr std::string_view kListSeparators = ", \t\r\n";

// Splits at any run of separator characters; empty tokens never appear.
std::vector<std::string> split_tokens(std::string_view text, std::string_view separators = kListSeparators);

// Like split_tokens, but separators inside balanced {...} do not split, so
// "a, { b c }, d" gives "a", "{ b c }", "d". Unbalanced braces: the rest of
// the text after an unmatched '{' is one token (Postfix does the same).
std::vector<std::string> split_tokens_braced(std::string_view text, std::string_view separators = kListSeparators);

// If text (after trimming blanks) starts with '{', it must end with the
// matching '}': returns the inside, trimmed. Otherwise returns text trimmed.
// On a syntax error returns nullopt and sets *error (e.g. "missing '}' in
// \"{ a\"" or "syntax error after '}' in \"{a}b\"").
std::optional<std::string> strip_braces(std::string_view text, std::string* error = nullptr);

std::string_view trim(std::string_view text, std::string_view blanks = " \t\r\n");

// Case folding of ASCII letters only, as in the "C" locale that every
// daemon runs in (no locale call per byte; other bytes stay as they are).
constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr char ascii_upper(char c) noexcept {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}
std::string lowercase(std::string_view text);
std::string uppercase(std::string_view text);
bool iequals(std::string_view a, std::string_view b);

// C-style escaping as Postfix's escape(): printable ASCII unchanged except
// '\\' -> "\\\\"; \a \b \f \n \r \t \v; every other byte as \ooo (octal).
std::string c_escape(std::string_view raw);

} // namespace psm
