// Logical lines of main.cf and master.cf (see conf_lines.hpp).
#include "conf_lines.hpp"

namespace psm::conf_lines {
namespace {

bool blank_or_comment(std::string_view line) {
    for (char c : line) {
        if (is_space(c)) continue;
        return c == '#';
    }
    return true;
}

void finish(std::string text, int line, std::string_view path, std::vector<LogicalLine>& out,
            std::vector<std::string>* warnings) {
    if (text.empty()) return;
    if (is_space(text.front())) {
        if (warnings != nullptr) {
            std::string shown = text.substr(0, 30);
            if (text.size() > 30) shown += "...";
            warnings->push_back(std::string(path) + ": logical line must not start with whitespace: \"" + shown + "\"");
        }
        return;
    }
    if (std::size_t nul = text.find('\0'); nul != std::string::npos) text.resize(nul);
    out.push_back(LogicalLine{std::move(text), line});
}

} // namespace

std::vector<LogicalLine> split(std::string_view text, std::string_view path, std::vector<std::string>* warnings) {
    std::vector<LogicalLine> out;
    std::string current;
    int current_line = 0;
    int lineno = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        std::string_view physical =
            text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        pos = end == std::string_view::npos ? text.size() : end + 1;
        ++lineno;
        if (blank_or_comment(physical)) continue;
        if (!current.empty() && is_space(physical.front())) {
            current.append(physical);
            continue;
        }
        finish(std::move(current), current_line, path, out, warnings);
        current.assign(physical);
        current_line = lineno;
    }
    finish(std::move(current), current_line, path, out, warnings);
    return out;
}

} // namespace psm::conf_lines
