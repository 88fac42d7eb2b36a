// Private (libglobal/src): Postfix's logical lines (readllines()), the line
// syntax of main.cf, master.cf and every table source file: blank lines and
// '#' lines are skipped (also inside a continuation), a line that starts
// with whitespace continues the previous one, and each logical line carries
// its first/last physical line number for messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace psm {

// Postfix's ISSPACE() over chars (ASCII whitespace only).
inline bool is_postfix_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

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
    // Warnings go to *warnings when given, else to the log (msg_warn).
    LogicalLineReader(std::string_view text, std::string origin, std::vector<std::string>* warnings = nullptr);

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
    std::vector<std::string>* warnings_;
    int lineno_ = 0;
};

// All logical lines of text at once.
std::vector<LogicalLine> split_logical_lines(std::string_view text, std::string origin,
                                             std::vector<std::string>* warnings = nullptr);

} // namespace psm
