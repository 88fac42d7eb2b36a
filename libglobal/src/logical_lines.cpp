// Postfix's logical lines (see logical_lines.hpp).
#include "logical_lines.hpp"

#include "psm/util/log.hpp"

namespace psm {

LogicalLineReader::LogicalLineReader(std::string_view text, std::string origin, std::vector<std::string>* warnings)
    : text_(text), origin_(std::move(origin)), warnings_(warnings) {}

bool LogicalLineReader::read_physical_line(std::string& buf) {
    std::size_t start = buf.size();
    std::size_t end = text_.find('\n', pos_);
    bool newline = end != std::string_view::npos;
    if (!newline) end = text_.size();
    buf.append(text_.substr(pos_, end - pos_));
    pos_ = newline ? end + 1 : end;
    if (newline || buf.size() > start) ++lineno_;
    return newline;
}

std::optional<LogicalLine> LogicalLineReader::next() {
    for (;;) {
        LogicalLine line;
        std::string& buf = line.text;
        for (;;) {
            std::size_t start = buf.size();
            bool newline = read_physical_line(buf);
            // A blank line or a comment line adds nothing.
            std::size_t first = start;
            while (first < buf.size() && is_postfix_space(buf[first]))
                ++first;
            if (first == buf.size() || buf[first] == '#') buf.resize(start);
            if (start == 0) line.first_line = lineno_;
            if (!newline) break;
            if (!buf.empty()) {
                // The logical line goes on while the next physical line starts
                // with whitespace or '#' (an embedded comment line).
                if (pos_ >= text_.size()) break;
                char next = text_[pos_];
                if (next != '#' && !is_postfix_space(next)) break;
            }
        }
        line.last_line = lineno_;
        if (buf.empty()) return std::nullopt;
        if (is_postfix_space(buf.front())) {
            std::string warning = origin_ + ": logical line must not start with whitespace: \"" + buf.substr(0, 30) +
                                  (buf.size() > 30 ? "...\"" : "\"");
            if (warnings_ != nullptr)
                warnings_->push_back(std::move(warning));
            else
                msg_warn("%s", warning.c_str());
            continue;
        }
        // What the C string functions of stock Postfix see.
        if (auto nul = buf.find('\0'); nul != std::string::npos) buf.resize(nul);
        return line;
    }
}

std::vector<LogicalLine> split_logical_lines(std::string_view text, std::string origin,
                                             std::vector<std::string>* warnings) {
    std::vector<LogicalLine> lines;
    LogicalLineReader reader(text, std::move(origin), warnings);
    while (auto line = reader.next())
        lines.push_back(std::move(*line));
    return lines;
}

} // namespace psm
