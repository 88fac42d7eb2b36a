// Private (libglobal/src): Postfix's logical lines for main.cf and
// master.cf (readllines()): blank lines and lines whose first non-blank is
// '#' are skipped, a line starting with white space continues the previous
// logical line (appended without the newline, its white space kept).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace psm::conf_lines {

struct LogicalLine {
    std::string text; // cut at the first NUL byte, as stock's C strings
    int line = 0;     // physical line where it starts
};

// Splits text into logical lines. A continuation without preceding text is
// skipped with stock's warning (appended to *warnings):
// "PATH: logical line must not start with whitespace: \"...\"".
std::vector<LogicalLine> split(std::string_view text, std::string_view path, std::vector<std::string>* warnings);

// Postfix's ISSPACE(): ASCII white space.
inline bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

} // namespace psm::conf_lines
