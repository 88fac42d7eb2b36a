// String tools with Postfix's list and brace semantics (see text.hpp).
#include "psm/util/text.hpp"

namespace psm {

std::vector<std::string> split_tokens(std::string_view text, std::string_view separators) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < text.size()) {
        i = text.find_first_not_of(separators, i);
        if (i == std::string_view::npos) break;
        size_t end = text.find_first_of(separators, i);
        if (end == std::string_view::npos) end = text.size();
        out.emplace_back(text.substr(i, end - i));
        i = end;
    }
    return out;
}

std::vector<std::string> split_tokens_braced(std::string_view text, std::string_view separators) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < text.size()) {
        i = text.find_first_not_of(separators, i);
        if (i == std::string_view::npos) break;
        size_t start = i;
        int depth = 0;
        for (; i < text.size(); ++i) {
            char c = text[i];
            if (c == '{') {
                ++depth;
            } else if (c == '}' && depth > 0) {
                --depth;
            } else if (depth == 0 && separators.find(c) != std::string_view::npos) {
                break;
            }
        }
        out.emplace_back(text.substr(start, i - start));
    }
    return out;
}

std::string_view trim(std::string_view text, std::string_view blanks) {
    size_t b = text.find_first_not_of(blanks);
    if (b == std::string_view::npos) return {};
    size_t e = text.find_last_not_of(blanks);
    return text.substr(b, e - b + 1);
}

std::optional<std::string> strip_braces(std::string_view text, std::string* error) {
    std::string_view t = trim(text, " \t\r\n");
    if (t.empty() || t.front() != '{') return std::string(t);
    int depth = 0;
    size_t close = std::string_view::npos;
    for (size_t i = 0; i < t.size(); ++i) {
        if (t[i] == '{') ++depth;
        else if (t[i] == '}' && --depth == 0) {
            close = i;
            break;
        }
    }
    if (close == std::string_view::npos) {
        if (error) *error = "missing '}' in \"" + std::string(t) + "\"";
        return std::nullopt;
    }
    if (close + 1 != t.size()) {
        if (error) *error = "syntax error after '}' in \"" + std::string(t) + "\"";
        return std::nullopt;
    }
    return std::string(trim(t.substr(1, close - 1), " \t\r\n"));
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

std::string uppercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = ascii_upper(c);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

std::string c_escape(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (unsigned char c : raw) {
        switch (c) {
        case '\\': out += "\\\\"; continue;
        case '\a': out += "\\a"; continue;
        case '\b': out += "\\b"; continue;
        case '\f': out += "\\f"; continue;
        case '\n': out += "\\n"; continue;
        case '\r': out += "\\r"; continue;
        case '\t': out += "\\t"; continue;
        case '\v': out += "\\v"; continue;
        default: break;
        }
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[5] = {'\\', static_cast<char>('0' + (c >> 6)), static_cast<char>('0' + ((c >> 3) & 7)),
                           static_cast<char>('0' + (c & 7)), 0};
            out += buf;
        }
    }
    return out;
}

} // namespace psm
