// Private (libglobal/src): reading the source text of Postfix lookup tables
// (texthash:, regexp:, cidr:, ...): the whole text of a table file, or of an
// inline "{ {rule}, {rule} }" table (each rule becomes one line, as
// Postfix's dict_stream_open() does), with stock error wording. The text is
// then read as logical lines (logical_lines.hpp, included here).
#pragma once

#include "logical_lines.hpp"

#include <sys/stat.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace psm::dict_file {

// Upper bound for one table file read into memory (keeps a runaway file or a
// device node from exhausting memory); larger files are an open error.
inline constexpr std::size_t kMaxTableFileBytes = 256u << 20;

struct TableSource {
    std::string text;       // the file's bytes, or the inline rules one per line
    bool is_inline = false; // true for "{...}" text
    struct stat st = {};    // fstat() of the file (zeroed for inline text)
};

// Reads a whole file. On failure returns nullopt and sets errno_out to the
// errno value (EFBIG when the file exceeds kMaxTableFileBytes) and
// what_failed to "open" or "read", so callers can word the message as their
// stock counterpart does ("open database PATH: ..." for texthash).
std::optional<TableSource> read_table_file(const std::string& path, int& errno_out, std::string& what_failed);

// dict_stream_open(): `name` is a file path, or inline rules when it starts
// with '{'. On failure returns nullopt with *why set to stock's text:
// "open PATH: No such file or directory", or for inline syntax errors
// "TYPE map: missing '}' in \"...\"", "TYPE map: no '{' at start of text in
// \"...\"", "TYPE map: syntax error after '}' in \"...\"".
std::optional<TableSource> read_table_source(std::string_view type, const std::string& name, std::string* why);

// trimblanks(): the text without trailing whitespace.
std::string_view trim_trailing_space(std::string_view text);

} // namespace psm::dict_file
