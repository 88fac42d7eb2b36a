// Private (libglobal/src): reading the source text of Postfix lookup tables
// (texthash:, regexp:, cidr:, ...). Two parts:
//  - read_table_file / read_table_source: the whole text of a table file, or
//    of an inline "{ {rule}, {rule} }" table (each rule becomes one line, as
//    Postfix's dict_stream_open() does), with stock error wording;
//  - LogicalLineReader: Postfix's logical lines (readllines()): blank and
//    '#' lines are skipped, a line that starts with whitespace continues the
//    previous one, and each logical line carries its first/last line number.
#pragma once

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

struct LogicalLine {
    // The joined text (continuation lines appended as they are, leading
    // whitespace included, without the newlines), cut at the first NUL byte
    // as the C string functions of stock Postfix see it. May be empty when
    // the logical line began with a NUL byte.
    std::string text;
    int first_line = 0; // physical line number where it starts (for messages)
    int last_line = 0;  // physical line number where it ends
};

class LogicalLineReader {
public:
    // `origin` names the input in warnings (the path, as stock's VSTREAM_PATH).
    // The reader keeps a view: `text` must outlive it.
    LogicalLineReader(std::string_view text, std::string origin);

    // The next logical line, or nullopt at the end. A logical line that
    // would start with whitespace (continuation without preceding text) is
    // warned about as stock does and skipped:
    // "ORIGIN: logical line must not start with whitespace: \"...\"".
    std::optional<LogicalLine> next();

private:
    bool read_physical_line(std::string& buf); // appends; false at EOF without a newline
    std::string_view text_;
    std::size_t pos_ = 0;
    std::string origin_;
    int lineno_ = 0;
};

// Postfix's ISSPACE() over chars (ASCII whitespace only).
inline bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// trimblanks(): the text without trailing whitespace.
std::string_view trim_trailing_space(std::string_view text);

} // namespace psm::dict_file
